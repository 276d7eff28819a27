"""An admin sets up webhooks in a real Chromium: connector, webhook, toggle, key, delete, restore.

Screenshots for a person to look at land in test-artifacts/.
"""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from subscriptions.models import Webhook
from tests.conftest import ARTIFACTS_DIR
from tests.subscriptions.factories import make_webhook


def test_an_admin_sets_up_and_manages_a_webhook(page, live_server, login, alice, acme, screenshot):
    base = f"{live_server.url}/w/acme/settings/integrations"
    login(alice)

    # A connector first, through the UI.
    page.goto(f"{base}/webhooks/")
    page.click(".sidenav >> text=Connectors")
    page.click("text=+ New connector")
    page.check("input[name=kind][value=api_key]")
    expect(page.locator("#id_header_name")).to_be_visible()
    screenshot("connector-new")
    page.fill("#id_name", "CRM token")
    page.check("input[name=kind][value=bearer]")
    expect(page.locator("#id_username")).to_be_hidden()  # only for Basic
    page.fill("#id_secret", "tok_live_abcdef123456")
    page.click("button:has-text('Create connector')")
    expect(page.locator(".flash-success")).to_have_text("Connector “CRM token” created.")
    expect(page.locator("table")).to_contain_text("Authorization: Bearer")
    expect(page.locator("body")).not_to_contain_text("tok_live_abcdef123456")
    screenshot("connectors-list")

    # The empty list, then the form, first sent with mistakes.
    page.click(".sidenav >> text=Webhooks")
    expect(page.locator(".empty-state h2")).to_have_text("No webhooks yet")
    page.click("text=+ New webhook")
    expect(page.locator("h1")).to_have_text("New webhook")
    screenshot("webhook-new-empty")

    page.fill("#id_name", "Orders hook")
    page.fill("#id_url", "ftp://receiver.example.com/orders")
    page.locator(".header-row input[name=header_name]").first.fill("Content-Type")
    page.locator(".header-row input[name=header_value]").first.fill("text/plain")
    page.click("button:has-text('Create webhook')")
    expect(page.locator(".form-errors")).to_contain_text("Nothing was saved")
    expect(page.locator("#id_url ~ .error")).to_contain_text("Enter a URL starting with https://")
    expect(page.locator("#topics .error")).to_contain_text("Pick at least one topic")
    expect(page.locator(".header-row .row-error")).to_contain_text(
        "Content-Type is set by the webhook itself"
    )
    screenshot("webhook-new-errors")
    assert Webhook.objects.count() == 0

    # Fixed: two headers (one row added and one removed with htmx), the connector, two topics.
    page.fill("#id_url", "https://receiver.example.com/orders?user=${userId}")
    page.check("input[name=topics][value='content.viewed']")
    page.check("input[name=topics][value='form.submitted']")
    rows = page.locator("#header-rows .header-row")
    expect(rows).to_have_count(2)
    rows.nth(0).locator("input[name=header_name]").fill("X-Tenant")
    rows.nth(0).locator("input[name=header_value]").fill("acme")
    page.evaluate("window.noReload = true")
    page.click("text=+ Add header")
    expect(rows).to_have_count(3)
    assert page.evaluate("window.noReload") is True  # htmx fetched the row in place
    rows.nth(2).locator("input[name=header_name]").fill("X-Api-Version")
    rows.nth(2).locator("input[name=header_value]").fill("2")
    rows.nth(1).locator(".remove-row").click()
    expect(rows).to_have_count(2)
    assert page.evaluate("window.noReload") is True
    page.select_option("#id_connector", label="CRM token · Bearer token")
    page.check("input[name=retry_policy][value=three_retries]")
    expect(page.locator("#retry-sentence")).to_have_text(
        "Up to 4 attempts: retried after 1, 2 and 4 minutes."
    )
    page.click("button:has-text('Create webhook')")

    expect(page.locator(".flash-success")).to_contain_text("Webhook “Orders hook” created.")
    expect(page.locator(".flash-warning")).to_contain_text("Reachability check failed")
    webhook = Webhook.objects.get()
    assert webhook.header_dict() == {"X-Tenant": "acme", "X-Api-Version": "2"}
    assert [h.name for h in webhook.headers.all()] == ["X-Tenant", "X-Api-Version"]
    assert webhook.connector.name == "CRM token"
    assert webhook.topics == ["content.viewed", "form.submitted"]
    expect(page.locator("#signing-key-value code")).to_have_text(webhook.current_key().masked)
    screenshot("webhook-edit")

    # Two more webhooks in other states, for a list worth looking at.
    make_webhook(
        acme,
        name="Slack #sales",
        url="https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
        format="slack",
        topics=["form.submitted", "demo.session_finished", "message.clicked", "message.read"],
        status=Webhook.Status.DISABLED,
        last_delivery_at=timezone.now() - timedelta(minutes=12),
        last_succeeded=True,
        last_status_code=200,
    )
    make_webhook(
        acme,
        name="Legacy CRM",
        url="http://crm.legacy.example.com/api/v1/events/inbound",
        topics=["message.delivered", "message.undelivered"],
        status=Webhook.Status.AUTO_DISABLED,
        disabled_reason="Every attempt failed for 5 days (last: HTTP 503).",
        last_delivery_at=timezone.now() - timedelta(hours=3),
        last_succeeded=False,
        last_status_code=503,
    )
    page.click(".breadcrumbs >> text=Webhooks")
    row = page.locator(f"#webhook-{webhook.pk}")
    expect(row).to_contain_text("Orders hook")
    expect(page.locator("tbody.webhook-row")).to_have_count(3)
    screenshot("webhook-list")

    # The toggle works in place: no navigation, the badge and the database follow.
    list_url = page.url
    page.evaluate("window.stillTheSamePage = true")
    row.locator("button.switch").click()
    expect(row.locator(".badge")).to_have_text("Disabled")
    assert Webhook.objects.get(pk=webhook.pk).status == Webhook.Status.DISABLED
    row.locator("button.switch").click()
    expect(row.locator(".badge")).to_have_text("Enabled")
    assert Webhook.objects.get(pk=webhook.pk).status == Webhook.Status.ENABLED
    assert page.url == list_url
    assert page.evaluate("window.stillTheSamePage") is True

    # Test connection from the row menu: the result shows under the row, in place.
    row.locator("details.rowmenu summary").click()
    row.locator("button:has-text('Test connection')").click()
    expect(page.locator(f"#probe-{webhook.pk} .result-err")).to_contain_text("DNS lookup failed")
    assert page.evaluate("window.stillTheSamePage") is True

    # Edit it.
    row.locator("a.row-title").click()
    page.fill("#id_name", "Orders hook v2")
    page.click("button:has-text('Save changes')")
    expect(page.locator(".flash-success").first).to_have_text("Webhook “Orders hook v2” saved.")
    expect(page.locator("h1")).to_contain_text("Orders hook v2")

    # Reveal the key in place, then reset it, keeping the old one for 24 hours.
    old_masked = page.locator("#signing-key-value code").inner_text()
    page.click("#signing-key-value button:has-text('Reveal')")
    secret = Webhook.objects.get(pk=webhook.pk).current_key().secret
    expect(page.locator("#signing-key-value code")).to_have_text(secret)
    expect(page.locator("#signing-key-value button")).to_have_text("Copy")
    page.reload()
    page.click("text=Reset key…")
    dialog = page.locator("#reset-key-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("input[name=grace][value='0']")).to_be_checked()
    dialog.locator("input[name=grace][value='24']").check()
    # The viewport only: a full-page capture would show the backdrop over its first screen only.
    page.screenshot(path=str(ARTIFACTS_DIR / "reset-key-dialog.png"))
    dialog.locator("button:has-text('Reset key')").click()
    expect(page.locator(".flash-success")).to_contain_text("A new signing key is active")
    new_masked = page.locator("#signing-key-value code").inner_text()
    assert new_masked != old_masked
    expect(page.locator(".grace-line")).to_contain_text("Previous key valid until")
    assert len(Webhook.objects.get(pk=webhook.pk).valid_keys()) == 2

    # Delete it, then restore it.
    page.click("text=Delete webhook…")
    page.click("button:has-text('Delete webhook')")
    expect(page.locator(".flash-success")).to_contain_text("Webhook “Orders hook v2” deleted.")
    expect(page.locator(f"#webhook-{webhook.pk}")).to_have_count(0)
    page.click("text=Deleted webhooks (1)")
    expect(page.locator("table")).to_contain_text("Orders hook v2")
    screenshot("webhook-deleted-list")
    page.click("button:has-text('Restore')")
    expect(page.locator(".flash-success")).to_contain_text("Webhook “Orders hook v2” restored.")
    expect(page.locator(f"#webhook-{webhook.pk} .badge")).to_have_text("Disabled")
    assert re.search(r"/webhooks/$", page.url)

    page.click(".sidenav >> text=General")
    page.check("#id_https_only")
    page.click("button:has-text('Save')")
    expect(page.locator(".flash-warning").first).to_contain_text(
        "HTTPS only is on. These webhooks still use http:// and were not changed: Legacy CRM."
    )
    screenshot("workspace-settings")


def test_a_member_reads_a_webhook_with_its_header_values_masked(
    page, live_server, login, bob, acme, screenshot
):
    webhook = make_webhook(acme, name="Orders hook",
                           headers=[("X-Tenant-Key", "tenant-key-0123456789WXYZ")])
    login(bob)
    page.goto(f"{live_server.url}/w/acme/settings/integrations/webhooks/{webhook.pk}/")
    expect(page.locator(".flash").first).to_contain_text("You are a member of Acme")
    value = page.locator(".header-row input[name=header_value]").first
    expect(value).to_have_value("••••••••••••WXYZ")
    expect(value).to_be_disabled()
    expect(page.locator("body")).not_to_contain_text("tenant-key-0123456789")
    screenshot("webhook-edit-member")
