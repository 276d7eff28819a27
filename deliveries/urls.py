from django.urls import path

from deliveries import views

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
]
