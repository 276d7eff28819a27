"""What the test inbox does: its public URL, storing what it receives, checking signatures.

The receive view parses the HTTP request and calls ``record_request``; the dashboard views
call ``set_response_status`` and ``clear``. The delivery engine and the demo data only need
``inbox_url``.
"""

from collections.abc import Mapping
from datetime import datetime

from django.conf import settings
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils import timezone

from deliveries.signing import (
    HEADER_HEX_SIGNATURE,
    HEADER_SIGNATURE,
    SIGNATURE_HEADER_NAMES,
    verify_hex_signature,
    verify_standard,
)
from inbox.models import KEEP_REQUESTS, MAX_STORED_BODY_BYTES, Inbox, InboxRequest
from subscriptions.models import SigningKey, Webhook
from webhooks_site.crypto import mask
from workspaces.models import Workspace

# Headers whose values are credentials. The inbox shows them masked, as the delivery logs do:
# members may read the inbox but must not learn a connector's password or token from it.
_SECRET_HEADER_NAMES = frozenset({"authorization", "proxy-authorization", "cookie"})
_SECRET_HEADER_WORDS = ("token", "secret", "password", "api-key", "apikey", "api_key")
_SIGNATURE_HEADERS_LOWER = frozenset(name.lower() for name in SIGNATURE_HEADER_NAMES)
_OWN_HEADERS = frozenset(
    {"host", "content-length", "content-type", "user-agent", "accept", "accept-encoding",
     "connection"}
)

State = InboxRequest.SignatureState


def inbox_url(workspace: Workspace) -> str:
    """The absolute URL of the workspace's test inbox (created on first use), e.g.
    ``https://hooks.example.com/inbox/<token>/``. Built on ``settings.SITE_URL``."""
    inbox = Inbox.for_workspace(workspace)
    return settings.SITE_URL.rstrip("/") + receive_path(inbox)


def receive_path(inbox: Inbox) -> str:
    return reverse("inbox_receive", kwargs={"token": inbox.token})


def _is_secret_header(name: str) -> bool:
    lower = name.lower()
    if lower in _SIGNATURE_HEADERS_LOWER:
        return False  # signatures are not secrets and are what the user came to check
    return lower in _SECRET_HEADER_NAMES or any(word in lower for word in _SECRET_HEADER_WORDS)


def _clean_text(value: str) -> str:
    # PostgreSQL refuses NUL in text and JSON; a receiver must not crash on a stray one.
    return value.replace("\x00", "\ufffd")


def stored_headers(
    headers: Mapping[str, str], secret_values: frozenset[str] = frozenset()
) -> dict[str, str]:
    """The headers as stored and shown: credentials masked, NUL characters replaced.

    A header is a credential by its name (Authorization, X-Api-Token...) or by its value:
    one of ``secret_values``, what the workspace's connectors and custom headers send, since
    an API-key connector or a custom header may use any name."""

    def secret(name, value):
        if _is_secret_header(name):
            return True
        # The headers the webhook sets itself never carry a credential (and a custom header
        # whose value happens to be "1" must not mask Content-Length).
        own = name.lower() in _OWN_HEADERS or name.lower() in _SIGNATURE_HEADERS_LOWER
        return not own and value.strip() in secret_values

    return {
        _clean_text(name): mask(value) if secret(name, value) else _clean_text(value)
        for name, value in headers.items()
    }


def workspace_header_secrets(workspace_id: int) -> frozenset[str]:
    """The header values the workspace's connectors and custom headers send (decrypted)."""
    from subscriptions.models import Connector, WebhookHeader

    values = set()
    for connector in Connector.objects.filter(workspace_id=workspace_id):
        values.update(connector.auth_headers().values())
    for header in WebhookHeader.objects.filter(webhook__workspace_id=workspace_id):
        values.add(header.value)
    return frozenset(value.strip() for value in values if value and value.strip())


def has_signature_headers(headers: Mapping[str, str]) -> bool:
    names = {name.lower() for name in headers}
    return HEADER_SIGNATURE in names or HEADER_HEX_SIGNATURE.lower() in names


