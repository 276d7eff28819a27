"""The operators' console for events, deliveries and attempts: read-only, searchable,
filterable, with resend and cancel; the RQ dashboard one click from the admin index."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from deliveries.models import Delivery
from tests.conftest import make_user
from tests.deliveries.logs_factories import make_attempt, make_delivery


@pytest.fixture
def operator_client(client, db):
    """Staff of the SaaS itself (superuser), member of no workspace."""
    user = make_user("olivia")
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    return client


@pytest.fixture
def support_client(db):
    """Staff with every model permission on deliveries, but not a superuser."""
    from django.test import Client

    user = make_user("sam")
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="deliveries"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def hook(make_webhook):
    return make_webhook("https://receiver.example.com/hooks", name="Orders hook")


def changelist(model):
    return reverse(f"admin:deliveries_{model}_changelist")


def test_the_delivery_list_answers_questions_in_a_few_queries(operator_client, hook,
                                                              django_assert_max_num_queries):
    for _ in range(5):
        make_attempt(hook, succeeded=False, status=503)
    with django_assert_max_num_queries(12):
        html = operator_client.get(changelist("delivery")).content.decode()
    delivery = Delivery.objects.first()
    for text in [delivery.message_id, "Orders hook", "form.submitted", "Failed", "HTTP 503"]:
        assert text in html


def test_search_by_message_id_and_event_id(operator_client, hook):
    wanted = make_attempt(hook).delivery
    other = make_attempt(hook).delivery
    html = operator_client.get(changelist("delivery") + f"?q={wanted.message_id}").content.decode()
    assert wanted.message_id in html and other.message_id not in html
    html = operator_client.get(
        changelist("delivery") + f"?q={wanted.event.event_id}"
    ).content.decode()
    assert wanted.message_id in html and other.message_id not in html
    html = operator_client.get(changelist("attempt") + f"?q={wanted.message_id}").content.decode()
    assert wanted.message_id in html and other.message_id not in html
    html = operator_client.get(changelist("event") + f"?q={wanted.message_id}").content.decode()
    assert wanted.event.event_id in html and other.event.event_id not in html


def test_filters_by_status_workspace_webhook_and_test(operator_client, hook, make_webhook,
                                                      globex):
    failed = make_delivery(hook, status="failed")
    pending = make_delivery(hook, status="pending")
    test = make_delivery(hook, status="succeeded", is_test=True)
    elsewhere = make_delivery(make_webhook("https://g.example/", workspace=globex),
                              status="failed")

    def listed(query):
        html = operator_client.get(changelist("delivery") + query).content.decode()
        return {d.message_id for d in (failed, pending, test, elsewhere) if d.message_id in html}

    assert listed("?status__exact=failed") == {failed.message_id, elsewhere.message_id}
    assert listed("?workspace=acme") == {failed.message_id, pending.message_id, test.message_id}
    assert listed(f"?webhook={hook.pk}&status__exact=pending") == {pending.message_id}
    assert listed("?is_test__exact=1") == {test.message_id}
    assert listed("?webhook=abc") == set()
    sidebar = operator_client.get(changelist("delivery") + "?status__exact=failed").content.decode()
    assert '<input type="text" name="workspace" value=""' in sidebar
    assert '<input type="hidden" name="status__exact" value="failed">' in sidebar


def test_everything_is_read_only_and_only_superusers_delete(operator_client, support_client,
                                                            hook):
    attempt = make_attempt(hook)
    delivery = attempt.delivery
    assert operator_client.get(reverse("admin:deliveries_delivery_add")).status_code == 403
    change = operator_client.get(reverse("admin:deliveries_delivery_change", args=[delivery.pk]))
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    assert operator_client.post(
        reverse("admin:deliveries_delivery_change", args=[delivery.pk]), {"status": "cancelled"}
    ).status_code == 403
    assert support_client.get(
        reverse("admin:deliveries_attempt_delete", args=[attempt.pk])
    ).status_code == 403
    assert operator_client.get(
        reverse("admin:deliveries_attempt_delete", args=[attempt.pk])
    ).status_code == 200


def test_the_resend_action_requeues_with_the_same_message_id(operator_client, hook):
    failed = make_attempt(hook, succeeded=False).delivery
    sending = make_delivery(hook, status="sending")
    response = operator_client.post(
        changelist("delivery"),
        {"action": "resend", "_selected_action": [failed.pk, sending.pk]},
        follow=True,
    )
    failed.refresh_from_db()
    sending.refresh_from_db()
    assert (failed.status, failed.next_trigger) == ("pending", "resend")
    assert sending.status == "sending"
    assert "1 deliveries queued for resending. 1 being sent right now were left alone." in (
        response.content.decode()
    )


def test_the_cancel_action_cancels_pending_deliveries_only(operator_client, hook):
    pending = make_delivery(hook, status="pending")
    done = make_delivery(hook, status="succeeded")
    operator_client.post(changelist("delivery"),
                         {"action": "cancel", "_selected_action": [pending.pk, done.pk]})
    pending.refresh_from_db()
    done.refresh_from_db()
    assert (pending.status, done.status) == ("cancelled", "succeeded")


def test_the_attempt_list_shows_its_columns(operator_client, hook):
    make_attempt(hook, succeeded=False, status=None, error_kind="timeout",
                 error_message="No answer within 30 s", duration_ms=30000, trigger="retry")
    html = operator_client.get(changelist("attempt")).content.decode()
    for text in ["Orders hook", "No answer within 30 s", "30000", "retry"]:
        assert text in html


def test_the_count_stays_bounded_on_huge_tables(operator_client, hook, monkeypatch):
    from deliveries import admin as deliveries_admin

    monkeypatch.setattr(deliveries_admin, "COUNT_CAP", 2)
    for _ in range(4):
        make_delivery(hook)
    html = operator_client.get(changelist("delivery")).content.decode()
    assert "3 deliveries" in html  # at most COUNT_CAP + 1 counted


def test_the_admin_index_links_the_rq_dashboard(operator_client):
    html = operator_client.get(reverse("admin:index")).content.decode()
    assert 'href="/admin/django_rq/dashboard/"' in html
    assert operator_client.get("/admin/django_rq/dashboard/").status_code == 200
