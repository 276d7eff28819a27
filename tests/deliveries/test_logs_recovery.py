"""Resend, Retry all failed since ..., Replay after outage: from the logs pages."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rq import Queue

from deliveries import recovery
from deliveries.models import Delivery
from deliveries.services import QUEUE_NAME, fail_fast_redis
from subscriptions.models import Webhook
from subscriptions.services import auto_disable, set_enabled
from tests.deliveries.logs_factories import make_attempt, make_delivery


@pytest.fixture
def hook(make_webhook):
    return make_webhook("https://receiver.example.com/hooks", name="Orders hook")


@pytest.fixture
def queue():
    """The real default queue; the jobs these tests enqueue are removed afterwards."""
    q = Queue(QUEUE_NAME, connection=fail_fast_redis())
    before = set(q.job_ids)
    yield q
    for job_id in set(q.job_ids) - before:
        job = q.fetch_job(job_id)
        if job is not None:
            job.delete()


def base(hook):
    return f"/w/acme/settings/integrations/webhooks/{hook.pk}/logs/"


def our_jobs(queue, func_name):
    return [j for j in queue.jobs if j.func_name == func_name]


# --- resend -------------------------------------------------------------------------------------


def test_an_admin_resends_a_failed_delivery_with_the_same_message_id(alice_client, hook):
    attempt = make_attempt(hook, succeeded=False)
    delivery = attempt.delivery
    response = alice_client.post(base(hook) + f"{attempt.pk}/resend/", follow=True)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_trigger) == ("pending", "resend")
    assert delivery.message_id == attempt.delivery.message_id
    assert delivery.next_attempt_at <= timezone.now()
    assert response.redirect_chain == [(base(hook) + f"{attempt.pk}/", 302)]
    assert f"Resend queued for {delivery.message_id} (same webhook-id" in response.content.decode()


def test_a_delivery_being_sent_is_not_resent(alice_client, hook):
    attempt = make_attempt(hook, succeeded=False)
    Delivery.objects.filter(pk=attempt.delivery_id).update(status="sending")
    response = alice_client.post(base(hook) + f"{attempt.pk}/resend/", follow=True)
    assert "being sent right now" in response.content.decode()
    assert Delivery.objects.get(pk=attempt.delivery_id).status == "sending"


def test_resend_is_for_admins_only_and_needs_a_post_and_csrf(bob_client, charlie_client, alice,
                                                              hook):
    attempt = make_attempt(hook, succeeded=False)
    url = base(hook) + f"{attempt.pk}/resend/"
    assert bob_client.post(url).status_code == 403
    assert charlie_client.post(url).status_code == 404
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(alice)
    assert csrf_client.get(url).status_code == 405
    assert csrf_client.post(url).status_code == 403
    assert Delivery.objects.get(pk=attempt.delivery_id).status == "failed"


def test_members_see_no_resend_button(bob_client, alice_client, hook):
    attempt = make_attempt(hook, succeeded=False)
    assert "↺ Resend" not in bob_client.get(base(hook) + f"{attempt.pk}/").content.decode()
    assert "↺ Resend" in alice_client.get(base(hook) + f"{attempt.pk}/").content.decode()


# --- retry all failed since ---------------------------------------------------------------------


def failed_at(hook, when, **fields):
    return make_delivery(hook, status="failed", created_at=when, **fields)


def test_the_confirm_page_counts_what_will_be_retried(alice_client, hook):
    now = timezone.now()
    for minutes in (10, 20, 30):
        failed_at(hook, now - timedelta(minutes=minutes))
    failed_at(hook, now - timedelta(days=2))  # before the chosen time
    failed_at(hook, now - timedelta(minutes=5), is_test=True)  # tests are not retried
    make_delivery(hook, status="succeeded", created_at=now - timedelta(minutes=5))
    since = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    html = alice_client.get(base(hook) + f"retry-failed/?since={since}").content.decode()
    assert 'data-retry-count="3"' in html
    assert "3 failed deliveries</strong> since" in html and "will be retried" in html
    assert "Confirm: retry 3" in html


def test_confirming_queues_a_background_job_and_the_logs_show_its_progress(alice_client, hook,
                                                                            queue):
    now = timezone.now()
    failed_at(hook, now - timedelta(minutes=10))
    failed_at(hook, now - timedelta(minutes=20))
    since = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = alice_client.post(base(hook) + "retry-failed/", {"since": since})
    assert response.status_code == 302 and response.url == base(hook) + "#progress"
    [job] = our_jobs(queue, "deliveries.jobs.retry_failed_since")
    webhook_id, since_arg, job_key, until = job.args
    assert webhook_id == hook.pk and until is None
    assert Delivery.objects.filter(status="failed").count() == 2  # not yet: the job does it

    page = alice_client.get(base(hook)).content.decode()
    assert 'data-progress="queued"' in page and "0 of 2 queued again" in page
    assert f'hx-get="{base(hook)}retry-failed/{job_key}/" hx-trigger="every 2s"' in page

    assert recovery.retry_failed_since(webhook_id, since_arg, job_key) == 2
    assert Delivery.objects.filter(status="pending", next_trigger="resend").count() == 2
    fragment = alice_client.get(base(hook) + f"retry-failed/{job_key}/",
                                HTTP_HX_REQUEST="true").content.decode()
    assert 'data-progress="done"' in fragment and "hx-trigger" not in fragment
    assert "Retry finished:</strong> 2 failed deliveries" in fragment


def test_the_progress_url_without_htmx_goes_back_to_the_logs(alice_client, hook, queue):
    failed_at(hook, timezone.now() - timedelta(minutes=1))
    progress = recovery.start_retry_failed_since(hook, timezone.now() - timedelta(hours=1))
    response = alice_client.get(base(hook) + f"retry-failed/{progress.job_key}/")
    assert response.status_code == 302 and response.url == base(hook) + "#progress"
    assert alice_client.get(base(hook) + "retry-failed/nope/").status_code == 404


def test_retry_failed_since_works_in_batches_and_leaves_other_rows_alone(hook, make_webhook):
    now = timezone.now()
    since = now - timedelta(hours=1)
    # Eleven failed ones, some sharing a timestamp (the keyset must not skip or repeat them).
    wanted = [failed_at(hook, since + timedelta(minutes=i // 2)) for i in range(11)]
    old = failed_at(hook, since - timedelta(seconds=1))
    pending = make_delivery(hook, status="pending", created_at=now - timedelta(minutes=1))
    other_hook = make_webhook("https://other.example.com/")
    others = failed_at(other_hook, now - timedelta(minutes=1))

    assert recovery.retry_failed_since(hook.pk, since, "job-1", batch_size=3) == 11
    assert set(Delivery.objects.filter(status="pending", next_trigger="resend")
               .values_list("pk", flat=True)) == {d.pk for d in wanted}
    for row, status in [(old, "failed"), (pending, "pending"), (others, "failed")]:
        row.refresh_from_db()
        assert row.status == status
    progress = recovery.get_progress("job-1")
    assert (progress.state, progress.done, progress.total) == ("done", 11, 11)


def test_the_count_is_bounded(hook, monkeypatch):
    monkeypatch.setattr(recovery, "COUNT_LIMIT", 3)
    for _ in range(6):
        failed_at(hook, timezone.now())
    assert recovery.count_failed_since(hook.pk, timezone.now() - timedelta(hours=1)) == 4


def test_a_time_in_the_future_is_refused(alice_client, hook):
    later = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    html = alice_client.get(base(hook) + f"retry-failed/?since={later}").content.decode()
    assert "Choose a time in the past." in html


def test_retry_failed_is_for_admins_only(bob_client, charlie_client, hook):
    url = base(hook) + "retry-failed/"
    assert bob_client.get(url).status_code == 403
    assert bob_client.post(url, {"since": "2025-01-01T00:00"}).status_code == 403
    assert charlie_client.get(url).status_code == 404
    assert charlie_client.post(url, {"since": "2025-01-01T00:00"}).status_code == 404


def test_an_unreachable_queue_changes_nothing_and_says_so(alice_client, hook, monkeypatch,
                                                         tmp_path):
    import redis

    failed_at(hook, timezone.now() - timedelta(minutes=1))
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    down = redis.Redis(unix_socket_path=str(tmp_path / "no.sock"), retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(recovery, "_redis", lambda: down)
    since = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = alice_client.post(base(hook) + "retry-failed/", {"since": since})
    assert "The job queue is unreachable right now" in response.content.decode()
    assert Delivery.objects.get().status == "failed"


# --- replay after an outage ---------------------------------------------------------------------


def outage(hook, *, failures=3):
    """The webhook worked, then every delivery failed until it was auto-disabled."""
    now = timezone.now()
    make_attempt(hook, started_at=now - timedelta(days=6), succeeded=True)
    failing_since = now - timedelta(days=5, hours=1)
    for i in range(failures):
        make_attempt(hook, started_at=failing_since + timedelta(hours=i), succeeded=False)
    Webhook.objects.filter(pk=hook.pk).update(failing_since=failing_since,
                                              last_error="HTTP 503")
    hook.refresh_from_db()
    assert auto_disable(hook, "Every delivery failed for 5 days.")
    hook.refresh_from_db()
    return failing_since


def test_an_auto_disabled_webhook_offers_re_enable_and_replay(alice_client, bob_client, hook,
                                                              queue):
    outage(hook, failures=3)
    html = alice_client.get(base(hook)).content.decode()
    assert "Auto-disabled" in html and "Every delivery failed for 5 days." in html
    assert "Re-enable and replay 3" in html
    assert "Re-enable and replay" not in bob_client.get(base(hook)).content.decode()

    response = alice_client.post(base(hook) + "replay/", follow=True)
    hook.refresh_from_db()
    assert hook.status == "enabled"
    assert "Replaying 3 deliveries that failed while it was down" in response.content.decode()
    [job] = our_jobs(queue, "deliveries.jobs.retry_failed_since")
    assert recovery.retry_failed_since(*job.args) == 3
    assert Delivery.objects.filter(status="pending", next_trigger="resend").count() == 3


def test_after_the_toggle_switches_it_on_the_logs_offer_the_replay(alice_client, hook, queue):
    outage(hook, failures=2)
    make_attempt(hook, started_at=timezone.now() - timedelta(days=7), succeeded=False)  # older
    set_enabled(hook, True)  # the list's toggle
    offer = recovery.replay_offer(hook)
    assert offer.count == 2 and not offer.still_disabled
    html = alice_client.get(base(hook)).content.decode()
    assert "2 deliveries failed while this webhook was down" in html
    assert "Replay 2 deliveries" in html
    alice_client.post(base(hook) + "replay/")
    [job] = our_jobs(queue, "deliveries.jobs.retry_failed_since")
    recovery.retry_failed_since(*job.args)
    assert recovery.replay_offer(hook) is None  # nothing left to replay: the offer is gone


def test_a_webhook_never_switched_off_offers_no_replay(hook):
    make_attempt(hook, succeeded=False)  # failing now, but never disabled
    assert recovery.replay_offer(hook) is None


def test_the_offer_lasts_a_week_after_switching_on(hook):
    make_attempt(hook, started_at=timezone.now() - timedelta(days=9), succeeded=False)
    set_enabled(hook, False)
    set_enabled(hook, True)
    assert recovery.replay_offer(hook).count == 1
    Webhook.objects.filter(pk=hook.pk).update(
        status_changed_at=timezone.now() - timedelta(days=8)
    )
    hook.refresh_from_db()
    assert recovery.replay_offer(hook) is None


def test_replay_is_for_admins_only(bob_client, charlie_client, hook):
    outage(hook)
    assert bob_client.post(base(hook) + "replay/").status_code == 403
    assert charlie_client.post(base(hook) + "replay/").status_code == 404
    hook.refresh_from_db()
    assert hook.status == "auto_disabled"


def test_the_toggle_message_links_to_the_replay(hook):
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import MessageDecoder, MessageEncoder
    from django.utils.safestring import SafeData

    outage(hook, failures=2)
    Webhook.objects.filter(pk=hook.pk).update(name="<b>Orders</b>")
    hook.refresh_from_db()
    assert recovery.replay_message(hook, was_auto_disabled=True) is None  # still off
    set_enabled(hook, True)
    message = recovery.replay_message(hook, was_auto_disabled=True)
    assert message == (
        "Webhook “&lt;b&gt;Orders&lt;/b&gt;” is back on. "
        f'<a href="{base(hook)}#replay">Replay the 2 deliveries that failed while it was '
        "down</a>."
    )
    # It stays safe HTML through the session's message storage, so the link renders.
    encoded = MessageEncoder().encode([Message(20, message)])
    assert isinstance(MessageDecoder().decode(encoded)[0].message, SafeData)
    assert recovery.replay_message(hook, was_auto_disabled=False) is None
