from django.urls import path

from workspaces import views

urlpatterns = [
    path("", views.dashboard, name="workspace_dashboard"),
    path("settings/workspace/", views.workspace_settings, name="workspace_settings"),
    path("settings/workspace/access-keys/", views.access_keys, name="access_keys"),
    path(
        "settings/workspace/access-keys/client-token/reveal/",
        views.reveal_client_token,
        name="reveal_client_token",
    ),
    path(
        "settings/workspace/access-keys/client-token/roll/",
        views.roll_client_token,
        name="roll_client_token",
    ),
    path("settings/workspace/access-keys/api-keys/", views.create_api_key, name="create_api_key"),
    path(
        "settings/workspace/access-keys/api-keys/<int:pk>/revoke/",
        views.revoke_api_key,
        name="revoke_api_key",
    ),
    path("settings/workspace/api-activity/", views.api_activity, name="api_activity"),
]
