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
]
