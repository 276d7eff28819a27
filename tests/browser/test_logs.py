"""The logs, seen by an admin whose endpoint misbehaves: she finds the failure, reads what her
server answered (a <script> shown as text, never run), fixes the server, resends, sees it
delivered. Deliveries go through the real engine: publish() then drain(), as a worker would.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from deliveries import recovery
from deliveries.drain import drain
from deliveries.models import Attempt, Delivery
from deliveries.services import QUEUE_NAME, fail_fast_redis, publish
from subscriptions.models import Webhook
from subscriptions.services import create_webhook
from tests.deliveries.logs_factories import make_attempt, make_delivery

EVIL_BODY = '<script>alert("x")</script>boom'


def history(hook):
    """A day of earlier traffic, so the chart and the list look like a real webhook's."""
    now = timezone.now()
    types = ["form.submitted", "content.viewed", "form.submitted", "message.read"]
    for i in range(46):
        started = now - timedelta(minutes=30 * i + 7)
        failed = i % 9 == 4 or 14 <= i <= 16
        delivery = make_delivery(hook, status="failed" if failed else "succeeded",
                                 created_at=started, event_type=types[i % 4])
        if failed and i % 2:
            make_attempt(hook, delivery, started_at=started, succeeded=False, status=None,
                         error_kind="timeout", error_message="No answer within 30 s",
                         duration_ms=30000)
        else:
            make_attempt(hook, delivery, started_at=started, succeeded=not failed,
                         status=200 if not failed else 503, duration_ms=80 + (i * 37) % 400,
                         trigger="retry" if i % 11 == 3 else "event")


@pytest.fixture
def queue_cleanup():
    from rq import Queue

    queue = Queue(QUEUE_NAME, connection=fail_fast_redis())
    before = set(queue.job_ids)
    yield
    for job_id in set(queue.job_ids) - before:
        job = queue.fetch_job(job_id)
        if job is not None and job.func_name == "deliveries.jobs.retry_failed_since":
            job.delete()


