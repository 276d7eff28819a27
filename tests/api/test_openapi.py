"""The OpenAPI 3 description, the docs page, and schemathesis checking the API against it."""

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_
from schemathesis import GenerationMode

from tests.api.conftest import API, ApiClient


def test_the_description_is_openapi_3_with_every_endpoint(db):
    schema = ApiClient(None).get("/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    operations = {
        (method.upper(), path.removeprefix(API))
        for path, item in schema["paths"].items()
        for method in item
    }
    assert operations == {
        ("GET", "/event-types"),
        ("GET", "/webhooks"),
        ("POST", "/webhooks"),
        ("GET", "/webhooks/{webhook_id}"),
        ("PATCH", "/webhooks/{webhook_id}"),
        ("DELETE", "/webhooks/{webhook_id}"),
        ("POST", "/webhooks/{webhook_id}/restore"),
        ("POST", "/webhooks/{webhook_id}/rotate-key"),
        ("GET", "/webhooks/{webhook_id}/key"),
        ("POST", "/webhooks/{webhook_id}/test"),
        ("GET", "/deliveries/{delivery_id}"),
        ("POST", "/deliveries/{delivery_id}/resend"),
        ("GET", "/webhooks/{webhook_id}/attempts"),
        ("GET", "/attempts/{attempt_id}"),
        ("POST", "/webhooks/{webhook_id}/recover"),
        ("GET", "/connectors"),
        ("POST", "/connectors"),
        ("GET", "/connectors/{connector_id}"),
        ("PATCH", "/connectors/{connector_id}"),
        ("DELETE", "/connectors/{connector_id}"),
        ("GET", "/chatflows/campaigns"),
        ("POST", "/chatflows/campaigns"),
        ("GET", "/chatflows/campaigns/{campaign_pk}"),
        ("GET", "/chatflows/campaigns/{campaign_pk}/interactions"),
        ("POST", "/chatflows/campaigns/{campaign_pk}/interactions"),
    }
    assert schema["components"]["securitySchemes"] == {
        "ApiKeyAuth": {"type": "http", "scheme": "bearer"}
    }
    webhook = schema["components"]["schemas"]["WebhookOut"]["properties"]
    pinned = {
        "id",
        "name",
        "url",
        "method",
        "format",
        "topics",
        "event_names",
        "headers",
        "connector",
        "extra_body",
        "mode",
        "batch_size",
        "batch_interval_seconds",
        "ordered",
        "max_attempts",
        "rate_limit_per_second",
        "timeout_seconds",
        "enabled",
        "status",
        "created_at",
        "updated_at",
    }
    assert pinned <= set(webhook)


def test_the_docs_page_loads_swagger_ui_from_our_own_static_files(db):
    html = ApiClient(None).get("/docs").content.decode()
    assert '<script src="/static/ninja/swagger-ui-bundle.js">' in html
    assert 'href="/static/ninja/swagger-ui.css"' in html
    assert "cdn" not in html.lower() and "https://" not in html
    for path in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui.css", "ninja/swagger-ui-init.js"):
        assert finders.find(path), path


def _checks():
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]


def _real_ids(acme) -> dict:
    """Ids of objects that exist, so generated bodies reach the rules, not only the 404."""
    from django.utils import timezone

    from deliveries.models import Attempt, Delivery
    from subscriptions.models import Webhook
    from tests.subscriptions.factories import make_connector, make_webhook

    webhook = make_webhook(acme, topics=["content.viewed", "custom"], event_names=["Paid"])
    deleted = make_webhook(acme)
    Webhook.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    delivery = Delivery.objects.create(
        workspace=acme, webhook=webhook, event_type="content.viewed", status="failed"
    )
    attempt = Attempt.objects.create(
        delivery=delivery,
        webhook=webhook,
        number=1,
        trigger="event",
        event_type="content.viewed",
        request_method="POST",
        request_url=webhook.url,
    )
    from chatflows import services as chatflow_services
    from chatflows.models import Campaign

    campaign = chatflow_services.create_campaign(
        Campaign(workspace=acme, campaign_id="c1", name="C")
    )
    return {
        "campaign_pk": campaign.pk,
        "webhook_id": webhook.pk,
        "delivery_id": delivery.pk,
        "attempt_id": attempt.pk,
        "connector_id": make_connector(acme).pk,
        "restore": deleted.pk,
    }


@pytest.fixture
def wsgi_app():
    """The real WSGI application, as django.test.Client runs it: without closing the test's
    database connection after each request."""
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_the_api_answers_generated_requests_as_its_description_says(
    acme, acme_key, settings, wsgi_app
):
    """schemathesis generates requests from /api/v1/openapi.json (25 per operation, with
    generated ids, then again with ids of real objects) and checks every answer: never a
    5xx, and status, headers, content type and body as described. In-process, reproducible
    (derandomized), no example database."""
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True  # generated hosts are never resolved
    settings.WEBHOOKS_API_RATE_PER_MINUTE = 0  # hundreds of calls in a few seconds
    schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", wsgi_app)
    headers = {"Authorization": f"Bearer {acme_key[1]}"}
    checks = _checks()
    ids = _real_ids(acme)

    def run(operation, path_parameters=None):
        strategy = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=path_parameters)

        @given(case=strategy)
        @settings_(
            max_examples=25,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(headers=headers, checks=checks)

        check()

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 25
    for operation in operations:
        run(operation)
        names = [p.name for p in operation.path_parameters]
        if names:
            real = {
                name: ids["restore" if operation.path.endswith("/restore") else name]
                for name in names
            }
            run(operation, real)
