from django.urls import path

from chatflows import views

BASE = "chatbots/"
CAMPAIGN = BASE + "<int:pk>/"

urlpatterns = [
    path(BASE, views.campaign_list, name="chatflow_campaign_list"),
    path(BASE + "new/", views.campaign_form, name="chatflow_campaign_new"),
    path(CAMPAIGN, views.campaign_detail, name="chatflow_campaign"),
    path(CAMPAIGN + "settings/", views.campaign_form, name="chatflow_campaign_edit"),
    path(CAMPAIGN + "delete/", views.campaign_delete, name="chatflow_campaign_delete"),
    path(CAMPAIGN + "interactions/new/", views.interaction_form, name="chatflow_interaction_new"),
    path(
        CAMPAIGN + "interactions/<int:step_id>/",
        views.interaction_form,
        name="chatflow_interaction_edit",
    ),
    path(
        CAMPAIGN + "interactions/<int:step_id>/delete/",
        views.interaction_delete,
        name="chatflow_interaction_delete",
    ),
    path(CAMPAIGN + "simulator/", views.simulator, name="chatflow_simulator"),
    path(CAMPAIGN + "simulator/fired/", views.simulator_fired, name="chatflow_simulator_fired"),
    path(CAMPAIGN + "simulator/reset/", views.simulator_reset, name="chatflow_simulator_reset"),
]
