import json
import time

import requests
from playwright.sync_api import expect


def test_requests_sent_to_the_inbox_appear_on_its_page_without_a_reload(
    page, live_server, login, alice, acme, screenshot
):
    from deliveries.signing import signature_headers
    from inbox.models import Inbox
    from inbox.services import receive_path
    from subscriptions.models import Webhook
    from subscriptions.services import create_webhook

    webhook = create_webhook(
        Webhook(
            workspace=acme, name="Demo inbox", url="https://example.com/", topics=["form.submitted"]
        )
    )
    url = live_server.url + receive_path(Inbox.for_workspace(acme))

    login(alice)
    page.goto(f"{live_server.url}/w/acme/settings/integrations/test-inbox/")
    expect(page.locator(".sidenav a.active")).to_have_text("Test inbox")
    expect(page.locator("text=Waiting for the first request")).to_be_visible()
    page.evaluate("window.__notReloaded = true")

    # What the delivery engine sends: a signed event...
    event = {
        "payload": {
            "type": "form.submitted",
            "id": "evt_2Jd8xq4",
            "data": {"formId": "newsletter", "email": "ada@example.com", "consent": True},
        }
    }
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Hookshot-Webhooks/1.0"}
    headers.update(signature_headers("msg_2Jd8xq4", int(time.time()), body, webhook.valid_keys()))
    assert requests.post(url, data=body, headers=headers, timeout=10).status_code == 200
    # ...then a forged one and a plain unsigned one.
    forged = body.replace(b"ada@", b"eve@")
    assert requests.post(url, data=forged, headers=headers, timeout=10).status_code == 200
    assert requests.get(url + "health?ping=1", timeout=10).status_code == 200

    rows = page.locator("details.req")
    expect(rows).to_have_count(3, timeout=10_000)  # the 3-second poll brought them in
    assert page.evaluate("window.__notReloaded") is True
    expect(rows.nth(0)).to_contain_text("GET")
    expect(rows.nth(0)).to_contain_text("Unsigned")
    expect(rows.nth(1)).to_contain_text("Signature mismatch")
    expect(rows.nth(2)).to_contain_text("Signature verified · Demo inbox")

    # An opened row stays open while the list keeps polling.
    rows.nth(2).locator("summary").click()
    expect(rows.nth(2).locator("pre")).to_contain_text('"email": "ada@example.com"')
    requests.post(url, json={"ping": True}, timeout=10)
    expect(rows).to_have_count(4, timeout=10_000)
    expect(rows.nth(3)).to_have_attribute("open", "")
    expect(rows.nth(3).locator("pre")).to_be_visible()
    screenshot("inbox")
