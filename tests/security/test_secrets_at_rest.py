"""Secrets at rest: hundreds of webhooks and connectors with known secrets go through the real
delivery path, then every place the product writes or shows data is searched for them, and no
plaintext may be found.

Why: encrypting the model fields (webhooks_site/crypto.py) is the easy half. Leaks come from
what is derived from a secret: an error message quoting a header, a job's pickled arguments, a
traceback, a log line, a session message, an admin page that renders a field. So this test
does not look at the fields; it looks at the whole database, the whole Redis database, the
logs and the pages, the way an attacker holding a backup, a Redis snapshot, a log archive or an
operator's screen would.

The secrets: connector secrets (Basic, Bearer, API key), custom header values, signing keys
(also rolled ones), the workspaces' client tokens and an API key (stored as a hash only). Each
of ours is ``S3CRET-<uuid4 hex>`` so a hit is unambiguous.

Searched, for every secret (and a Basic connector's ``user:secret`` as base64):

1. the database: ``pg_dump --data-only`` of the test database on PostgreSQL; on SQLite the
   file's raw bytes and a logical dump. Django sessions are also decoded (they are signed and
   compressed, so a dump alone could not see a secret in a flash message).
2. Redis: ``DUMP`` of every key, and every value read by its type and decoded as RQ stores
   them (zlib; base64 then zlib in result streams): job data, failed-job tracebacks.
3. logs: every logger at DEBUG through caplog, SQL with its parameters included, and the worker
   processes' output (read through /proc while they run).
4. the admin: the changelist of every registered model and change pages of its objects, and
   django-rq's pages (queues, failed jobs with their tracebacks).
5. the dashboard as the workspace admin and the management API: every GET route the URL
   resolver has under /w/<slug>/ and /api/v1/, filled with several webhooks' ids.

Where a secret is shown on purpose (REVEALS) only that kind of secret may appear there, and
those pages are checked to show it, so the search is known to work on HTML and JSON.

A worker started with another FIELD_ENCRYPTION_KEY than the one the secrets were written with
(a key rotation gone wrong) cannot decrypt them: its drain records a failed "internal" attempt
and logs the traceback in the worker's log. A job that fails outright leaves its traceback in
Redis, which is searched too. A custom header value with a character HTTP
headers cannot carry (a typographic apostrophe) is in the data set too.

Two leaks this sweep found first are pinned by tests of their own at the end of the file: an
API key pasted with a leading space was quoted whole in the delivery log's error message, and
the test inbox stored an API-key connector's secret when its header name was not one it
recognised.

Private networks are allowed here: every receiver listens on 127.0.0.1.
"""

import base64
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import uuid
import warnings
import zlib
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.urls import reverse

from deliveries.drain import drain
from deliveries.models import Attempt, Delivery
from deliveries.services import publish, send, send_test
from subscriptions import services as subscription_services
from subscriptions.models import Connector, Webhook
from tests.conftest import logged_in_client
from tests.deliveries.conftest import received
from tests.reliability.conftest import wait_for
from tests.security.routes import TENANT_PREFIXES, all_routes, fill, has_object_id
from tests.subscriptions.factories import webhook_form_data
from tests.workers import running_worker
from workspaces.models import ApiKey
from workspaces.services import roll_client_token

CONNECTOR, HEADER, SIGNING_KEY, CLIENT_TOKEN, API_KEY = (
    "connector secret",
    "header value",
    "signing key",
    "client token",
    "API key",
)
# Pages and endpoints that show a workspace admin a kind of secret on purpose. Anything else
# showing any secret is a leak; so is one of these showing another kind.
REVEALS = {
    # The edit form round-trips the custom header values (an admin edits them there).
    "w/<slug:slug>/settings/integrations/webhooks/<int:pk>/": {HEADER},
    # The ingest API's page gives admins a curl example with the client token, ready to copy
    # (members get it masked: tests/deliveries/test_views.py).
    "w/<slug:slug>/settings/integrations/api/": {CLIENT_TOKEN},
    # The API returns header values (tests/api/test_webhooks.py) and the signing key on request.
    "api/v1/webhooks": {HEADER},
    "api/v1/webhooks/<webhook_id>": {HEADER},
    "api/v1/webhooks/<webhook_id>/key": {SIGNING_KEY},
    # The Reveal buttons (POST), used below as proof that the search finds what a page shows.
    "reveal signing key": {SIGNING_KEY},
    "reveal client token": {CLIENT_TOKEN},
}

