"""A fixed one-minute window per key in Redis: 429 with Retry-After beyond the limit, and the
API keeps answering when Redis is down."""

import pytest

from api.models import ApiCall
from tests.api.conftest import ApiClient, errors_of


@pytest.fixture
def three_per_minute(settings):
    settings.WEBHOOKS_API_RATE_PER_MINUTE = 3


def test_over_the_limit_a_key_gets_429_with_retry_after(api, three_per_minute):
    assert [api.get("/webhooks").status_code for _ in range(3)] == [200, 200, 200]
    response = api.get("/webhooks")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert errors_of(response)[0][1].startswith("Too many requests with this API key")
    assert ApiCall.objects.filter(status_code=429).count() == 1


def test_the_limit_is_per_key(api, acme, three_per_minute):
    from workspaces.models import ApiKey

    for _ in range(4):
        api.get("/webhooks")
    other = ApiClient(ApiKey.issue(acme, "Other script")[1])
    assert other.get("/webhooks").status_code == 200


def test_with_redis_down_the_api_keeps_answering(api, settings, three_per_minute):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    assert [api.get("/webhooks").status_code for _ in range(5)] == [200] * 5
