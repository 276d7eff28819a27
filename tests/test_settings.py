"""Settings come only from the environment; production refuses the development secrets."""

import json
import os
import subprocess
import sys

from cryptography.fernet import Fernet

from tests.conftest import BASE_DIR

PRINT_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS, "
    "'engine': s.DATABASES['default']['ENGINE'], 'db': s.DATABASES['default']['NAME'], "
    "'redis': s.REDIS_URL, 'private': s.WEBHOOKS_ALLOW_PRIVATE_NETWORKS, "
    "'ssl_redirect': s.SECURE_SSL_REDIRECT}))"
)


def run_with_env(env: dict, *args) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {
        "DEBUG", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "SECRET_KEY",
        "FIELD_ENCRYPTION_KEY", "WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "SECURE_SSL_REDIRECT",
        "SITE_URL", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "DJANGO_ALLOW_ASYNC_UNSAFE",
    }}
    clean["DJANGO_SETTINGS_MODULE"] = "webhooks_site.settings"
    clean.update(env)
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=clean, capture_output=True, text=True,
        timeout=60,
    )


def settings_for(env: dict) -> dict:
    result = run_with_env(env, "-c", PRINT_SETTINGS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults_run_on_sqlite_and_an_embedded_redis_with_production_safety():
    values = settings_for({})
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["db"].endswith("db.sqlite3")
    assert values["redis"] == f"unix://{BASE_DIR}/var/redis/redis.sock"
    assert values["debug"] is False
    assert values["private"] is False
    assert values["ssl_redirect"] is True


def test_environment_variables_override_every_default():
    values = settings_for({
        "DEBUG": "1",
        "DATABASE_URL": "postgres://app:pw@db.internal:5433/hooks",
        "REDIS_URL": "redis://cache.internal:6380/2",
        "ALLOWED_HOSTS": "hooks.example.com,admin.example.com",
        "WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "true",
    })
    assert values["debug"] is True
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["db"] == "hooks"
    assert values["redis"] == "redis://cache.internal:6380/2"
    assert values["hosts"] == ["hooks.example.com", "admin.example.com"]
    assert values["private"] is True


def test_check_deploy_passes_with_real_secrets_and_fails_on_the_development_ones():
    real = {
        "SECRET_KEY": "x" * 20 + "a-real-secret-for-the-check-0123456789-abcdefghijk",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "hooks.example.com",
        "SITE_URL": "https://hooks.example.com",
    }
    ok = run_with_env(real, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert ok.returncode == 0, ok.stderr + ok.stdout

    dev = run_with_env({}, "manage.py", "check", "--deploy")
    assert dev.returncode != 0
    assert "webhooks.E001" in dev.stderr and "webhooks.E002" in dev.stderr
    assert "webhooks.W001" in dev.stderr  # SITE_URL left at its http default


def test_a_malformed_encryption_key_fails_at_start():
    result = run_with_env({"FIELD_ENCRYPTION_KEY": "not-a-key"}, "manage.py", "check")
    assert result.returncode != 0
    assert "webhooks.E003" in result.stderr


def test_a_short_secret_is_masked_whole_and_a_long_one_keeps_its_prefix_and_tail():
    from webhooks_site.crypto import mask

    assert mask("pw12") == "••••••••••••"
    assert "pw12" not in mask("pw12") and "word" not in mask("a-password")
    assert mask("whsec_0123456789abcdefWXYZ") == "whsec_••••••••••••WXYZ"
    assert mask("") == ""
