"""Tiny factories for webhook tests: sensible defaults, override what the test is about."""

from subscriptions import services
from subscriptions.models import Connector, Webhook

_counter = iter(range(1, 10**6))


def make_webhook(workspace, *, headers=None, **overrides) -> Webhook:
    """A saved, enabled webhook with a signing key (as the form creates them)."""
    fields = {
        "name": f"Webhook {next(_counter)}",
        "url": "https://receiver.example.com/hook",
        "topics": ["content.viewed"],
    }
    fields.update(overrides)
    return services.create_webhook(Webhook(workspace=workspace, **fields), headers or [])


def make_connector(workspace, **overrides) -> Connector:
    fields = {
        "name": f"Connector {next(_counter)}",
        "kind": Connector.Kind.BEARER,
        "secret": "tok_live_0123456789abcdef",
    }
    fields.update(overrides)
    return Connector.objects.create(workspace=workspace, **fields)


def webhook_form_data(**overrides) -> dict:
    """What the New webhook form posts when filled in correctly (two blank header rows)."""
    data = {
        "name": "Orders hook",
        "url": "https://receiver.example.com/hook",
        "method": "POST",
        "format": "default",
        "topics": ["content.viewed", "form.submitted"],
        "other_system_events": "",
        "event_names": "",
        "mode": "single",
        "batch_size": "50",
        "batch_interval_seconds": "10",
        "retry_policy": "exponential",
        "max_attempts": "8",
        "rate_limit_per_second": "",
        "timeout_seconds": "30",
        "connector": "",
        "extra_body": "",
        "enabled": "on",
        "header_name": ["", ""],
        "header_value": ["", ""],
    }
    data.update(overrides)
    return data
