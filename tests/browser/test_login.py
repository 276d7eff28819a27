import re

from playwright.sync_api import expect


def test_an_admin_logs_in_lands_on_the_dashboard_and_reveals_the_token(
    page, live_server, alice, acme, screenshot
):
    from tests.conftest import PASSWORD

    page.goto(f"{live_server.url}/w/acme/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/w/acme/"))
    page.fill("#id_username", "alice")
    page.fill("#id_password", "wrong password")
    page.click("button[type=submit]")
    expect(page.locator(".flash-error")).to_contain_text("correct username and password")
    screenshot("login-error")

    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/w/acme/")
    expect(page.locator("h1")).to_have_text("Acme")
    screenshot("dashboard")

    page.click("text=Access keys")
    expect(page.locator("#client-token-value code")).to_have_text(acme.masked_client_token)
    page.click("text=Reveal")  # htmx swaps the value in place
    expect(page.locator("#client-token-value code")).to_have_text(acme.client_token)
    screenshot("access-keys-revealed")


def test_the_settings_navigation_reaches_the_webhooks_page(page, live_server, login, alice):
    login(alice)
    page.click("text=Settings")
    expect(page).to_have_url(f"{live_server.url}/w/acme/settings/integrations/webhooks/")
    expect(page.locator(".sidenav a.active")).to_have_text("Webhooks")