CONNECTORS = 45  # 15 of each kind
WEBHOOKS = 160
DELIVERING = 90  # the first 90 webhooks take form.submitted; the rest only sit in the database
CONTEXT = 100  # characters shown each side of a hit
FORM = {"formName": "Secrets sweep form", "email": "jane@example.com"}
NAME_MARKER = "Sweep hook"
API_KEY_HEADERS = ["X-Api-Key", "Ocp-Apim-Subscription-Key", "X-Auth"]


def make_secret() -> str:
    return f"S3CRET-{uuid.uuid4().hex}"


# --- finding secrets in bytes ------------------------------------------------------------------

# Every position where one of the secrets' shapes starts (overlapping: a lookahead), so a token
# glued to other text is still seen; percent-encoded forms included.
_CANDIDATE = re.compile(
    rb"(?=(S3CRET-[0-9a-f]{32}|whsec_[A-Za-z0-9+/=%]{20,}|(?:ct|hk)_[A-Za-z0-9_%-]{20,}))"
)


@dataclass(frozen=True)
class Secret:
    kind: str
    label: str
    value: str


@dataclass(frozen=True)
class Hit:
    where: str
    secret: Secret
    context: str

    def __str__(self):
        return f"{self.where}: {self.secret.label} ({self.secret.kind}) in …{self.context}…"


class SecretIndex:
    """The plaintext secrets, and a fast search for all of them at once."""

    def __init__(self):
        self.secrets: list[Secret] = []
        self._tokens: dict[bytes, Secret] = {}
        self._lengths: dict[bytes, set[int]] = defaultdict(set)
        self._derived: dict[bytes, Secret] = {}

    def add(self, kind: str, label: str, value: str, *, derived=()) -> Secret:
        secret = Secret(kind, label, value)
        tokens = [m.group(1) for m in _CANDIDATE.finditer(value.encode())]
        assert tokens, f"{label}: {value!r} has no recognisable token"
        for token in tokens:
            self._tokens[token] = secret
            self._lengths[token[:3]].add(len(token))
        for form in derived:
            self._derived[form.encode()] = secret
        self.secrets.append(secret)
        return secret

    def of_kind(self, kind) -> list[Secret]:
        return [s for s in self.secrets if s.kind == kind]

    def hits(self, where: str, blob: bytes | str) -> list[Hit]:
        if isinstance(blob, str):
            blob = blob.encode("utf-8", "surrogatepass")
        found = []
        for match in _CANDIDATE.finditer(blob):
            text = match.group(1)
            if b"%" in text:
                text = unquote_to_bytes(text)
            for length in self._lengths.get(text[:3], ()):
                secret = self._tokens.get(text[:length])
                if secret is not None:
                    found.append(self._hit(where, secret, blob, match.start(), length))
                    break
        for needle, secret in self._derived.items():
            start = blob.find(needle)
            if start != -1:
                found.append(self._hit(where, secret, blob, start, len(needle)))
        return found

    @staticmethod
    def _hit(where, secret, blob, start, length) -> Hit:
        around = blob[max(0, start - CONTEXT) : start + length + CONTEXT]
        text = around.decode("utf-8", "replace")
        return Hit(where, secret, re.sub(r"\s+", " ", text)[: 2 * CONTEXT + 60])


@dataclass
class Sweep:
    """Everything searched: where, what was found there, and what that place may show."""

    index: SecretIndex
    hits: list[Hit] = field(default_factory=list)
    searched: dict[str, int] = field(default_factory=dict)  # where -> bytes
    allowed: dict[str, set] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def search(self, where: str, blob, *, allowed=frozenset()) -> list[Hit]:
        blob = blob.encode("utf-8", "surrogatepass") if isinstance(blob, str) else blob
        self.searched[where] = self.searched.get(where, 0) + len(blob)
        self.allowed[where] = set(allowed)
        hits = self.index.hits(where, blob)
        self.hits.extend(hits)
        return hits

    def leaks(self) -> list[Hit]:
        return [h for h in self.hits if h.secret.kind not in self.allowed.get(h.where, set())]

    def found(self, where_prefix: str, secret: Secret) -> bool:
        return any(h.where.startswith(where_prefix) and h.secret == secret for h in self.hits)

    def report(self, leaks: list[Hit]) -> str:
        by_place = defaultdict(list)
        for hit in leaks:
            by_place[hit.where.split(" [")[0]].append(hit)
        lines = [f"{len(leaks)} plaintext secret(s) found in {len(by_place)} place(s):"]
        for hits in by_place.values():
            lines += [f"  {hit}" for hit in hits[:3]]
            if len(hits) > 3:
                lines.append(f"  ... and {len(hits) - 3} more there")
        return "\n".join(lines[:80])


# --- what is searched --------------------------------------------------------------------------


