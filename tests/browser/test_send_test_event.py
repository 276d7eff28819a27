"""Send test event, seen by a user: the worker delivers to the test inbox and the page shows
the answer in place, without a reload."""

import pytest
from playwright.sync_api import expect

from inbox.services import inbox_url
from subscriptions.models import Webhook
from subscriptions.services import create_webhook
from tests.workers import running_worker

pytestmark = pytest.mark.worker


def test_send_test_event_shows_the_inbox_answer_then_a_failure_with_its_body(
    page, live_server, login, alice, acme, settings, screenshot
):
    settings.SITE_URL = live_server.url
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True  # the inbox is on this machine
    hook = create_webhook(Webhook(workspace=acme, name="Inbox", url=inbox_url(acme),
                                  topics=["form.submitted", "demo.session_finished"]))
    test_page = f"{live_server.url}/w/acme/settings/integrations/webhooks/{hook.pk}/test-event/"
    with running_worker():
        login(alice)
        page.goto(test_page)
        page.select_option("#id_type", "demo.session_finished")
        page.click("button:has-text('Send test event')")
        result = page.locator("[data-test-result=ok]")
        expect(result).to_contain_text("HTTP 200", timeout=15_000)
        expect(result).to_contain_text('"received": true')
        assert page.url == test_page  # shown in place
        screenshot("send-test-event-ok")

        page.goto(f"{live_server.url}/w/acme/settings/integrations/test-inbox/")
        page.select_option("#id_response_status", "500")
        page.click("form[action$='status/'] button[type=submit]")
        page.goto(test_page)
        page.click("button:has-text('Send test event')")
        failed = page.locator("[data-test-result=failed]")
        expect(failed).to_contain_text("HTTP 500", timeout=15_000)
        expect(failed).to_contain_text("refused the test event")
        expect(failed).to_contain_text('"received": true')
        screenshot("send-test-event-failed")
