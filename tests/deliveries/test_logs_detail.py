"""Attempt detail: the full request and response, shown as text, never run."""

from datetime import UTC, datetime, timedelta

import pytest

from deliveries import logs
from deliveries.models import Attempt
from tests.deliveries.logs_factories import make_attempt, make_delivery

NOW = datetime(2025, 3, 14, 15, 30, tzinfo=UTC)


def detail_url(hook, attempt):
    return f"/w/acme/settings/integrations/webhooks/{hook.pk}/logs/{attempt.pk}/"


@pytest.fixture
def hook(make_webhook):
    return make_webhook("https://receiver.example.com/hooks?x=1", name="Orders hook")


def test_it_shows_the_request_with_masked_headers_and_indented_json(alice_client, hook):
    attempt = make_attempt(
        hook,
        request_headers={"Authorization": "••••••••", "X-Api-Key": "••••••••",
                         "Content-Type": "application/json"},
        request_body='{"payload":{"email":"jane@example.com","n":1}}',
    )
    html = alice_client.get(detail_url(hook, attempt)).content.decode()
    assert "https://receiver.example.com/hooks?x=1" in html
    assert '<span class="method">POST</span>' in html
    assert "<th scope=\"row\">Authorization</th><td class=\"mono\">••••••••</td>" in html
    assert ('{\n  &quot;payload&quot;: {\n    &quot;email&quot;: '
            '&quot;jane@example.com&quot;') in html
    assert "(JSON, formatted)" in html


def test_a_script_in_the_response_is_shown_as_text(alice_client, hook):
    attempt = make_attempt(
        hook, succeeded=False, status=500,
        response_headers={"Content-Type": "text/html"},
        response_body='<script>alert("x")</script><b>boom</b><img src=x onerror=alert(1)>',
    )
    html = alice_client.get(detail_url(hook, attempt)).content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;boom&lt;/b&gt;" in html


def test_a_header_value_with_html_is_escaped_too(alice_client, hook):
    attempt = make_attempt(hook, response_headers={"X-Evil": "<svg onload=alert(1)>"})
    html = alice_client.get(detail_url(hook, attempt)).content.decode()
    assert "<svg onload" not in html and "&lt;svg onload=alert(1)&gt;" in html


def test_a_truncated_response_is_marked(alice_client, hook):
    attempt = make_attempt(hook, response_body="a" * 65536, response_truncated=True)
    html = alice_client.get(detail_url(hook, attempt)).content.decode()
    assert "data-truncated" in html and "first 64 KiB" in html


def test_no_response_explains_the_error_in_words(alice_client, hook):
    attempt = make_attempt(hook, succeeded=False, status=None, error_kind="timeout",
                           error_message="No answer within 30 s")
    html = alice_client.get(detail_url(hook, attempt)).content.decode()
    assert "Timed out: your endpoint did not answer in time. (No answer within 30 s.)" in html
    assert "No response: No answer within 30 s" in html


def test_the_result_words_name_the_status(hook):
    def words(**fields):
        return logs.describe_result(Attempt(**fields))

    assert words(response_status=200, succeeded=True) == (
        "Your endpoint answered HTTP 200 OK: delivered."
    )
    assert words(response_status=301, succeeded=False).endswith(
        "Redirects are not followed: a 3xx counts as a failure."
    )
    assert "Only a 2xx response counts" in words(response_status=500, succeeded=False)
    assert "turned off" in words(response_status=410, succeeded=False)
    assert words(error_kind="dns", error_message="").startswith("DNS lookup failed")


def test_the_other_attempts_of_the_delivery_are_linked_and_the_next_retry_shown(
    alice_client, hook
):
    delivery = make_delivery(hook, status="pending", next_trigger="retry",
                             next_attempt_at=NOW + timedelta(minutes=4))
    first = make_attempt(hook, delivery, started_at=NOW - timedelta(minutes=2), succeeded=False)
    second = make_attempt(hook, delivery, started_at=NOW, succeeded=False, trigger="retry")
    html = alice_client.get(detail_url(hook, first)).content.decode()
    assert f'href="{detail_url(hook, second)}"' in html
    assert 'class="current" aria-current="page"' in html
    assert "next attempt" in html and "14 Mar, 15:34:00 UTC" in html and "(retry)" in html


def test_a_finished_delivery_says_so(alice_client, hook):
    attempt = make_attempt(hook, succeeded=False)  # its delivery is failed
    html = alice_client.get(detail_url(hook, attempt)).content.decode()
    assert '<span class="badge badge-err">Failed</span>' in html and "no more retries" in html


@pytest.mark.parametrize(
    "body, headers, kind, expected",
    [
        ('{"a":[1,2]}', {}, "json", '{\n  "a": [\n    1,\n    2\n  ]\n}'),
        ("<a><b>1</b></a>", {"Content-Type": "application/xml"}, "xml", "<a>\n  <b>1</b>\n</a>"),
        ('<?xml version="1.0"?><a><b/></a>', {}, "xml",
         '<?xml version="1.0" ?>\n<a>\n  <b/>\n</a>'),
        ("<a><b>", {"Content-Type": "text/xml"}, "text", "<a><b>"),
        ("{not json", {"Content-Type": "application/json"}, "text", "{not json"),
        ("<html><body>Hi</body></html>", {"Content-Type": "text/html"}, "text",
         "<html><body>Hi</body></html>"),
        ("", {}, "text", ""),
    ],
)
def test_bodies_are_pretty_printed_when_they_parse(body, headers, kind, expected):
    assert logs.pretty_body(body, headers) == (expected, kind)


def test_xml_with_entities_is_never_expanded():
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
    )
    assert logs.pretty_body(laughs, {"Content-Type": "application/xml"}) == (laughs, "text")
    external = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    assert logs.pretty_body(external, {"Content-Type": "application/xml"}) == (external, "text")