def database_dump(sweep: Sweep) -> bytes | None:
    """The whole test database as a backup would hold it, plus the decoded sessions. Returns
    the logical dump (None when there is none), for the checks that it holds the data set."""
    from django.contrib.sessions.models import Session

    db = connection.settings_dict
    dump = None
    if connection.vendor == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            sweep.notes.append("pg_dump is not installed: the PostgreSQL dump was not searched")
        else:
            env = dict(os.environ)
            if db.get("PASSWORD"):
                env["PGPASSWORD"] = str(db["PASSWORD"])
            command = [
                pg_dump,
                "--data-only",
                "--no-owner",
                "--host",
                str(db.get("HOST") or "127.0.0.1"),
                "--port",
                str(db.get("PORT") or 5432),
                "--username",
                str(db["USER"]),
                str(db["NAME"]),
            ]
            done = subprocess.run(command, capture_output=True, env=env, timeout=120, check=False)
            assert done.returncode == 0, done.stderr.decode(errors="replace")
            dump = done.stdout
            sweep.search("PostgreSQL dump (pg_dump --data-only)", dump)
    elif connection.vendor == "sqlite":
        name = str(db["NAME"])
        path = Path(name)
        if name == ":memory:" or "mode=memory" in name or not path.is_file():
            sweep.notes.append(f"SQLite database {name!r} is not a file: raw bytes not searched")
        else:
            for suffix in ("", "-wal", "-journal"):
                part = Path(name + suffix)
                if part.is_file():
                    sweep.search(f"SQLite file {part.name} (raw bytes)", part.read_bytes())
        connection.ensure_connection()
        dump = "\n".join(connection.connection.iterdump()).encode()
        sweep.search("SQLite dump (iterdump)", dump)
    else:
        sweep.notes.append(f"no dump for a {connection.vendor} database")
    sessions = [json.dumps(s.get_decoded(), default=str) for s in Session.objects.all()]
    sweep.search("Django sessions (decoded)", "\n".join(sessions))
    return dump


def _decoded(value: bytes) -> list[bytes]:
    """The value, and what RQ hides in it: zlib (job data, exc_info) or base64 then zlib
    (exc_string in result streams)."""
    views = [value]
    with suppress(zlib.error):
        views.append(zlib.decompress(value))
    with suppress(ValueError, zlib.error):
        views.append(zlib.decompress(base64.b64decode(value, validate=True)))
    return views


def redis_dump(sweep: Sweep, label: str) -> bytes:
    """Every key of the tests' Redis database: its DUMP, and its values decoded. Returns the
    decoded values, for the checks that the search sees inside RQ's compressed fields."""
    from webhooks_site.redis import get_connection

    conn = get_connection()
    decoded_all = []
    keys = sorted(conn.scan_iter(count=1000))
    for key in keys:
        name = key.decode(errors="replace")
        raw = conn.dump(key)
        if raw is None:
            continue  # expired meanwhile
        sweep.search(f"Redis DUMP {label} [{name}]", raw)
        kind = conn.type(key).decode()
        if kind == "string":
            values = [conn.get(key) or b""]
        elif kind == "hash":
            values = [item for pair in conn.hgetall(key).items() for item in pair]
        elif kind == "list":
            values = conn.lrange(key, 0, -1)
        elif kind == "set":
            values = list(conn.smembers(key))
        elif kind == "zset":
            values = conn.zrange(key, 0, -1)
        elif kind == "stream":
            values = [
                item for _id, fields in conn.xrange(key) for pair in fields.items() for item in pair
            ]
        else:
            values = []
        decoded = b"\n".join(view for value in values for view in _decoded(value))
        sweep.search(f"Redis {label} [{name}] ({kind}, decoded)", decoded)
        decoded_all.append(key + b"\n" + decoded)
    assert keys, f"the Redis database is empty ({label}): nothing was searched"
    return b"\n".join(decoded_all)


def worker_output(proc) -> bytes | None:
    """What the worker printed so far. tests/workers.py writes it to an unlinked temporary
    file; Linux still opens it through /proc while the process lives."""
    try:
        return Path(f"/proc/{proc.pid}/fd/1").read_bytes()
    except OSError:
        return None


def fetch(client, url, *, method="GET", **extra):
    response = client.generic(method, url, **extra) if method != "GET" else client.get(url)
    assert response.status_code < 500, f"{method} {url} answered {response.status_code}"
    return response.content


def fetch_routes(sweep: Sweep, client, prefix: str, label: str, samples: list[dict]) -> None:
    """GET every route under ``prefix``: those without an object id once, the others once per
    sample (a dict of ids, as tests/security/routes.fill takes them)."""
    for route in all_routes():
        if not route.startswith(prefix):
            continue
        allowed = REVEALS.get(route, set())
        for objects in samples if has_object_id(route) else samples[:1]:
            url = fill(route, objects)
            sweep.search(f"{label} GET {route} [{url}]", fetch(client, url), allowed=allowed)


