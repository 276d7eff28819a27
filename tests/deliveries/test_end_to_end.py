"""The whole path with a real RQ worker process, real Redis and a real local receiver."""

import json
import time

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from deliveries.models import Delivery
from deliveries.sweeper import sweep
from tests.deliveries.conftest import received
from tests.workers import running_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
FORM = {"formName": "Contact us", "email": "jane@example.com"}


def wait_for(condition, timeout=15.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def ingest(client, workspace, events):
    return client.post(
        "/api/v1/events", data=json.dumps(events), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {workspace.client_token}",
    )


def test_an_ingested_event_reaches_the_receiver_through_a_worker(
    client, acme, make_webhook, httpserver, allow_private
):
    httpserver.expect_request("/e2e").respond_with_data("ok")
    hook = make_webhook(httpserver.url_for("/e2e"), topics=["form.submitted"])
    with running_worker():
        response = ingest(client, acme, [{"type": "form.submitted", "payload": FORM}] * 3)
        assert response.status_code == 202
        assert wait_for(lambda: len(received(httpserver)) == 3)
    for request in received(httpserver):
        headers = {k.lower(): v for k, v in request.headers.items()}
        StandardWebhook(hook.current_key().secret).verify(request.get_data(), headers)
    assert wait_for(lambda: set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"})


def test_no_event_is_lost_when_redis_is_down_between_accept_and_delivery(
    client, acme, make_webhook, httpserver, allow_private, settings, tmp_path
):
    from webhooks_site.redis import embedded_url, start_embedded_redis

    httpserver.expect_request("/outage").respond_with_data("ok")
    make_webhook(httpserver.url_for("/outage"), topics=["form.submitted"])
    redis_server = start_embedded_redis(tmp_path)
    settings.REDIS_URL = embedded_url(tmp_path)
    redis_server.shutdown()  # Redis is down while the product posts events

    started = time.monotonic()
    response = ingest(client, acme, [{"type": "form.submitted", "payload": FORM}] * 2)
    elapsed = time.monotonic() - started
    assert response.status_code == 202
    assert elapsed < 1.5, f"ingest waited {elapsed:.2f}s on a dead Redis"
    assert Delivery.objects.filter(status="pending").count() == 2

    redis_server = start_embedded_redis(tmp_path)  # Redis is back
    try:
        with running_worker():
            time.sleep(5.1)  # the wake-up back-off after the outage has passed
            sweep()  # what the scheduler runs every few seconds
            assert wait_for(lambda: len(received(httpserver)) == 2)
    finally:
        redis_server.shutdown()
    assert wait_for(
        lambda: set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"})


def test_send_test_event_shows_the_receivers_answer_in_place(
    client, alice, acme, make_webhook, httpserver, allow_private
):
    httpserver.expect_request("/t").respond_with_data('{"received": "<b>yes</b>"}', status=201)
    hook = make_webhook(httpserver.url_for("/t"), topics=["form.submitted"])
    client.force_login(alice)
    url = f"/w/acme/settings/integrations/webhooks/{hook.pk}/test-event/"
    with running_worker():
        pending = client.post(url, {"type": "form.submitted"}, HTTP_HX_REQUEST="true")
        assert b'data-test-result="pending"' in pending.content
        delivery = Delivery.objects.get(is_test=True)
        result_url = f"/w/acme/settings/integrations/test-deliveries/{delivery.pk}/"

        def answered():
            html = client.get(result_url, HTTP_HX_REQUEST="true").content.decode()
            return "HTTP 201" in html and html

        assert wait_for(answered)
    html = answered()
    assert 'data-test-result="ok"' in html
    assert "&lt;b&gt;yes&lt;/b&gt;" in html  # the receiver's markup is shown, never run
