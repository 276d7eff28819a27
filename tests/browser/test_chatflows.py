"""Chatbot flows in a real Chromium: alice builds a campaign in the editor (a Webhook redirect
and a toggle), chats with it in the simulator, and both webhooks arrive in the test inbox
through a real worker. Screenshots land in test-artifacts/ for a person to look at."""

import pytest
from playwright.sync_api import expect

from chatflows.models import Campaign, Interaction
from inbox.services import inbox_url
from tests.workers import running_worker

pytestmark = pytest.mark.worker


@pytest.fixture(autouse=True)
def clean_redis():
    """Start from an empty Redis: a wake-up mark or a Redis back-off left by an earlier test
    (whose webhook ids this test's reuse) would keep the worker from being woken."""
    from deliveries import services
    from webhooks_site.redis import get_connection

    get_connection().flushdb()
    services._redis_down_until = 0.0
    yield
    services._redis_down_until = 0.0


def test_alice_builds_a_flow_and_sees_both_webhooks_arrive(
    page, live_server, login, alice, acme, settings, screenshot
):
    settings.SITE_URL = live_server.url
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True  # the test inbox is on this machine
    inbox = inbox_url(acme)
    base = f"{live_server.url}/w/acme/chatbots/"
    login(alice)

    # The campaign and its Welcome Message.
    page.goto(base)
    expect(page.locator(".cf-empty h2")).to_have_text("No chatbot campaigns yet")
    page.click("text=New campaign")
    page.fill("#id_name", "EliPackage streaming")
    page.fill("#id_campaign_id", "13010")
    page.select_option("#id_channel", "whatsapp")
    page.fill("#id_welcome_prompt", "Hi! Which streaming membership would you like?")
    page.click("button:has-text('Create campaign')")
    expect(page.locator("h1")).to_contain_text("EliPackage streaming")
    campaign = Campaign.objects.get()

    # Option 1: Redirect Type Webhook. Menu Text, Redirect To and the toggle go away.
    page.click("#welcome >> text=Add option")
    expect(page.locator("#id_keyword")).to_have_value("1")
    page.select_option("#id_redirect_type", "webhook")
    expect(page.locator("#id_menu_text")).to_be_hidden()
    expect(page.locator("#id_redirect_to_interaction")).to_be_hidden()
    expect(page.locator("#id_webhook_toggle")).to_be_hidden()
    expect(page.locator("#id_webhook_url")).to_be_visible()
    page.fill("#id_label", "Your name")
    page.fill("#id_prompt", "What is your name?")
    page.fill("#id_answer_reply", "Thanks! Pick a plan:")
    page.fill("#id_webhook_url", inbox)
    page.locator(".cf-header-row input[name=header_name]").first.fill("X-Api-Key")
    page.locator(".cf-header-row input[name=header_value]").first.fill("k-123")
    page.click("button:has-text('Add option')")
    expect(page.locator(".flash-success")).to_contain_text("“Your name” saved.")

    # Option 2: One year, ends the chat, with the toggle (its webhook appears when switched on).
    page.click("#welcome >> text=Add option")
    expect(page.locator("#id_keyword")).to_have_value("2")
    page.fill("#id_label", "One year")
    page.fill("#id_menu_text", "One year")
    page.fill("#id_prompt", "One year it is, our best price!")
    page.select_option("#id_redirect_type", "end")
    expect(page.locator("#webhook")).to_be_hidden()
    page.check("#id_webhook_toggle")
    expect(page.locator("#webhook")).to_be_visible()
    page.fill("#id_webhook_url", inbox)
    page.locator(".cf-header-row input[name=header_name]").first.fill("X-Api-Key")
    page.locator(".cf-header-row input[name=header_value]").first.fill("k-123")
    page.click("[data-add-row]")  # a second header row, added in place
    page.locator(".cf-header-row input[name=header_name]").nth(1).fill("X-Tenant")
    page.locator(".cf-header-row input[name=header_value]").nth(1).fill("acme")
    page.fill("#id_webhook_extra_body", '{"plan": "annual"}')
    expect(page.locator("[data-payload=option]")).to_be_visible()
    expect(page.locator("[data-payload=response]")).to_be_hidden()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("chatflow-interaction-form")
    page.click("button:has-text('Add option')")
    expect(page.locator(".flash-success")).to_contain_text("“One year” saved.")

    # The editor's table: a Webhook redirect and a toggle, told apart.
    rows = page.locator("#welcome table.cf-menu tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Your name")
    expect(rows.nth(0).locator(".cf-hook")).to_have_attribute("data-kind", "redirect")
    expect(rows.nth(0).locator(".cf-hook")).to_have_attribute(
        "title", f"Webhook (redirect): asks the prompt, sends the answer to {inbox}")
    expect(rows.nth(1).locator(".cf-hook")).to_have_attribute("data-kind", "toggle")
    expect(rows.nth(1).locator("a[aria-label='Edit One year']")).to_be_visible()
    expect(rows.nth(1).locator("a[aria-label='Delete One year']")).to_be_visible()
    assert Interaction.objects.filter(webhook__isnull=False).count() == 2
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("chatflow-editor")

    # The simulator: chat as a customer; the worker delivers to the test inbox.
    with running_worker():
        page.click("text=Open simulator")
        for text in ("hi", "1", "John Doe", "2"):
            page.fill("#id_text", text)
            page.click("button[aria-label=Send]")
            expect(page.locator(".cf-bubble-user").last).to_have_text(text)
        bot = page.locator(".cf-bubble-bot")
        expect(bot.nth(0)).to_have_text(
            "Hi! Which streaming membership would you like?\n1. Your name\n2. One year")
        expect(bot.nth(1)).to_have_text("What is your name?")
        expect(bot.nth(2)).to_contain_text("Thanks! Pick a plan:")
        expect(bot.nth(3)).to_have_text("One year it is, our best price!")
        fired = page.locator(".cf-fired-item")
        expect(fired).to_have_count(2)
        expect(fired.nth(0)).to_have_attribute("data-event-type", "chatbot.option_selected")
        expect(fired.nth(1)).to_have_attribute("data-event-type", "chatbot.response")
        for item in (fired.nth(0), fired.nth(1)):  # the panel refreshes itself
            expect(item.locator(".badge")).to_contain_text("HTTP 200", timeout=20_000)
        expect(fired.nth(0).locator("pre")).to_contain_text('"option": "One year"')
        expect(fired.nth(0).locator("pre")).to_contain_text('"keyword": 2')
        expect(fired.nth(0).locator("pre")).to_contain_text('"plan": "annual"')
        expect(fired.nth(1).locator("pre")).to_contain_text('"response": "John Doe"')
        page.evaluate("window.scrollTo(0, 0)")
        screenshot("chatflow-simulator")

    # Both arrived in the test inbox, signed and with the custom headers.
    page.goto(f"{live_server.url}/w/acme/settings/integrations/test-inbox/")
    requests = page.locator("details.req")
    expect(requests).to_have_count(2, timeout=10_000)
    # Each request's badge names the webhook whose key verified its signature.
    verified = "✓ Signature verified · Chatbot 13010 · "
    answer = requests.filter(has=page.locator(".badge", has_text=verified + "Your name"))
    pick = requests.filter(has=page.locator(".badge", has_text=verified + "One year"))
    expect(answer).to_have_count(1)
    expect(pick).to_have_count(1)
    answer.locator("summary").click()
    expect(answer).to_contain_text('"response": "John Doe"')
    expect(answer).to_contain_text("X-Api-Key")  # shown masked: the inbox hides key values
    pick.locator("summary").click()
    expect(pick).to_contain_text('"option": "One year"')
    # Custom header values are masked in the inbox too (they often carry credentials).
    expect(pick).to_contain_text("X-Tenant")
    expect(pick).not_to_contain_text("acme")
    assert campaign.conversations.get().simulated
