from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

import chatflows.api
from deliveries.api import ingest_events
from webhooks_site.views import healthz
from workspaces import views as workspace_views

urlpatterns = [
    path("", workspace_views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("api/v1/events", ingest_events, name="ingest_events"),
    path(
        "api/v1/chatflows/<str:campaign_id>/messages",
        chatflows.api.messages,
        name="chatflow_messages",
    ),
    # After the ingest and chatflow endpoints, which live under the same prefix.
    path("api/v1/", include("api.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("inbox.urls")),
    path("admin/rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
    path("w/<slug:slug>/", include("workspaces.urls")),
    path("w/<slug:slug>/", include("subscriptions.urls")),
    path("w/<slug:slug>/", include("deliveries.urls")),
    path("w/<slug:slug>/", include("chatflows.urls")),
]
