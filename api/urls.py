"""Mounted at /api/v1/ by webhooks_site/urls.py (after the ingest and chatflow endpoints)."""

from api import chatflows  # noqa: F401 -- registers the chatbot flow endpoints on the API
from api.views import api

urlpatterns, _, _ = api.urls
app_name = "api"