# --- receivers -------------------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on: connection refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def received_text(httpserver) -> str:
    return "\n".join(
        f"{request.method} {request.full_path}\n"
        + "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        for request in received(httpserver)
    )


# --- the data set ------------------------------------------------------------------------------


@dataclass
class DataSet:
    index: SecretIndex
    connectors: list[Connector]
    webhooks: list[Webhook]
    api_key: str
    crashing: Webhook  # its header value cannot be sent over HTTP


def create_connectors(index, acme, alice_client, api) -> list[Connector]:
    """Through every door: the dashboard form, the management API, and the ORM as the factories
    do (there is no service function for connectors)."""
    connectors = []
    for i in range(CONNECTORS):
        kind = [Connector.Kind.BASIC, Connector.Kind.BEARER, Connector.Kind.API_KEY][i % 3]
        fields = {
            "name": f"Sweep connector {i:02d}",
            "kind": kind,
            "username": f"svc-{i}" if kind == Connector.Kind.BASIC else "",
            "header_name": API_KEY_HEADERS[i % 3] if kind == Connector.Kind.API_KEY else "",
            "secret": make_secret(),
        }
        if i < 3:
            response = alice_client.post("/w/acme/settings/integrations/connectors/new/", fields)
            assert response.status_code == 302, response.content.decode()[:2000]
        elif i < 6:
            response = api.post(
                "/api/v1/connectors", json.dumps(fields), content_type="application/json"
            )
            assert response.status_code == 201, response.content
        else:
            Connector.objects.create(workspace=acme, **fields)
        connector = Connector.objects.get(workspace=acme, name=fields["name"])
        assert connector.secret == fields["secret"]
        derived = []
        if kind == Connector.Kind.BASIC:
            derived = [
                base64.b64encode(f"{connector.username}:{connector.secret}".encode()).decode()
            ]
        index.add(
            CONNECTOR, f"connector {connector.name} ({kind})", connector.secret, derived=derived
        )
        connectors.append(connector)
    return connectors


def create_webhooks(index, acme, alice_client, api, connectors, urls) -> tuple[list, Webhook]:
    """Webhooks 0-1 through the dashboard form, 2-3 through the API, the rest through
    subscriptions.services.create_webhook. The first DELIVERING take form.submitted."""
    webhooks = []
    crashing = None
    formats = ["default", "raw", "xml", "slack"]
    for i in range(WEBHOOKS):
        delivering = i < DELIVERING
        if not delivering:
            url = urls["ok"]
        elif i % 10 == 3:
            url = urls["fail"]
        elif i % 10 == 7:
            url = urls["refused"]
        else:
            url = urls["ok"]
        connector = connectors[i % CONNECTORS] if (i < CONNECTORS or not delivering) else None
        headers = [("X-Team-Token", make_secret())]
        if i % 2 == 0:
            headers.append(("X-Tenant-Key", make_secret()))
        if i == 88:
            # Pasted from a document: a typographic apostrophe, which HTTP headers cannot carry.
            headers.append(("X-Note", f"Zoë’s token {make_secret()}"))
        name = f"{NAME_MARKER} {i:03d}"
        topics = ["form.submitted"] if delivering else ["content.viewed"]
        if i < 2:
            data = webhook_form_data(
                name=name,
                url=url,
                topics=topics,
                connector=str(connector.pk) if connector else "",
                header_name=[n for n, _ in headers] + [""],
                header_value=[v for _, v in headers] + [""],
            )
            response = alice_client.post("/w/acme/settings/integrations/webhooks/new/", data)
            assert response.status_code == 302, response.content.decode()[:3000]
            webhook = Webhook.objects.get(workspace=acme, name=name)
        elif i < 4:
            body = {
                "name": name,
                "url": url,
                "topics": topics,
                "headers": [{"name": n, "value": v} for n, v in headers],
                "connector": connector.pk if connector else None,
            }
            response = api.post(
                "/api/v1/webhooks", json.dumps(body), content_type="application/json"
            )
            assert response.status_code == 201, response.content
            webhook = Webhook.objects.get(pk=response.json()["id"])
        else:
            webhook = subscription_services.create_webhook(
                Webhook(
                    workspace=acme,
                    name=name,
                    url=url,
                    topics=topics,
                    connector=connector,
                    method=Webhook.Method.GET if i % 10 == 9 else Webhook.Method.POST,
                    format=formats[i % 4],
                    mode=Webhook.Mode.BATCHED if i in (11, 12) else Webhook.Mode.SINGLE,
                    timeout_seconds=5,
                ),
                headers,
            )
        assert sorted(webhook.header_dict().items()) == sorted(headers)
        for n, v in headers:
            index.add(HEADER, f"header {n} of {name}", v)
        if i in (0, 1, 2):
            # Rolled keys: two still sign (24 h grace), one was replaced outright.
            old = webhook.current_key().secret
            subscription_services.rotate_signing_key(webhook, grace_hours=24 if i < 2 else 0)
            index.add(SIGNING_KEY, f"rolled signing key of {name}", old)
        index.add(SIGNING_KEY, f"signing key of {name}", webhook.current_key().secret)
        if i == 88:
            crashing = webhook
        webhooks.append(webhook)
    return webhooks, crashing


