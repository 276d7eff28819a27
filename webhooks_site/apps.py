from django.apps import AppConfig


class WebhooksSiteConfig(AppConfig):
    name = "webhooks_site"
    verbose_name = "Webhooks site"

    def ready(self):
        from webhooks_site import checks  # noqa: F401  (registers the system checks)
