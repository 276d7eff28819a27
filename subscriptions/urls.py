from django.urls import path

from subscriptions import views

WEBHOOKS = "settings/integrations/webhooks/"
CONNECTORS = "settings/integrations/connectors/"

urlpatterns = [
    path(WEBHOOKS, views.webhook_list, name="webhook_list"),
    path(WEBHOOKS + "new/", views.webhook_form, name="webhook_new"),
    path(WEBHOOKS + "deleted/", views.webhook_deleted_list, name="webhook_deleted_list"),
    path(WEBHOOKS + "header-row/", views.webhook_header_row, name="webhook_header_row"),
    path(WEBHOOKS + "retry-policy/", views.webhook_retry_policy, name="webhook_retry_policy"),
    path(WEBHOOKS + "<int:pk>/", views.webhook_form, name="webhook_edit"),
    path(WEBHOOKS + "<int:pk>/toggle/", views.webhook_toggle, name="webhook_toggle"),
    path(WEBHOOKS + "<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
    path(WEBHOOKS + "<int:pk>/restore/", views.webhook_restore, name="webhook_restore"),
    path(
        WEBHOOKS + "<int:pk>/test-connection/",
        views.webhook_test_connection,
        name="webhook_test_connection",
    ),
    path(
        WEBHOOKS + "<int:pk>/signing-key/reveal/",
        views.webhook_reveal_key,
        name="webhook_reveal_key",
    ),
    path(
        WEBHOOKS + "<int:pk>/signing-key/reset/",
        views.webhook_reset_key,
        name="webhook_reset_key",
    ),
    path(CONNECTORS, views.connector_list, name="connector_list"),
    path(CONNECTORS + "new/", views.connector_form, name="connector_new"),
    path(CONNECTORS + "<int:pk>/", views.connector_form, name="connector_edit"),
    path(CONNECTORS + "<int:pk>/delete/", views.connector_delete, name="connector_delete"),
]
