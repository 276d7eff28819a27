"""Start-up checks: production must not run on the development secrets."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_production_secrets(app_configs, **kwargs):
    errors = []
    if settings.DEBUG:
        return errors
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(
            Error(
                "SECRET_KEY is the development default.",
                hint="Set SECRET_KEY to a long random string in the environment.",
                id="webhooks.E001",
            )
        )
    if settings.FIELD_ENCRYPTION_KEY == settings.DEV_FIELD_ENCRYPTION_KEY:
        errors.append(
            Error(
                "FIELD_ENCRYPTION_KEY is the development default: stored secrets would be "
                "readable by anyone with the source.",
                hint="Generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'",
                id="webhooks.E002",
            )
        )
    return errors


@register(Tags.security, deploy=True)
def check_site_url_is_https(app_configs, **kwargs):
    from django.core.checks import Warning

    if settings.DEBUG or settings.SITE_URL.startswith("https://"):
        return []
    return [
        Warning(
            f"SITE_URL is {settings.SITE_URL}: links in emails and the test inbox URL would "
            "use plain http, which the HTTPS redirect turns into a failing 301.",
            hint="Set SITE_URL to the https address the dashboard is served at.",
            id="webhooks.W001",
        )
    ]


@register(Tags.security)
def check_encryption_key_format(app_configs, **kwargs):
    from django.core.exceptions import ImproperlyConfigured

    from webhooks_site.crypto import _fernet

    try:
        _fernet(settings.FIELD_ENCRYPTION_KEY)
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="webhooks.E003")]
    return []
