from django.urls import path

from subscriptions import views

urlpatterns = [
    path("settings/integrations/webhooks/", views.webhook_list, name="webhook_list"),
]
