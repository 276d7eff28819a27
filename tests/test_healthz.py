"""/healthz: 200 when database, Redis and a worker are alive; 503 naming what is down."""

import pytest

from tests.workers import running_worker


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_healthz_is_ok_with_a_live_worker(client):
    with running_worker():
        response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True}
    assert body["redis"] == {"ok": True}
    assert body["workers"]["ok"] is True
    assert body["workers"]["count"] >= 1


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_stopped(client, settings, tmp_path):
    from webhooks_site.redis import embedded_url, start_embedded_redis

    server = start_embedded_redis(tmp_path)
    settings.REDIS_URL = embedded_url(tmp_path)
    assert client.get("/healthz").json()["redis"] == {"ok": True}

    server.shutdown()
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["redis"]["ok"] is False
    assert body["redis"]["error"]
    assert body["workers"]["ok"] is False
    assert body["database"] == {"ok": True}


@pytest.mark.django_db
def test_healthz_is_503_without_a_worker_heartbeat(client, settings, tmp_path):
    from webhooks_site.redis import embedded_url, start_embedded_redis

    server = start_embedded_redis(tmp_path)  # a Redis no worker has ever used
    settings.REDIS_URL = embedded_url(tmp_path)
    try:
        response = client.get("/healthz")
    finally:
        server.shutdown()
    body = response.json()
    assert response.status_code == 503
    assert body["workers"] == {
        "ok": False, "count": 0, "error": "No worker heartbeat in the last minute",
    }


def test_healthz_is_503_when_the_database_is_down(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise ConnectionError("could not connect to server")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    body = client.get("/healthz").json()
    assert body["database"] == {"ok": False, "error": "could not connect to server"}
    assert body["status"] == "down"
