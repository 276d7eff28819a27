"""Mounted at /api/v1/ by webhooks_site/urls.py (after the ingest and chatflow endpoints)."""

from api.views import api

urlpatterns, _, _ = api.urls
app_name = "api"
