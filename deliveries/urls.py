from django.urls import path

from deliveries import views

LOGS = "settings/integrations/webhooks/<int:pk>/logs/"

urlpatterns = [
    path(
        "settings/integrations/webhooks/<int:pk>/test-event/",
        views.send_test_event,
        name="webhook_send_test",
    ),
    path(
        "settings/integrations/test-deliveries/<int:delivery_id>/",
        views.test_delivery_result,
        name="test_delivery_result",
    ),
    path("settings/integrations/api/", views.api_docs, name="api_docs"),
    path(LOGS, views.webhook_logs, name="webhook_logs"),
    path(LOGS + "retry-failed/", views.webhook_retry_failed, name="webhook_retry_failed"),
    path(
        LOGS + "retry-failed/<str:job_key>/",
        views.webhook_retry_progress,
        name="webhook_retry_progress",
    ),
    path(LOGS + "replay/", views.webhook_replay, name="webhook_replay"),
    path(LOGS + "<int:attempt_id>/", views.attempt_detail, name="attempt_detail"),
    path(LOGS + "<int:attempt_id>/resend/", views.attempt_resend, name="attempt_resend"),
]
