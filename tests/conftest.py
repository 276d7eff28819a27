"""Shared test set-up: an embedded Redis when REDIS_URL is unset, personas and factories."""

import os
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
TEST_VAR_DIR = BASE_DIR / "var" / "test"
_embedded_redis = None


def pytest_configure(config):
    """Start the embedded Redis before Django reads its settings (REDIS_URL is fixed then)."""
    global _embedded_redis
    if not os.environ.get("REDIS_URL"):
        from webhooks_site.redis import embedded_url, start_embedded_redis

        _embedded_redis = start_embedded_redis(TEST_VAR_DIR)
        os.environ["REDIS_URL"] = embedded_url(TEST_VAR_DIR)


def pytest_unconfigure(config):
    if _embedded_redis is not None:
        _embedded_redis.shutdown()


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # The manifest storage needs collectstatic; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
