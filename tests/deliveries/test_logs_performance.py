"""The logs page stays fast with many attempts: PostgreSQL, 200,000 generated attempts.

Asserts the query count of the first and the 50th page through the real view, and that every
query of the page reads the attempts table through an index (EXPLAIN), never a Seq Scan.
Timings are for the benchmark (bench/logs_bench.py), not for a test.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from deliveries import charts, logs, recovery
from deliveries.models import Attempt, Delivery

ATTEMPTS = 200_000
DELIVERIES = 20_000
TYPES = ["form.submitted", "content.viewed", "message.delivered", "message.read",
         "demo.session_finished"]

pytestmark = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="query plans are asserted on PostgreSQL, the production database "
    "(set DATABASE_URL=postgres://...); SQLite plans say nothing about it",
)


@pytest.fixture
def big_hook(make_webhook, acme):
    hook = make_webhook("https://receiver.example.com/hooks", name="Busy",
                        topics=TYPES)
    neighbour = make_webhook("https://other.example.com/", name="Neighbour", topics=TYPES)
    with connection.cursor() as cursor:
        for webhook, attempts, deliveries in ((hook, ATTEMPTS, DELIVERIES),
                                              (neighbour, ATTEMPTS // 10, DELIVERIES // 10)):
            generate(cursor, acme.pk, webhook.pk, attempts, deliveries)
        cursor.execute("ANALYZE deliveries_attempt")
        cursor.execute("ANALYZE deliveries_delivery")
    # A busy webhook is an old one (switched on long before its 30 days of logs).
    from subscriptions.models import Webhook

    Webhook.objects.filter(pk=hook.pk).update(status_changed_at=timezone.now() - timedelta(days=90))
    hook.refresh_from_db()
    return hook


def generate(cursor, workspace_id, webhook_id, attempts, deliveries):
    """Deliveries and attempts over 30 days, newest now; every 20th failed (HTTP 500)."""
    cursor.execute(
        """
        INSERT INTO deliveries_delivery
            (workspace_id, webhook_id, event_id, event_type, payload, message_id, status,
             is_test, next_trigger, attempt_count, next_attempt_at, last_status_code,
             last_error, created_at)
        SELECT %(ws)s, %(wh)s, NULL, (%(types)s::text[])[1 + g %% 5], NULL,
               'msg_' || lpad(%(wh)s::text, 4, '0') || lpad(g::text, 22, '0'),
               CASE WHEN g %% 20 = 0 THEN 'failed' ELSE 'succeeded' END, false, 'event', 1,
               now(), 200, '', now() - g * interval '2 minutes'
        FROM generate_series(1, %(n)s) AS g
        RETURNING id
        """,
        {"ws": workspace_id, "wh": webhook_id, "types": TYPES, "n": deliveries},
    )
    first = min(row[0] for row in cursor.fetchall())
    cursor.execute(
        """
        INSERT INTO deliveries_attempt
            (delivery_id, webhook_id, number, trigger, event_type, started_at, duration_ms,
             succeeded, request_method, request_url, request_headers, request_body,
             response_status, response_headers, response_body, response_truncated,
             error_kind, error_message)
        SELECT %(first)s + g %% %(d)s, %(wh)s, 1 + g / %(d)s, 'event',
               (%(types)s::text[])[1 + (g / 3) %% 5], now() - g * interval '13 seconds',
               25, g %% 20 <> 0, 'POST', 'https://receiver.example.com/hooks',
               '{"Content-Type": "application/json"}', '{"payload": {"n": ' || g || '}}',
               CASE WHEN g %% 20 = 0 THEN 500 ELSE 200 END, '{}',
               CASE WHEN g %% 20 = 0 THEN 'boom' ELSE 'ok' END, false, '', ''
        FROM generate_series(1, %(n)s) AS g
        """,
        {"first": first, "d": deliveries, "wh": webhook_id, "types": TYPES, "n": attempts},
    )


def explain(sql, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def assert_indexed(plan: str, index: str):
    assert "Seq Scan on deliveries_attempt" not in plan, plan
    assert "Seq Scan on deliveries_delivery" not in plan, plan
    assert re.search(rf"Index (Only )?Scan( Backward)? using {index}\b", plan), plan


def test_with_200_000_attempts_pages_stay_a_few_indexed_queries(
    alice_client, big_hook, django_assert_max_num_queries
):
    """One test, so the 200,000 rows are generated once (about 10 s)."""
    check_first_and_50th_page(alice_client, big_hook, django_assert_max_num_queries)
    check_every_filter_reads_an_index(big_hook)
    check_chart_and_retry_count_read_indexes(big_hook)
    check_healthz_oldest_due_skips_disabled_backlogs(big_hook)


def check_first_and_50th_page(alice_client, big_hook, django_assert_max_num_queries):
    url = f"/w/acme/settings/integrations/webhooks/{big_hook.pk}/logs/"
    assert Attempt.objects.filter(webhook=big_hook).count() == ATTEMPTS

    with django_assert_max_num_queries(8):
        first = alice_client.get(url)
    assert first.status_code == 200
    assert first.content.decode().count('class="log-row') == 50

    cursor = None
    for _ in range(49):
        cursor = logs.Cursor.decode(logs.page(big_hook.pk, logs.LogFilters(), cursor).older)
    with django_assert_max_num_queries(8):
        fiftieth = alice_client.get(url + f"?cursor={cursor.encode()}")
    html = fiftieth.content.decode()
    assert html.count('class="log-row') == 50
    # Page 50 starts 49 * 50 attempts after the newest, 13 s apart.
    newest = Attempt.objects.filter(webhook=big_hook).order_by("-started_at").first()
    first_row = int(re.search(r'data-attempt="(\d+)"', html).group(1))
    gap = newest.started_at - Attempt.objects.get(pk=first_row).started_at
    assert gap == timedelta(seconds=13 * 49 * 50)

    for label, cur in (("first", None), ("50th", cursor)):
        plan = explain(*logs.page_sql(big_hook.pk, logs.LogFilters(), cur))
        assert_indexed(plan, "attempt_log_idx")
        assert "Sort" not in plan, (label, plan)  # the index gives the order: no sort


def check_every_filter_reads_an_index(big_hook):
    plans = {
        "attempt_failed_log_idx": logs.LogFilters(result="failed"),
        "attempt_type_log_idx": logs.LogFilters(event_type="message.read"),
    }
    for index, filters in plans.items():
        assert_indexed(explain(*logs.page_sql(big_hook.pk, filters)), index)
    # Failed and one type: either index, but an index.
    both = explain(*logs.page_sql(big_hook.pk, logs.LogFilters(result="failed",
                                                                   event_type="message.read")))
    assert "Seq Scan" not in both and "Index Scan" in both, both
    # A date range a week back, a page deep.
    week = logs.LogFilters(until=timezone.now() - timedelta(days=7))
    assert_indexed(explain(*logs.page_sql(big_hook.pk, week)), "attempt_log_idx")
    # A message id: the delivery by its unique id, then its attempts.
    message_id = Delivery.objects.filter(webhook=big_hook).values_list("message_id",
                                                                       flat=True)[500]
    plan = explain(*logs.page_sql(big_hook.pk, logs.LogFilters(message_id=message_id)))
    assert "Seq Scan" not in plan and "deliveries_delivery_message_id" in plan, plan


def check_chart_and_retry_count_read_indexes(big_hook):
    from django.db.models import Count
    from django.db.models.functions import TruncHour

    since = timezone.now() - timedelta(hours=24)
    chart = (
        Attempt.objects.filter(webhook_id=big_hook.pk, started_at__gte=since)
        .exclude(trigger="test")
        .annotate(hour=TruncHour("started_at"))
        .values("hour", "succeeded")
        .annotate(n=Count("id"))
        .order_by()
    )
    plan = explain(*chart.query.sql_with_params())
    assert "Seq Scan on deliveries_attempt" not in plan, plan
    assert len(charts.hourly_counts(big_hook.pk)) == 24

    since = timezone.now() - timedelta(days=3, minutes=1)  # 2,160 deliveries, every 20th failed
    failed = recovery.failed_since(big_hook.pk, since).order_by()
    plan = explain(*failed[: recovery.COUNT_LIMIT + 1].values("id").query.sql_with_params())
    assert "delivery_failed_idx" in plan and "Seq Scan" not in plan, plan
    assert recovery.count_failed_since(big_hook.pk, since) == 108


def check_healthz_oldest_due_skips_disabled_backlogs(big_hook):
    """/healthz's oldest due delivery probes each enabled webhook on delivery_claim_idx; it
    never walks the backlog an auto-disabled webhook keeps waiting."""
    from django.test.utils import CaptureQueriesContext

    from subscriptions.models import Webhook
    from webhooks_site import health

    off = Webhook.objects.exclude(pk=big_hook.pk).get()
    Webhook.objects.filter(pk=off.pk).update(status="auto_disabled")
    with connection.cursor() as cursor:
        now = timezone.now()  # not SQL's now(): that is when the test's transaction began
        for webhook_id, rows, age in ((off.pk, 50_000, timedelta(days=3)),
                                      (big_hook.pk, 10, timedelta(seconds=90))):
            cursor.execute(
                """
                INSERT INTO deliveries_delivery
                    (workspace_id, webhook_id, event_type, message_id, status, is_test,
                     next_trigger, attempt_count, next_attempt_at, last_error, created_at)
                SELECT %s, %s, 'form.submitted', 'msg_due_' || %s || '_' || g, 'pending',
                       false, 'event', 0, %s::timestamptz + g * interval '1 ms', '', now()
                FROM generate_series(1, %s) AS g
                """,
                [big_hook.workspace_id, webhook_id, webhook_id, now - age, rows],
            )
        cursor.execute("ANALYZE deliveries_delivery")
    with CaptureQueriesContext(connection) as queries:
        assert 90 <= health.oldest_due_seconds() <= 100
    plan = explain(queries.captured_queries[0]["sql"], None)
    assert "delivery_claim_idx" in plan and "delivery_due_idx" not in plan, plan