def test_an_admin_finds_a_failure_reads_it_safely_resends_and_sees_it_delivered(
    page, live_server, login, alice, acme, settings, screenshot, httpserver, queue_cleanup
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True  # the receiver listens on 127.0.0.1
    settings.SITE_URL = live_server.url
    httpserver.expect_request("/orders").respond_with_data(
        EVIL_BODY, status=500, content_type="text/html"
    )
    hook = create_webhook(Webhook(workspace=acme, name="Orders sync",
                                  url=httpserver.url_for("/orders"),
                                  topics=["form.submitted", "content.viewed", "message.read"]))
    history(hook)
    publish(acme, "form.submitted", {"formName": "Contact us", "email": "jane@example.com"})
    assert drain(hook.pk).failed == 1
    real = Attempt.objects.filter(webhook=hook, response_status=500).latest("id")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    login(alice)
    logs_url = f"{live_server.url}/w/acme/settings/integrations/webhooks/{hook.pk}/logs/"
    page.goto(logs_url)
    expect(page.locator("h1")).to_contain_text("Orders sync")
    expect(page.locator(".hourly-chart .bar")).to_have_count(24)
    expect(page.locator(".log-row")).to_have_count(47)
    expect(page.locator(f'[data-attempt="{real.pk}"]')).to_contain_text("HTTP 500")
    screenshot("logs-page")

    page.select_option("#id_result", "failed")
    page.click("button:has-text('Filter')")
    rows = page.locator(".log-row")
    expect(rows.first).to_have_attribute("data-attempt", str(real.pk))
    assert rows.count() == Attempt.objects.filter(webhook=hook, succeeded=False).count() == 9
    assert page.locator(".log-row.is-ok").count() == 0
    screenshot("logs-filtered")

    page.click(f'[data-attempt="{real.pk}"] .col-time a')
    expect(page.locator("h1")).to_contain_text("HTTP 500")
    response_body = page.locator('pre[data-body="response"]')
    expect(response_body).to_have_text(EVIL_BODY)  # the markup, shown as text
    expect(page.locator("[data-result-words]")).to_contain_text("HTTP 500 Internal Server Error")
    expect(page.locator('pre[data-body="request"]')).to_contain_text('"email": "jane@example.com"')
    assert page.locator("pre[data-body=response] script").count() == 0
    screenshot("attempt-detail")

    # The admin fixes her server, then resends.
    httpserver.clear_all_handlers()
    httpserver.expect_request("/orders").respond_with_json({"ok": True})
    page.click("button:has-text('Resend')")
    expect(page.locator(".flash-success")).to_contain_text("Resend queued for msg_")
    assert drain(hook.pk).succeeded == 1
    page.reload()
    newest = page.locator(".attempt-list li").first
    expect(newest).to_contain_text("#2")
    expect(newest).to_contain_text("HTTP 200")
    newest.locator("a").click()
    expect(page.locator("h1")).to_contain_text("HTTP 200")
    expect(page.locator(".title-row ~ p, .logs-title p.muted").first).to_contain_text("Resend")
    expect(page.locator(".facts")).to_contain_text("Delivered")
    screenshot("attempt-resent")

    # Retry all failed since ...: the count, then the confirmation, then the progress line.
    page.goto(logs_url)
    page.click("a:has-text('Retry failed…')")
    since = (timezone.now() - timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#id_since", since)
    page.click("button:has-text('Count failed deliveries')")
    failed_count = Delivery.objects.filter(webhook=hook, status="failed").count()
    expect(page.locator("[data-retry-count]")).to_have_attribute(
        "data-retry-count", str(failed_count)
    )
    expect(page.locator(".confirm-count")).to_contain_text(
        f"{failed_count} failed deliveries"
    )
    screenshot("retry-failed-confirm")
    page.click("button:has-text('Confirm: retry')")
    expect(page.locator("[data-progress]")).to_contain_text(f"0 of {failed_count} queued again")
    # A worker would run the job; run its function here, the progress line follows (htmx).
    progress = recovery.latest_progress(hook.pk)
    recovery.retry_failed_since(hook.pk, progress.since, progress.job_key)
    expect(page.locator('[data-progress="done"]')).to_contain_text(
        f"{failed_count} failed deliveries", timeout=6000
    )
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("retry-failed-progress")
    assert dialogs == []  # no script from a receiver ever ran


def test_an_internal_error_is_explained_on_the_attempt_page(
    page, live_server, login, alice, acme, screenshot
):
    """A connector secret the server can no longer decrypt: the admin sees what happened and
    that it will be retried, never a made-up request."""
    from django.db import connection

    from subscriptions.models import Connector

    connector = Connector.objects.create(workspace=acme, name="CRM", kind="bearer",
                                         secret="tok_live_0123456789abcdef")
    hook = create_webhook(Webhook(workspace=acme, name="Orders hook", topics=["form.submitted"],
                                  url="https://receiver.example.com/orders", connector=connector))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE subscriptions_connector SET secret = %s WHERE id = %s",
                       ["gAAAAA-written-with-another-key", connector.pk])
    publish(acme, "form.submitted", {"email": "jane@example.com"})
    drain(hook.pk)
    attempt = Attempt.objects.get()

    login(alice)
    page.goto(f"{live_server.url}/w/acme/settings/integrations/webhooks/{hook.pk}/logs/"
              f"{attempt.pk}/")
    expect(page.locator(".badge", has_text="Internal error").first).to_be_visible()
    expect(page.locator("body")).to_contain_text(
        "The request could not be prepared, so nothing was sent. It is retried")
    expect(page.locator("body")).to_contain_text("None: the request could not be prepared.")
    expect(page.locator("body")).not_to_contain_text("sent as query parameters")
    screenshot("attempt-internal-error")
