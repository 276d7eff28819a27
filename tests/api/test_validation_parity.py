"""The API refuses what the forms refuse, with the very messages the forms show.

Each test sends one bad value to the API and the same value to the form (WebhookForm or
ConnectorForm, as the New webhook / New connector pages post it), and compares the messages.
"""

import pytest
from django.http import QueryDict

from subscriptions.forms import ConnectorForm, WebhookForm
from subscriptions.models import Connector, Webhook
from tests.api.conftest import errors_of
from tests.subscriptions.factories import make_connector, make_webhook, webhook_form_data

GOOD = {
    "name": "Orders hook",
    "url": "https://receiver.example.com/hook",
    "topics": ["content.viewed", "form.submitted"],
}


def _query_dict(data: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in data.items():
        if isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = value
    return query


def form_messages(workspace, **overrides) -> dict[str, list[str]]:
    """What the New webhook form shows, per field (header rows as headers[i])."""
    form = WebhookForm(_query_dict(webhook_form_data(**overrides)), workspace=workspace)
    assert not form.is_valid()
    shown = {name: list(errors) for name, errors in form.errors.items() if name != "__all__"}
    filled = [row for row in form.header_rows if row["name"] or row["value"]]
    for index, row in enumerate(filled):
        if row["error"]:
            shown[f"headers[{index}]"] = [row["error"]]
    if form.header_errors:
        shown["headers"] = list(form.header_errors)
    return shown


def api_messages(api, **body) -> dict[str, list[str]]:
    count = Webhook.objects.count()
    response = api.post("/webhooks", {**GOOD, **body})
    assert response.status_code == 400, response.content
    assert Webhook.objects.count() == count  # nothing saved
    shown: dict[str, list[str]] = {}
    for field, message in errors_of(response):
        shown.setdefault(field, []).append(message)
    return shown


def assert_same(api, workspace, api_body: dict, form_data: dict, field: str, form_field=None):
    from_api = api_messages(api, **api_body)
    from_form = form_messages(workspace, **form_data)
    assert from_api[field], from_api
    assert from_api[field] == from_form[form_field or field]


@pytest.mark.parametrize(
    ("api_body", "form_data", "field", "form_field"),
    [
        ({"url": "ftp://files.example.com/in"}, {"url": "ftp://files.example.com/in"}, "url", None),
        (
            {"url": "https://receiver.example.com/" + "a" * 2020},
            {"url": "https://receiver.example.com/" + "a" * 2020},
            "url",
            None,
        ),
        (
            {"url": "https://u:p@receiver.example.com/"},
            {"url": "https://u:p@receiver.example.com/"},
            "url",
            None,
        ),
        (
            {"url": "https://receiver.example.com/?e=${nope}"},
            {"url": "https://receiver.example.com/?e=${nope}"},
            "url",
            None,
        ),
        ({"name": ""}, {"name": ""}, "name", None),
        ({"name": "x" * 101}, {"name": "x" * 101}, "name", None),
        ({"topics": []}, {"topics": []}, "topics", None),
        ({"topics": ["content.viewd"]}, {"topics": ["content.viewd"]}, "topics", None),
        (
            {"topics": ["content.viewed", "system.app_installed"]},
            {"topics": ["content.viewed"], "other_system_events": "system.app_installed"},
            "topics",
            "other_system_events",
        ),
        (
            {"topics": ["system.Bad-Name"]},
            {"topics": [], "other_system_events": "system.Bad-Name"},
            "topics",
            "other_system_events",
        ),
        (
            {"topics": ["custom"], "event_names": []},
            {"topics": ["custom"], "event_names": ""},
            "event_names",
            None,
        ),
        (
            {"topics": ["custom"], "event_names": ["x" * 201]},
            {"topics": ["custom"], "event_names": "x" * 201},
            "event_names",
            None,
        ),
        ({"extra_body": [1, 2]}, {"extra_body": "[1, 2]"}, "extra_body", None),
        ({"extra_body": "crm"}, {"extra_body": '"crm"'}, "extra_body", None),
        ({"max_attempts": 99}, {"max_attempts": "99"}, "max_attempts", None),
        ({"max_attempts": "abc"}, {"max_attempts": "abc"}, "max_attempts", None),
        ({"timeout_seconds": 99}, {"timeout_seconds": "99"}, "timeout_seconds", None),
        ({"timeout_seconds": 0}, {"timeout_seconds": "0"}, "timeout_seconds", None),
        (
            {"rate_limit_per_second": 5000},
            {"rate_limit_per_second": "5000"},
            "rate_limit_per_second",
            None,
        ),
        (
            {"mode": "batched", "batch_size": 0},
            {"mode": "batched", "batch_size": "0"},
            "batch_size",
            None,
        ),
        (
            {"mode": "batched", "batch_interval_seconds": 4000},
            {"mode": "batched", "batch_interval_seconds": "4000"},
            "batch_interval_seconds",
            None,
        ),
        ({"method": "PUT"}, {"method": "PUT"}, "method", None),
        ({"format": "yaml"}, {"format": "yaml"}, "format", None),
        ({"retry_policy": "forever"}, {"retry_policy": "forever"}, "retry_policy", None),
    ],
    ids=[
        "url-not-http",
        "url-too-long",
        "url-with-credentials",
        "url-unknown-placeholder",
        "name-empty",
        "name-too-long",
        "no-topics",
        "unknown-topic",
        "excluded-system-event",
        "malformed-system-event",
        "custom-without-names",
        "custom-name-too-long",
        "extra-body-a-list",
        "extra-body-a-string",
        "max-attempts-too-many",
        "max-attempts-not-a-number",
        "timeout-too-long",
        "timeout-zero",
        "rate-limit-too-high",
        "batch-size-zero",
        "batch-interval-too-long",
        "method-put",
        "format-unknown",
        "retry-policy-unknown",
    ],
)
def test_a_bad_value_gets_the_forms_message(api, acme, api_body, form_data, field, form_field):
    assert_same(api, acme, api_body, form_data, field, form_field)


@pytest.mark.parametrize("url", ["https://127.0.0.1/hook", "http://169.254.169.254/latest"])
def test_a_private_address_gets_the_forms_message(api, acme, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    assert_same(api, acme, {"url": url}, {"url": url}, "url")


def test_a_reserved_header_gets_the_forms_message(api, acme):
    assert_same(
        api,
        acme,
        {"headers": [{"name": "X-Ok", "value": "1"}, {"name": "Host", "value": "evil"}]},
        {"header_name": ["X-Ok", "Host"], "header_value": ["1", "evil"]},
        "headers[1]",
    )


@pytest.mark.parametrize("name", ["webhook-signature", "X-Webhook-Signature", "Content-Type"])
def test_signature_and_transport_headers_are_refused_as_in_the_form(api, acme, name):
    assert_same(
        api,
        acme,
        {"headers": [{"name": name, "value": "x"}]},
        {"header_name": [name], "header_value": ["x"]},
        "headers[0]",
    )


def test_a_header_value_with_a_line_break_gets_the_forms_message(api, acme):
    assert_same(
        api,
        acme,
        {"headers": [{"name": "X-A", "value": "a\r\nInjected: 1"}]},
        {"header_name": ["X-A"], "header_value": ["a\r\nInjected: 1"]},
        "headers[0]",
    )


def test_a_header_value_http_cannot_carry_gets_the_forms_message(api, acme):
    assert_same(
        api,
        acme,
        {"headers": [{"name": "X-A", "value": "Zoë’s team"}]},
        {"header_name": ["X-A"], "header_value": ["Zoë’s team"]},
        "headers[0]",
    )


def test_a_header_listed_twice_gets_the_forms_message(api, acme):
    assert_same(
        api,
        acme,
        {"headers": [{"name": "X-A", "value": "1"}, {"name": "x-a", "value": "2"}]},
        {"header_name": ["X-A", "x-a"], "header_value": ["1", "2"]},
        "headers[1]",
    )


def test_more_than_20_headers_get_the_forms_message(api, acme):
    names = [f"X-H{i}" for i in range(21)]
    assert_same(
        api,
        acme,
        {"headers": [{"name": n, "value": "v"} for n in names]},
        {"header_name": names, "header_value": ["v"] * 21},
        "headers",
    )


def test_a_header_the_connector_sends_gets_the_forms_message(api, acme):
    connector = make_connector(acme)  # Bearer: sends Authorization
    assert_same(
        api,
        acme,
        {"connector": connector.pk, "headers": [{"name": "Authorization", "value": "x"}]},
        {"connector": str(connector.pk), "header_name": ["Authorization"], "header_value": ["x"]},
        "headers[0]",
    )


def test_http_under_https_only_gets_the_forms_message(api, acme):
    acme.https_only = True
    acme.save()
    assert_same(
        api,
        acme,
        {"url": "http://receiver.example.com/hook"},
        {"url": "http://receiver.example.com/hook"},
        "url",
    )


def test_a_connector_of_another_workspace_gets_the_forms_message(api, acme, globex):
    foreign = make_connector(globex)
    assert_same(api, acme, {"connector": foreign.pk}, {"connector": str(foreign.pk)}, "connector")


def test_a_name_taken_by_a_live_webhook_gets_the_forms_message(api, acme):
    make_webhook(acme, name="Orders hook")
    assert_same(api, acme, {"name": "ORDERS hook"}, {"name": "ORDERS hook"}, "name")


def test_every_problem_is_reported_at_once(api, acme):
    shown = api_messages(
        api,
        name="",
        url="ftp://x",
        topics=[],
        timeout_seconds=99,
        headers=[{"name": "Host", "value": "x"}],
    )
    assert set(shown) == {"name", "url", "topics", "timeout_seconds", "headers[0]"}


def test_a_patch_gets_the_forms_message_too(api, acme):
    webhook = make_webhook(acme)
    response = api.patch(f"/webhooks/{webhook.pk}", {"url": "ftp://files.example.com/in"})
    assert response.status_code == 400
    edit = form_messages(acme, url="ftp://files.example.com/in")
    assert [m for f, m in errors_of(response) if f == "url"] == edit["url"]


# --- connectors -------------------------------------------------------------------------------

GOOD_CONNECTOR = {"name": "CRM key", "kind": "bearer", "secret": "tok_live_0123456789"}


def connector_form_messages(workspace, instance=None, **data) -> dict[str, list[str]]:
    posted = {
        "name": "CRM key",
        "kind": "bearer",
        "username": "",
        "header_name": "",
        "secret": "tok_live_0123456789",
        **data,
    }
    form = ConnectorForm(_query_dict(posted), workspace=workspace, instance=instance)
    assert not form.is_valid()
    return {name: list(errors) for name, errors in form.errors.items()}


@pytest.mark.parametrize(
    "data",
    [
        {"name": ""},
        {"kind": "basic", "username": ""},
        {"kind": "basic", "username": "a:b"},
        {"kind": "api_key", "header_name": ""},
        {"kind": "api_key", "header_name": "Content-Type"},
        {"kind": "api_key", "header_name": "X Api Key"},
        {"secret": ""},
        {"secret": "tok\nInjected: 1"},
        {"kind": "digest"},
    ],
    ids=[
        "name-empty",
        "basic-without-user",
        "basic-user-with-colon",
        "api-key-without-header",
        "api-key-reserved-header",
        "api-key-header-not-a-token",
        "no-secret",
        "secret-with-line-break",
        "unknown-kind",
    ],
)
def test_a_bad_connector_gets_the_forms_message(api, acme, data):
    response = api.post("/connectors", {**GOOD_CONNECTOR, **data})
    assert response.status_code == 400, response.content
    assert Connector.objects.count() == 0
    from_api: dict[str, list[str]] = {}
    for field, message in errors_of(response):
        from_api.setdefault(field, []).append(message)
    assert from_api == connector_form_messages(acme, **data)


def test_a_connector_name_taken_gets_the_forms_message(api, acme):
    make_connector(acme, name="CRM key")
    response = api.post("/connectors", {**GOOD_CONNECTOR, "name": "crm KEY"})
    assert errors_of(response) == [
        ("name", connector_form_messages(acme, name="crm KEY")["name"][0])
    ]


def test_a_null_character_gets_the_forms_message(api, acme):
    assert_same(api, acme, {"name": "Orders\x00"}, {"name": "Orders\x00"}, "name")


def test_a_null_character_anywhere_in_a_body_is_refused_not_stored(api):
    response = api.post("/webhooks", {**GOOD, "extra_body": {"note": {"a": "x\x00y"}}})
    assert response.status_code == 400
    assert errors_of(response) == [("extra_body.note.a", "Null characters are not allowed.")]


def test_a_null_character_in_a_filter_is_refused(api, acme):
    webhook = make_webhook(acme)
    response = api.get(f"/webhooks/{webhook.pk}/attempts?event_type=a%00b")
    assert errors_of(response) == [("event_type", "Null characters are not allowed.")]


def test_a_time_that_cannot_be_in_utc_is_refused(api, acme):
    webhook = make_webhook(acme)
    response = api.post(f"/webhooks/{webhook.pk}/recover", {"since": "0001-01-01T00:00:00+05:00"})
    assert response.status_code == 400
    assert errors_of(response)[0][0] == "since"
