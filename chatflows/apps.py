from django.apps import AppConfig


class ChatflowsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chatflows"
    verbose_name = "Chatbot flows"
