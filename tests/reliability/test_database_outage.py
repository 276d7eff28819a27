"""PostgreSQL unreachable for a moment: the ingest API says so (503, JSON) and stores nothing
half; a worker whose connection died mid-drain carries on by itself once the database is back.

The outage is a TCP proxy on loopback in front of the machine's PostgreSQL that the test cuts
and restores; the database itself keeps running. PostgreSQL only: an SQLite file cannot become
unreachable.
"""

import contextlib
import json
import time

import pytest
from django.db import close_old_connections, connection

from deliveries.models import Delivery, Event
from tests.reliability.conftest import hook, ingest, wait_for
from tests.workers import running_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SHORT_LEASES = {"WEBHOOKS_LEASE_SECONDS": "1"}
EVENT = {"type": "form.submitted", "payload": {"formName": "Contact", "email": "a@example.com"}}


@pytest.fixture
def db_proxy(tcp_proxy):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: an SQLite file cannot become unreachable (CI runs this)")
    db = connection.settings_dict
    return tcp_proxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))


def database_url(port) -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@127.0.0.1:{port}/{db['NAME']}"


@contextlib.contextmanager
def app_through(proxy):
    """This process's database connection goes through the proxy (as a web server's would)."""
    original = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = proxy.port
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = original


def served(client, workspace, events):
    """An ingest request as a real server handles it: Django closes a broken or stale database
    connection before and after each request (its request_started and request_finished
    signals), which the test client leaves out."""
    close_old_connections()
    try:
        return ingest(client, workspace, events)
    finally:
        close_old_connections()


def run_sweeper_on_the_worker():
    """What `rqcron` does every 5 s: a sweep job, run by the worker (which must reconnect)."""
    from rq import Queue

    from webhooks_site.redis import get_connection

    Queue("default", connection=get_connection()).enqueue("deliveries.jobs.sweep")


def test_ingest_answers_503_json_and_stores_nothing_while_the_database_is_unreachable(
    client, acme, db_proxy, monkeypatch
):
    hook(acme, "https://receiver.example.com/hook")
    with app_through(db_proxy):
        assert served(client, acme, [EVENT]).status_code == 202
        db_proxy.cut()
        response = served(client, acme, [EVENT] * 3)
        assert response.status_code == 503
        assert response["Content-Type"] == "application/json"
        assert response["Retry-After"] == "5"
        assert "unavailable" in response.json()["errors"][0]["message"]

        # Cut mid-transaction: the events are inserted, then the link drops before the
        # deliveries are. The transaction never commits.
        db_proxy.restore()
        original = Delivery.objects.bulk_create

        def cut_then_insert(*args, **kwargs):
            db_proxy.cut()
            return original(*args, **kwargs)

        monkeypatch.setattr(Delivery.objects, "bulk_create", cut_then_insert)
        response = served(client, acme, [{**EVENT, "id": f"half-{n}"} for n in range(50)])
        assert response.status_code == 503
        assert response["Content-Type"] == "application/json"
        monkeypatch.undo()
        db_proxy.restore()

        # Back: accepted again, and the refused events were not kept in part.
        assert served(client, acme, [EVENT]).status_code == 202
    assert Event.objects.count() == 2
    assert not Event.objects.filter(event_id__startswith="half-").exists()
    assert Delivery.objects.count() == 2


def test_a_worker_whose_database_vanished_mid_drain_resumes_by_itself(
    client, acme, receiver, settings, db_proxy
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    server = receiver(delay=0.05)
    hook(acme, server.url(), timeout_seconds=1)
    worker_env = {"DATABASE_URL": database_url(db_proxy.port), **SHORT_LEASES}

    with running_worker(extra_env=worker_env) as worker:
        assert ingest(client, acme, [EVENT] * 100).status_code == 202
        assert wait_for(lambda: server.count() >= 10, timeout=30)
        db_proxy.cut()  # the worker's connection dies in the middle of its drain
        cut_at = server.count()
        time.sleep(2)
        assert server.count() - cut_at <= 200  # at most the chunk in flight goes on
        db_proxy.restore()

        def all_delivered():
            run_sweeper_on_the_worker()
            return not Delivery.objects.exclude(status=Delivery.Status.SUCCEEDED).exists()

        assert wait_for(all_delivered, timeout=90, interval=1.0), list(
            Delivery.objects.values_list("status", flat=True).distinct()
        )
        # The same worker process, never restarted, goes on with new work at once.
        assert worker.poll() is None
        assert ingest(client, acme, [EVENT] * 5).status_code == 202
        assert wait_for(
            lambda: not Delivery.objects.exclude(status=Delivery.Status.SUCCEEDED).exists(),
            timeout=30,
        )
    ids = {hit.webhook_id for hit in server.snapshot()}
    assert ids == set(Delivery.objects.values_list("message_id", flat=True))
    assert len(ids) == 105
    assert all(json.loads(hit.body)["payload"] == EVENT["payload"] for hit in server.snapshot())