def check_signatures(
    workspace_id: int, body: bytes, headers: Mapping[str, str], now: datetime
) -> list[dict]:
    """Verify ``body`` against every live webhook of the workspace, with each key valid at
    ``now`` (so during a key's grace period either key verifies). Two queries in all."""
    hex_value = next(
        (value for name, value in headers.items() if name.lower() == HEADER_HEX_SIGNATURE.lower()),
        None,
    )
    # The same keys as Webhook.valid_keys(now), fetched for all webhooks at once.
    valid_keys = SigningKey.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    webhooks = (
        Webhook.objects.live()
        .filter(workspace_id=workspace_id)
        .only("id", "name")
        .prefetch_related(Prefetch("signing_keys", queryset=valid_keys, to_attr="keys_now"))
    )
    results = []
    for webhook in webhooks:
        keys = [key.secret for key in webhook.keys_now]
        results.append(
            {
                "webhook_id": webhook.pk,
                "webhook_name": webhook.name,
                "standard": any(verify_standard(body, headers, key, now=now) for key in keys),
                "hex": any(verify_hex_signature(body, key, hex_value) for key in keys),
            }
        )
    return results


def signature_state(signed: bool, check: list[dict]) -> str:
    if not signed:
        return State.UNSIGNED
    if any(entry["standard"] and entry["hex"] for entry in check):
        return State.VERIFIED
    if any(entry["standard"] or entry["hex"] for entry in check):
        return State.PARTIAL
    return State.MISMATCH


def record_request(
    inbox: Inbox,
    *,
    method: str,
    path: str,
    query_string: str,
    headers: Mapping[str, str],
    body: bytes | None,
    body_size: int,
    content_type: str,
    remote_addr: str | None,
    answered_status: int,
) -> InboxRequest:
    """Store one received request with its signature check, then prune the inbox.

    ``body`` is None when the request was refused before its body was read (too large): it
    is recorded so the user sees it, with ``body_size`` the announced length and no check.
    """
    now = timezone.now()
    signed = has_signature_headers(headers)
    if body is None:
        check, state = [], State.NOT_CHECKED if signed else State.UNSIGNED
    else:
        check = check_signatures(inbox.workspace_id, body, headers, now) if signed else []
        state = signature_state(signed, check)
    stored_body = (body or b"")[:MAX_STORED_BODY_BYTES]
    received = InboxRequest.objects.create(
        inbox=inbox,
        received_at=now,
        method=method[:16],
        path=_clean_text(path),
        query_string=_clean_text(query_string),
        headers=stored_headers(headers, workspace_header_secrets(inbox.workspace_id)),
        content_type=_clean_text(content_type)[:255],
        body=_clean_text(stored_body.decode("utf-8", errors="replace")),
        body_size=body_size,
        body_truncated=body is not None and len(body) > MAX_STORED_BODY_BYTES,
        remote_addr=remote_addr,
        signature_state=state,
        signature_check=check,
        answered_status=answered_status,
    )
    prune_requests(inbox)
    return received


def prune_requests(inbox: Inbox, keep: int = KEEP_REQUESTS) -> int:
    """Delete all but the newest ``keep`` requests of the inbox; return how many went.

    Cheap enough for every receive: one lookup of the first row past the limit along the
    (inbox, -received_at) index, and a DELETE only when there is such a row.
    """
    recent = InboxRequest.objects.filter(inbox=inbox).order_by("-received_at", "-id")
    past_limit = list(recent.values("received_at", "id")[keep : keep + 1])
    if not past_limit:
        return 0
    cutoff = past_limit[0]
    older = Q(received_at__lt=cutoff["received_at"]) | Q(
        received_at=cutoff["received_at"], id__lte=cutoff["id"]
    )
    deleted, _ = InboxRequest.objects.filter(older, inbox=inbox).delete()
    return deleted


def set_response_status(inbox: Inbox, status: int) -> Inbox:
    """Choose the status the inbox answers with. Raises ValueError for one it cannot answer."""
    if status not in Inbox.ResponseStatus.values:
        raise ValueError(f"The test inbox cannot answer with status {status}.")
    inbox.response_status = status
    inbox.save(update_fields=["response_status"])
    return inbox


def clear(inbox: Inbox) -> int:
    """Delete every request the inbox holds; return how many."""
    deleted, _ = inbox.requests.all().delete()
    return deleted
