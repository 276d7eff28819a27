"""The shared rules as plain functions (the management API calls these too)."""

import pytest

from subscriptions import validation
from tests.subscriptions.factories import make_webhook


def test_url_problems_are_empty_for_a_good_url():
    assert (
        validation.url_problems(
            "https://crm.example.com/in?e=${email}", https_only=True, allowed_placeholders={"email"}
        )
        == []
    )


@pytest.mark.parametrize(
    ("url", "start"),
    [
        ("", "Enter the URL"),
        ("mailto:a@b.c", "Enter a URL starting with https://"),
        ("https://a b.example.com/", "The URL cannot contain spaces"),
        ("https://example.com:99999999/", "This is not a valid URL"),
        ("https://u:p@example.com/", "Remove the user name and password"),
        ("https:///path-only", "The URL has no host name"),
        ("http://example.com/", "This workspace's policy requires HTTPS"),
        ("https://${host}/x", "Placeholder ${host} is in the address's host"),
    ],
)
def test_url_problems_name_the_first_thing_to_fix(url, start):
    problems = validation.url_problems(url, https_only=True, allowed_placeholders=None)
    assert problems and problems[0].startswith(start)


def test_check_destination_accepts_a_host_that_does_not_resolve_yet(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    assert validation.check_destination("https://not-yet-there.invalid/hook") is None


def test_check_destination_refuses_cloud_metadata(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    message = validation.check_destination("http://169.254.169.254/latest/${x}")
    assert message.startswith("Blocked: cloud metadata address 169.254.169.254")


def test_placeholder_fields_come_from_the_samples_or_are_open_for_custom_and_unknown_types():
    assert "userId" in validation.placeholder_fields(["content.viewed"])
    assert validation.placeholder_fields(["content.viewed", "custom"]) is None
    assert validation.placeholder_fields(["system.email_opened"]) is None


def test_header_problems_report_per_row_and_overall():
    rows = [("X-A", "1"), ("Host", "x"), ("x-a", "2")] + [(f"X-{i}", "v") for i in range(18)]
    per_row, overall = validation.header_problems(rows)
    assert per_row[0] is None
    assert per_row[1].startswith("Host is set by the webhook itself")
    assert per_row[2] == "x-a is listed twice: keep one row per header."
    assert overall == ["At most 20 custom headers (there are 21)."]


@pytest.mark.parametrize(
    ("check", "value", "expected"),
    [
        (validation.check_batch_size, 500, None),
        (validation.check_batch_size, 501, "The batch size must be from 1 to 500 events."),
        (validation.check_batch_interval, 0, "The batch interval must be from 1 to 3,600 seconds."),
        (validation.check_timeout, 31, "The timeout can be at most 30 seconds."),
        (validation.check_timeout, 0, "The timeout must be from 1 to 30 seconds."),
        (validation.check_rate_limit, None, None),
        (
            validation.check_max_attempts,
            "x",
            "Enter the number of attempts as a whole number from 1 to 50.",
        ),
        (
            validation.check_max_attempts,
            True,
            "Enter the number of attempts as a whole number from 1 to 50.",
        ),
    ],
)
def test_number_checks(check, value, expected):
    assert check(value) == expected


def test_parse_extra_body():
    assert validation.parse_extra_body("") == ({}, None)
    assert validation.parse_extra_body('{"a": 1}') == ({"a": 1}, None)
    value, error = validation.parse_extra_body("[1]")
    assert value == {} and error.startswith("Extra body parameters must be a JSON object")


def test_check_webhook_name_ignores_the_webhook_being_edited(acme):
    webhook = make_webhook(acme, name="Orders hook")
    assert validation.check_webhook_name("ORDERS HOOK", acme, exclude_pk=webhook.pk) is None
    assert validation.check_webhook_name("orders hook", acme).startswith("A webhook named")


def test_event_names_without_the_custom_topic_are_refused():
    assert validation.event_name_problems(["Paid"], custom_selected=False) == [
        "Tick “Custom event” to receive these events, or clear this box."
    ]
    assert validation.event_name_problems([], custom_selected=False) == []