# --- the sweep ---------------------------------------------------------------------------------


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@dataclass
class Logs:
    caplog: pytest.LogCaptureFixture
    sql: _Lines

    @property
    def text(self) -> str:
        return self.caplog.text + "\n" + "\n".join(self.sql.lines)


@pytest.fixture
def all_logs(caplog, transactional_db):
    """Every logger at DEBUG (caplog), and every query of this process with its parameters:
    what reaches the database. The queries go to a handler of their own, so a failure report
    is not thousands of lines of SQL. Not django.template: at DEBUG it logs a page's whole
    context when a variable is missing, which production (the "django" logger at INFO) never
    emits; the pages themselves are searched."""
    from django.db import connections

    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.INFO, logger="django.template")
    sql_logger = logging.getLogger("django.db.backends")
    sql = _Lines()
    saved = (sql_logger.level, sql_logger.propagate)
    sql_logger.addHandler(sql)
    sql_logger.setLevel(logging.DEBUG)
    sql_logger.propagate = False
    default = connections["default"]
    before = default.force_debug_cursor
    default.force_debug_cursor = True
    yield Logs(caplog, sql)
    default.force_debug_cursor = before
    sql_logger.removeHandler(sql)
    sql_logger.setLevel(saved[0])
    sql_logger.propagate = saved[1]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_no_secret_is_found_in_plaintext_in_the_database_redis_logs_admin_dashboard_or_api(
    acme, globex, alice, alice_client, admin_client, httpserver, settings, all_logs
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True

    httpserver.expect_request("/ok").respond_with_data("thanks")
    httpserver.expect_request("/fail").respond_with_data("upstream exploded", status=500)
    urls = {
        "ok": httpserver.url_for("/ok"),
        "fail": httpserver.url_for("/fail"),
        "refused": f"http://127.0.0.1:{closed_port()}/hook",
    }

    index = SecretIndex()
    old_token = acme.client_token
    roll_client_token(acme)
    index.add(CLIENT_TOKEN, "Acme's client token, rolled", old_token)
    index.add(CLIENT_TOKEN, "Acme's client token", acme.client_token)
    index.add(CLIENT_TOKEN, "Globex's client token", globex.client_token)
    _, key = ApiKey.issue(acme, "Secrets sweep", created_by=alice)
    index.add(API_KEY, "Acme's API key", key)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    connectors = create_connectors(index, acme, alice_client, api)
    webhooks, crashing = create_webhooks(index, acme, alice_client, api, connectors, urls)
    assert len(connectors) + len(webhooks) >= 200

    # Events come in through the ingest API with the client token, as the product's are.
    response = Client().post(
        "/api/v1/events",
        data=json.dumps([{"type": "form.submitted", "payload": FORM}] * 2),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {acme.client_token}",
    )
    assert response.status_code == 202, response.content
    test_delivery = send_test(webhooks[4], "form.submitted")

    sweep = Sweep(index)
    expected = {w.pk for w in webhooks[:DELIVERING] if w != crashing}

    from rq import Queue
    from rq.job import Job
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    from webhooks_site.redis import get_connection

    queue = Queue("default", connection=get_connection())
    failed = FailedJobRegistry(queue=queue)
    started_jobs = StartedJobRegistry(queue=queue)

    def delivered():
        attempted = set(Attempt.objects.values_list("webhook_id", flat=True).distinct())
        return (
            expected <= attempted
            and queue.count == 0
            and started_jobs.count == 0
            and Attempt.objects.filter(delivery=test_delivery).exists()
        )

    worker_logs = {}  # label -> (output, what it must show)
    with running_worker(extra_env={"LOG_LEVEL": "DEBUG"}) as proc:
        assert wait_for(delivered, timeout=60), (
            f"not delivered in time: {len(expected)} webhooks expected, "
            f"{Attempt.objects.values('webhook_id').distinct().count()} attempted"
        )
        redis_dump(sweep, "with the worker running")
        worker_logs["worker"] = (worker_output(proc), b"attempt message_id=")

    # A worker started with a FIELD_ENCRYPTION_KEY the secrets were not written with: its drain
    # cannot decrypt them, records an "internal" failed attempt and logs the traceback. And a
    # job that fails outright, so a failed job's traceback (kept in Redis) is searched too.
    failed_before = failed.count
    sent = send(webhooks[5], "form.submitted", FORM)
    queue.enqueue(fail_with_marker, result_ttl=0, failure_ttl=3600)
    from cryptography.fernet import Fernet

    wrong_key = {"LOG_LEVEL": "DEBUG", "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    with running_worker(extra_env=wrong_key) as proc:
        failed_more = wait_for(
            lambda: failed.count > failed_before
            and Attempt.objects.filter(delivery=sent, error_kind="internal").exists(),
            timeout=60,
        )
        assert failed_more, "no internal-error attempt, or the failing job did not fail"
        worker_logs["worker with the wrong key"] = (worker_output(proc), b"cannot be decrypted")

    # What the receivers got: the connectors' credentials (proof that delivery used them).
    got = received_text(httpserver)
    sweep.search("the receiver's requests", got, allowed={CONNECTOR, HEADER})
    for webhook in webhooks[:CONNECTORS]:
        if webhook.url == urls["refused"]:
            continue
        secret = next(s for s in index.of_kind(CONNECTOR) if s.value == webhook.connector.secret)
        assert sweep.found("the receiver's requests", secret), f"{secret.label} never sent"

    # The dashboard, as Acme's admin: the Test connection button, the Reveal buttons, then every
    # page, for a few webhooks (a connector of each kind, a 500, a refused one, a test delivery).
    for webhook in (webhooks[3], webhooks[7]):
        url = f"/w/acme/settings/integrations/webhooks/{webhook.pk}/test-connection/"
        sweep.search(f"dashboard POST {url}", fetch(alice_client, url, method="POST"))
    reveal = f"/w/acme/settings/integrations/webhooks/{webhooks[0].pk}/signing-key/reveal/"
    revealed = alice_client.post(reveal, HTTP_HX_REQUEST="true").content
    sweep.search("reveal signing key", revealed, allowed=REVEALS["reveal signing key"])
    reveal = "/w/acme/settings/workspace/access-keys/client-token/reveal/"
    revealed = alice_client.post(reveal, HTTP_HX_REQUEST="true").content
    sweep.search("reveal client token", revealed, allowed=REVEALS["reveal client token"])

    api_key_row = ApiKey.objects.get(workspace=acme)
    samples = []
    for webhook, attempt in [
        (webhooks[4], Attempt.objects.filter(delivery=test_delivery).first()),
        (webhooks[3], Attempt.objects.filter(webhook=webhooks[3]).first()),  # 500
        (webhooks[7], Attempt.objects.filter(webhook=webhooks[7]).first()),  # refused
        (webhooks[5], Attempt.objects.filter(webhook=webhooks[5]).first()),  # an API key one
    ]:
        delivery = attempt.delivery
        ids = {
            "webhooks": webhook.pk,
            "connectors": webhook.connector_id,
            "api-keys": api_key_row.pk,
            "deliveries": delivery.pk,
            "attempts": attempt.pk,
        }
        samples.append(
            {
                "by_name": {
                    "slug": "acme",
                    "webhook_id": webhook.pk,
                    "connector_id": webhook.connector_id,
                    "delivery_id": test_delivery.pk,
                    "attempt_id": attempt.pk,
                    "job_key": "job",
                    "token": "x",
                    "subpath": "x",
                    "campaign_id": "1",
                    "step_id": 1,
                },
                "by_segment": ids,
                "api_delivery": delivery,
            }
        )
    fetch_routes(sweep, alice_client, TENANT_PREFIXES[0], "dashboard", samples)
    fetch_routes(sweep, api, TENANT_PREFIXES[1], "API", samples)
    for path in ("/webhooks", "/connectors"):  # every object, page by page
        url = f"/api/v1{path}?limit=100"
        while url:
            page = api.get(url).json()
            sweep.search(
                f"API GET api/v1{path} [{url}]",
                json.dumps(page),
                allowed=REVEALS.get(f"api/v1{path}", set()),
            )
            url = page["next"] and f"/api/v1{path}?limit=100&cursor={page['next_cursor']}"

    # The admin, as a superuser: every registered model, and django-rq's pages.
    for model in admin.site._registry:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        sweep.search(f"admin GET {changelist}", fetch(admin_client, changelist))
        if not opts.managed:
            continue  # django-rq's dashboard entry: no table, no objects
        pks = list(model._default_manager.order_by("pk").values_list("pk", flat=True))
        extras = {
            Webhook: [w.pk for w in (webhooks[0], webhooks[1], webhooks[5], crashing)],
            Connector: [c.pk for c in connectors[:3]],
            Attempt: [s["by_segment"]["attempts"] for s in samples],
            Delivery: [s["by_segment"]["deliveries"] for s in samples],
        }.get(model, [])
        for pk in dict.fromkeys(pks[:1] + pks[-1:] + extras):
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
            sweep.search(f"admin GET {change}", fetch(admin_client, change))
    rq_pages = [
        "/admin/rq/",
        "/admin/rq/queues/0/",
        "/admin/rq/queues/0/failed/",
        "/admin/rq/queues/0/finished/",
        "/admin/rq/workers/0/",
    ]
    for job in Job.fetch_many(failed.get_job_ids(), connection=queue.connection):
        rq_pages.append(f"/admin/rq/queues/0/{job.id}/")
        rq_pages += [f"/admin/rq/queues/0/{job.id}/results/{r.id}/" for r in job.results()]
    for url in rq_pages:
        sweep.search(f"admin GET {url}", fetch(admin_client, url))

    # At rest: the database and Redis, after everything above.
    dump = database_dump(sweep)
    redis_decoded = redis_dump(sweep, "at the end")

    # Logs: this process's (SQL included) and the workers'.
    sweep.search("application logs (caplog, DEBUG, all loggers)", all_logs.text)
    for label, (output, _) in worker_logs.items():
        if output is None:
            sweep.notes.append(f"the {label}'s output could not be read (no /proc here)")
        else:
            sweep.search(f"{label} output", output)

    # The search can fail: it sees what is meant to be seen, in each kind of place.
    first_key = next(
        s for s in index.of_kind(SIGNING_KEY) if s.value == webhooks[0].current_key().secret
    )
    assert sweep.found("reveal signing key", first_key)
    assert any(
        h.where == "reveal client token" and h.secret.kind == CLIENT_TOKEN for h in sweep.hits
    )
    header = next(s for s in index.of_kind(HEADER) if s.label.endswith(webhooks[4].name))
    assert sweep.found(
        "dashboard GET w/<slug:slug>/settings/integrations/webhooks/<int:pk>/", header
    ), "the edit form's header values were not found: search broken?"
    assert sweep.found(
        "API GET api/v1/webhooks/<webhook_id>/key",
        next(s for s in index.of_kind(SIGNING_KEY) if s.value == webhooks[4].current_key().secret),
    )
    connector_list = reverse("admin:subscriptions_connector_changelist")
    assert connectors[0].masked_secret.encode() in fetch(admin_client, connector_list)
    assert b"fail_with_marker(" in redis_decoded, "the job data was not read"
    assert FAILED_JOB_MARKER.encode() in redis_decoded, "the failed job's traceback was not read"
    assert "INSERT INTO" in all_logs.text and "gAAAAA" in all_logs.text, "SQL was not logged"
    if dump is not None:
        assert NAME_MARKER.encode() in dump, "the webhooks are not in the database dump"
        assert b"gAAAAA" in dump, "no Fernet ciphertext in the database dump"
    for label, (output, marker) in worker_logs.items():
        assert output is None or marker in output, f"the {label}'s output lacks {marker!r}"

    for note in sweep.notes:
        warnings.warn(note, stacklevel=1)
    leaks = sweep.leaks()
    assert not leaks, sweep.report(leaks)


# --- leaks this sweep found, each pinned by a test of its own ----------------------


FAILED_JOB_MARKER = "a job failed on purpose"


def fail_with_marker():
    """Run by the worker: a failed job, whose traceback RQ keeps in Redis."""
    raise RuntimeError(FAILED_JOB_MARKER)


def rows_of(*querysets) -> str:
    return "\n".join(json.dumps(list(qs.values()), default=str) for qs in querysets)


@pytest.mark.django_db
def test_a_connector_secret_the_http_layer_refuses_is_not_quoted_in_the_delivery_log(
    acme, alice, alice_client, admin_client, httpserver, settings
):
    """An API key pasted with a leading space (copied from a web page) cannot be sent in a
    header: requests refuses it, with a message quoting the whole value. The connector form
    now refuses it next to the field; one stored before that rule (made here through the ORM)
    fails each attempt as "Invalid header" naming the header, never its value, wherever the
    error is stored (Attempt.error_message, Delivery.last_error, Webhook.last_error) and
    shown (logs pages, API, admin, Test connection)."""
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    httpserver.expect_request("/hook").respond_with_data("ok")
    index = SecretIndex()
    secret = " " + make_secret()
    index.add(CONNECTOR, "an API key pasted with a leading space", secret)
    form = {"name": "CRM key", "kind": "api_key", "header_name": "X-Api-Key", "secret": secret}
    response = alice_client.post("/w/acme/settings/integrations/connectors/new/", form)
    assert response.status_code == 400
    assert "The API key cannot start or end with a space" in response.content.decode()
    assert not Connector.objects.filter(name="CRM key").exists()
    connector = Connector.objects.create(
        workspace=acme, name="CRM key", kind="api_key", header_name="X-Api-Key", secret=secret
    )
    webhook = subscription_services.create_webhook(
        Webhook(
            workspace=acme,
            name="CRM hook",
            url=httpserver.url_for("/hook"),
            topics=["form.submitted"],
            connector=connector,
        )
    )
    publish(acme, "form.submitted", FORM)
    drain(webhook.pk)
    attempt = Attempt.objects.get(webhook=webhook)
    assert attempt.error_kind == "invalid_header" and not received(httpserver)
    assert "X-Api-Key" in attempt.error_message

    sweep = Sweep(index)
    sweep.search("database rows", rows_of(Attempt.objects, Delivery.objects, Webhook.objects))
    hooks = "/w/acme/settings/integrations/webhooks/"
    _, key = ApiKey.issue(acme, "k")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    for label, client, url in [
        ("dashboard", alice_client, hooks),
        ("dashboard", alice_client, f"{hooks}{webhook.pk}/logs/"),
        ("dashboard", alice_client, f"{hooks}{webhook.pk}/logs/{attempt.pk}/"),
        ("API", api, f"/api/v1/attempts/{attempt.pk}"),
        ("API", api, f"/api/v1/deliveries/{attempt.delivery_id}"),
        ("admin", admin_client, f"/admin/deliveries/attempt/{attempt.pk}/change/"),
        ("admin", admin_client, f"/admin/subscriptions/webhook/{webhook.pk}/change/"),
    ]:
        sweep.search(f"{label} GET {url}", fetch(client, url))
    url = f"{hooks}{webhook.pk}/test-connection/"
    sweep.search(f"dashboard POST {url}", fetch(alice_client, url, method="POST"))
    leaks = sweep.leaks()
    assert not leaks, sweep.report(leaks)


@pytest.mark.django_db(transaction=True)
def test_the_test_inbox_masks_a_connector_secret_whatever_header_carries_it(
    acme, alice, bob, live_server, admin_client, settings, monkeypatch
):
    """The test inbox promises that "members may read the inbox but must not learn a
    connector's password or token from it" (inbox/services.py). It masks Authorization and
    header names containing token, secret, password or api-key; an API-key connector may use
    any header name, such as Azure API Management's Ocp-Apim-Subscription-Key. The demo
    webhook points at the inbox, so this is where users try their connectors out."""
    from inbox.models import Inbox, InboxRequest
    from inbox.services import receive_path

    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    index = SecretIndex()
    secret = make_secret()
    index.add(CONNECTOR, "API key in Ocp-Apim-Subscription-Key", secret)
    connector = Connector.objects.create(
        workspace=acme,
        name="Azure",
        kind=Connector.Kind.API_KEY,
        header_name="Ocp-Apim-Subscription-Key",
        secret=secret,
    )
    inbox = Inbox.for_workspace(acme)
    webhook = subscription_services.create_webhook(
        Webhook(
            workspace=acme,
            name="Try it",
            url=live_server.url + receive_path(inbox),
            topics=["form.submitted"],
            connector=connector,
        )
    )
    # The drain's keep-alive session of its own, closed after: an open connection would keep
    # a live server thread, and its database connection, alive past the test.
    from deliveries import drain as drain_module

    monkeypatch.setattr(drain_module, "_session", None)
    publish(acme, "form.submitted", FORM)
    drain(webhook.pk)
    drain_module._session.close()
    assert Attempt.objects.get(webhook=webhook).response_status == 200
    assert InboxRequest.objects.count() == 1

    sweep = Sweep(index)
    sweep.search("database rows", rows_of(InboxRequest.objects))
    inbox_page = "/w/acme/settings/integrations/test-inbox/"
    sweep.search(
        f"dashboard (bob, a member) GET {inbox_page}", fetch(logged_in_client(bob), inbox_page)
    )
    request_page = f"/admin/inbox/inboxrequest/{InboxRequest.objects.get().pk}/change/"
    sweep.search(f"admin GET {request_page}", fetch(admin_client, request_page))
    leaks = sweep.leaks()
    assert not leaks, sweep.report(leaks)
