"""Emails to workspace admins: one warning when failures start (at most one a day), one notice
at auto-disable, with the reason and a link to the logs."""

from datetime import UTC, datetime, timedelta

import pytest

from deliveries import notifications
from subscriptions.models import Webhook
from subscriptions.services import auto_disable

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


@pytest.fixture
def hook(make_webhook, alice, bob, settings):
    settings.SITE_URL = "https://hooks.example.com/"
    settings.WEBHOOKS_AUTO_DISABLE_AFTER_DAYS = 5
    return make_webhook("https://crm.example.com/in", name="Legacy CRM")


def failing(hook, since, error="HTTP 503"):
    Webhook.objects.filter(pk=hook.pk).update(failing_since=since, last_error=error,
                                              last_status_code=503, last_succeeded=False)
    hook.refresh_from_db()


def test_a_failing_webhook_warns_the_admins_once(hook, mailoutbox):
    failing(hook, NOW - timedelta(minutes=30))
    assert notifications.warn_failing_webhooks(NOW) == 1
    [mail] = mailoutbox
    assert mail.to == ["alice@example.com"]  # bob is a member, not an admin
    assert mail.subject == "Webhook “Legacy CRM” is failing"
    assert "“Legacy CRM” in the Acme workspace is failing: HTTP 503." in mail.body
    assert ("Deliveries are being retried; it will be disabled after 5 days of failures "
            "(on 19 Mar 2025, 11:30 UTC)") in mail.body
    assert (f"https://hooks.example.com/w/acme/settings/integrations/webhooks/{hook.pk}/logs/"
            in mail.body)
    hook.refresh_from_db()
    assert hook.failure_warning_sent_at == NOW

    # The next cron runs, the same failure run: nothing more.
    assert notifications.warn_failing_webhooks(NOW + timedelta(minutes=5)) == 0
    assert notifications.warn_failing_webhooks(NOW + timedelta(days=2)) == 0
    assert len(mailoutbox) == 1


def test_at_most_one_warning_a_day_even_when_failures_restart(hook, mailoutbox):
    failing(hook, NOW - timedelta(minutes=30))
    notifications.warn_failing_webhooks(NOW)
    # It recovered, then failed again the same day: no second email today.
    failing(hook, NOW + timedelta(hours=3))
    assert notifications.warn_failing_webhooks(NOW + timedelta(hours=4)) == 0
    # A new run of failures more than a day after the last warning is worth one.
    failing(hook, NOW + timedelta(days=1, hours=2))
    assert notifications.warn_failing_webhooks(NOW + timedelta(days=1, hours=3)) == 1
    assert len(mailoutbox) == 2


def test_a_blip_is_not_worth_an_email(hook, mailoutbox):
    failing(hook, NOW - timedelta(minutes=3))
    assert notifications.warn_failing_webhooks(NOW) == 0
    assert mailoutbox == []


def test_disabled_deleted_and_healthy_webhooks_get_no_warning(hook, make_webhook, mailoutbox):
    healthy = make_webhook("https://ok.example.com/", name="Healthy")
    assert healthy.failing_since is None
    failing(hook, NOW - timedelta(hours=1))
    Webhook.objects.filter(pk=hook.pk).update(status="disabled")
    assert notifications.warn_failing_webhooks(NOW) == 0
    Webhook.objects.filter(pk=hook.pk).update(status="enabled", deleted_at=NOW)
    assert notifications.warn_failing_webhooks(NOW) == 0
    assert mailoutbox == []


def test_a_mail_server_error_is_logged_and_retried_next_run(hook, mailoutbox, monkeypatch,
                                                            caplog):
    failing(hook, NOW - timedelta(hours=1))

    def broken(*args, **kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr(notifications, "get_connection", broken)
    assert notifications.warn_failing_webhooks(NOW) == 0
    assert "could not email the admins" in caplog.text
    hook.refresh_from_db()
    assert hook.failure_warning_sent_at is None
    monkeypatch.undo()
    assert notifications.warn_failing_webhooks(NOW + timedelta(minutes=5)) == 1


def test_the_auto_disable_notice_gives_the_reason_and_the_link(hook, mailoutbox, make_webhook):
    failing(hook, NOW - timedelta(days=5, minutes=1))
    assert auto_disable(hook, "Every delivery failed for 5 days. Last error: HTTP 503.")
    assert notifications.notify_auto_disabled(hook) == 1
    [mail] = mailoutbox
    assert mail.to == ["alice@example.com"]
    assert mail.subject == "Webhook “Legacy CRM” was turned off"
    assert "Why: Every delivery failed for 5 days. Last error: HTTP 503." in mail.body
    assert "replay the deliveries that failed while it was down" in mail.body
    assert (f"https://hooks.example.com/w/acme/settings/integrations/webhooks/{hook.pk}/logs/"
            in mail.body)

    # Only for a webhook that is actually auto-disabled.
    other = make_webhook("https://other.example.com/", name="Other")
    assert notifications.notify_auto_disabled(other) == 0
    assert len(mailoutbox) == 1


def test_every_admin_gets_their_own_message(hook, acme, mailoutbox):
    from tests.conftest import make_user
    from workspaces.services import add_member

    dora = make_user("dora")
    add_member(acme, dora, "admin")
    nomail = make_user("erin")
    nomail.email = ""
    nomail.save()
    add_member(acme, nomail, "admin")
    failing(hook, NOW - timedelta(hours=1))
    notifications.warn_failing_webhooks(NOW)
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "dora@example.com"]
    assert all(len(m.to) == 1 for m in mailoutbox)


def test_the_cron_job_warns(hook, mailoutbox):
    from deliveries import jobs

    failing(hook, datetime.now(UTC) - timedelta(hours=1))
    assert jobs.warn_failing_webhooks() == {"warned": 1}
