"""Request bodies per webhook format, on the payloads of the seed help pages."""

import copy
import json

import pytest
import xmltodict

from deliveries.formats import (
    FORMAT_DEFAULT,
    FORMAT_RAW,
    FORMAT_SLACK,
    FORMAT_XML,
    SLACK_MAX_BLOCKS,
    render,
    render_batch,
)

# Seed payloads (trimmed where a field adds nothing to the test).
CONTENT_VIEWED = {  # Candu
    "id": "34519762-2f78-4e99-b5d2-aaa5079857c5",
    "anonymousId": "25c27067-9b69-41ab-99c4-5c69dc0df8ff",
    "userId": "test-user",
    "type": "Screen",
    "context": {
        "library": {"name": "JsClient", "version": "0.9.27"},
        "page": {"path": "/", "url": "https://demo.candu.ai/", "title": "Candu Showcase"},
        "screen": {"width": 1792, "height": 1120},
        "locale": "en-GB",
    },
    "sentAt": "2023-01-17T17:19:54.311Z",
    "screenName": "candu.sdk.content",
    "properties": {
        "versionId": "81dc9bdb52d04dc20036dbd8313ed055",
        "segmentId": "Everyone",
        "slug": "demo-content",
        "contentId": "nrpHFcRlmW",
        "documentId": 32470,
    },
    "version": 2,
}
CONTENT_INTERACTION = {  # Candu
    "id": "3a3da0f6-b9bb-444a-b59d-275bc057bd68",
    "userId": "candu-demo-user",
    "type": "Track",
    "eventName": "candu.sdk.content.interaction",
    "properties": {
        "eventName": "Demo Content - Open Candu AI button clicked",
        "segmentId": "Everyone",
        "category": "Native",
        "contentId": "nrpHFcRlmW",
        "trigger": "OnClick",
    },
    "version": 2,
}
FORM_SUBMITTED = {  # Candu
    "id": "288cc201-9f2e-43a2-95fa-b7df5dd13eae",
    "userId": "candu-demo-user",
    "type": "FormSubmission",
    "eventName": "Demo Content - Contact us_responded",
    "properties": {
        "formName": "Demo Content - Contact us",
        "Demo Content - Contact us_Email address": "mike@example.com",
        "Demo Content - Contact us_Write a message": "Lorem ipsum dolor sit amet.",
        "formResponseId": "XT4BJUYTw3",
        "Demo Content - Contact us_Name": "Mike",
        "formId": "9Wneb7Nk1qtTCEuGDJa0L",
    },
    "version": 2,
}
UNDELIVERED_SMS = {  # eSputnik
    "broadcastId": 2833915,
    "hardBounce": False,
    "iid": "D5AF8EFC-2E8F-4BB5-B427-77D554B30E65",
    "contactId": 357885291,
    "sms": "380671234567",
    "activityStatus": "UNDELIVERED",
    "mediaType": "sms",
    "activityDateTime": "2019-10-01T03:43:49",
    "statusDescription": "IM_NO_MONEY",
}
CLICKED = {  # eSputnik
    "workflowId": 245460,
    "contactId": 1258810400,
    "email": "test@gmail.com",
    "activityStatus": "CLICKED",
    "mediaType": "email",
    "messageId": 1242672,
    "activityDateTime": "2018-05-15T04:45:04",
    "viewMessageLink": "https://123.esclick.me/test",
    "clickEventLink": "https://test.ua/promo/",
}
SUBSCRIPTION_CHANGED = {  # eSputnik
    "iid": "ffd3e1a7-a270-4e58-94de-5ac681c5c8e7",
    "contactId": 687266822,
    "activityStatus": "SUBSCRIPTION_CHANGED",
    "mediaType": "email",
    "activityDateTime": "2019-09-26T14:45:18",
    "statusData": {"subscription": {"subscriptions": ["SMARTPHONES", "TABLETS", "LAPTOPS"]}},
}
JOURNEY_PUBLISHED = {  # WebEngage
    "category": "account",
    "resource": "Journey",
    "version": 1,
    "event_name": "journey_activated",
    "event_time": "2017-03-06T11:00:52+0000",
    "license_code": "311c48b3",
    "user_id": "owner@example.com",
    "event_data": {
        "name": "Repeat Order Journey",
        "id": "abn3jj5",
        "status": "ACTIVE",
        "tags": ["premium-user"],
    },
}
PUSH_REJECTED = {  # WebEngage system event
    "event_data": {"result": "UNAVAILABLE"},
    "system_data": {"variation_id": "1if30if", "sdk": "ANDROID", "id": "20hlgbg"},
    "event_time": "2016-06-01T15:53:58+0000",
    "event_name": "push_notification_rejected",
    "category": "system",
    "user_id": "user@example.com",
}
DEMO_SESSION = {  # Walnut
    "data": {
        "demo": {"id": "7a8e73ec-93ef-4f35-aadf-33c2ada9b887", "name": "My Awesome Demo"},
        "demo_engagement": {
            "fab_clicks": 0,
            "guides_completion_rate": 15,
            "last_guide_shown": None,
            "last_section_viewed": None,
            "screen_completion_rate": 11,
            "session_duration": 4,
        },
        "session_id": "eb8af248-a970-46fa-bfb0-cb675b6780e1",
        "user": {"email": "someone-awesome@walnut.io"},
    },
    "event": "demo_session_finished",
    "timestamp": "2023-11-01T19:15:20.666248Z",
}
CHATBOT_RESPONSE = {
    "campaignId": "13010",
    "label": "Welcome Message",
    "phoneNumber": "+525500000000",
    "date": "2024-06-18T23:22:36.560Z",
    "response": "John Doe",
}
CHATBOT_OPTION = {
    "campaignId": "13010",
    "label": "Welcome Message",
    "option": "One month",
    "keyword": 1,
    "phoneNumber": "+525500000000",
    "date": "2024-06-18T23:26:14.206Z",
}


def slack(event_type, payload, **kwargs):
    body, content_type = render(FORMAT_SLACK, event_type, payload, **kwargs)
    assert content_type == "application/json"
    return json.loads(body)


def all_text(message):
    """Every piece of text a Slack message shows, in one string."""
    parts = [message["text"]]
    for block in message["blocks"]:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [field["text"] for field in block.get("fields", [])]
        parts += [element["text"] for element in block.get("elements", [])]
    return "\n".join(parts)


# Default and raw JSON -------------------------------------------------------------------


def test_default_wraps_the_event_in_payload():
    body, content_type = render(FORMAT_DEFAULT, "content.viewed", CONTENT_VIEWED)
    assert content_type == "application/json"
    assert json.loads(body) == {"payload": CONTENT_VIEWED}


def test_raw_sends_the_event_as_is():
    body, content_type = render(FORMAT_RAW, "chatbot.response", CHATBOT_RESPONSE)
    assert content_type == "application/json"
    assert json.loads(body) == CHATBOT_RESPONSE


def test_json_is_compact_utf8_in_the_events_key_order():
    body, _ = render(FORMAT_RAW, "custom", {"b": "Zoë ✓", "a": [1, None, True]})
    assert body == '{"b":"Zoë ✓","a":[1,null,true]}'.encode()


def test_rendering_is_deterministic_and_leaves_the_payload_alone():
    before = copy.deepcopy(FORM_SUBMITTED)
    for fmt in (FORMAT_DEFAULT, FORMAT_RAW, FORMAT_SLACK, FORMAT_XML):
        first = render(fmt, "form.submitted", FORM_SUBMITTED, extra_body={"source": "x"})
        assert render(fmt, "form.submitted", FORM_SUBMITTED, extra_body={"source": "x"}) == first
    assert before == FORM_SUBMITTED


def test_extra_body_is_merged_and_the_event_wins_a_clash():
    extra = {"source": "chatbot", "campaignId": "overridden?"}
    default, _ = render(FORMAT_DEFAULT, "chatbot.response", CHATBOT_RESPONSE, extra_body=extra)
    raw, _ = render(FORMAT_RAW, "chatbot.response", CHATBOT_RESPONSE, extra_body=extra)
    assert json.loads(default)["payload"] == {**CHATBOT_RESPONSE, "source": "chatbot"}
    assert json.loads(raw) == {**CHATBOT_RESPONSE, "source": "chatbot"}


def test_extra_body_becomes_top_level_slack_keys_without_replacing_the_message():
    message = slack(
        "chatbot.response", CHATBOT_RESPONSE, extra_body={"username": "Bot", "text": "no"}
    )
    assert message["username"] == "Bot"
    assert message["text"] != "no"


def test_a_payload_that_is_not_an_object_is_sent_unchanged():
    body, _ = render(FORMAT_RAW, "custom", [1, 2], extra_body={"source": "x"})
    assert json.loads(body) == [1, 2]


def test_lone_surrogates_do_not_break_encoding():
    body, _ = render(FORMAT_RAW, "custom", {"name": "a\ud800b"})
    assert json.loads(body) == {"name": "a\ufffdb"}


def test_unknown_format_is_refused():
    with pytest.raises(ValueError):
        render("yaml", "custom", {})


# XML --------------------------------------------------------------------------------------


def xml(event_type, payload, **kwargs):
    body, content_type = render(FORMAT_XML, event_type, payload, **kwargs)
    assert content_type == "application/xml"
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return xmltodict.parse(body)


def test_xml_round_trips_a_seed_event():
    event = xml("journey.published", JOURNEY_PUBLISHED)["event"]
    assert event["@type"] == "journey.published"
    assert event["event_name"] == "journey_activated"
    assert event["version"] == "1"
    # A one-item list comes back as a single element: XML cannot tell them apart.
    assert event["event_data"] == {
        "name": "Repeat Order Journey",
        "id": "abn3jj5",
        "status": "ACTIVE",
        "tags": "premium-user",
    }


def test_xml_writes_lists_null_and_booleans():
    event = xml(
        "message.undelivered",
        {"subscriptions": ["A", "B"], "statusDescription": None, "hardBounce": False},
    )["event"]
    assert event["subscriptions"] == ["A", "B"]
    assert event["statusDescription"] is None
    assert event["hardBounce"] == "false"


def test_xml_sanitizes_keys_and_keeps_their_original_spelling():
    event = xml("form.submitted", FORM_SUBMITTED)["event"]
    answer = event["properties"]["Demo_Content_-_Contact_us_Email_address"]
    assert answer == {
        "@key": "Demo Content - Contact us_Email address",
        "#text": "mike@example.com",
    }


@pytest.mark.parametrize(
    "payload",
    [
        {
            "1st": 1,
            "": 2,
            "@type": 3,
            "#text": 4,
            "a:b": 5,
            "<x>": 6,
            "ключ": 7,
            "a b": 8,
            "a_b": 9,
        },
        {"nested": [[1, 2], [], [None, {"k": True}]], "empty": {}, "float": 1.5e300},
        {"control": "bell \x07 nul \x00", "markup": "<b>&amp;</b>", "quote": "\"'"},
        [1, "two", None, {"x": []}],
        "just a string",
        None,
        42,
    ],
)
def test_xml_never_fails_on_json_and_always_parses_back(payload):
    event = xml("custom", payload)["event"]
    assert event["@type"] == "custom"


def test_xml_escapes_markup_in_values():
    event = xml("custom", {"markup": "<b>&amp;</b>"})["event"]
    assert event["markup"] == "<b>&amp;</b>"


def test_xml_top_level_list_becomes_items():
    event = xml("message.delivered", [UNDELIVERED_SMS, CLICKED])["event"]
    assert [item["activityStatus"] for item in event["item"]] == ["UNDELIVERED", "CLICKED"]


def test_xml_merges_extra_body():
    event = xml("chatbot.response", CHATBOT_RESPONSE, extra_body={"source": "bot"})["event"]
    assert event["source"] == "bot"
    assert event["response"] == "John Doe"


# Slack ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "payload", "expected"),
    [
        ("content.viewed", CONTENT_VIEWED, ["test-user viewed demo-content"]),
        (
            "content.interaction",
            CONTENT_INTERACTION,
            ["candu-demo-user", "Demo Content - Open Candu AI button clicked"],
        ),
        (
            "form.submitted",
            FORM_SUBMITTED,
            [
                "candu-demo-user submitted Demo Content - Contact us",
                "*Email address*\nmike@example.com",
                "*Name*\nMike",
                "*Write a message*\nLorem ipsum dolor sit amet.",
            ],
        ),
        (
            "message.undelivered",
            UNDELIVERED_SMS,
            ["SMS message not delivered to 380671234567", "UNDELIVERED", "IM_NO_MONEY"],
        ),
        (
            "message.clicked",
            CLICKED,
            ["Email message clicked by test@gmail.com", "https://test.ua/promo/"],
        ),
        (
            "subscription.changed",
            SUBSCRIPTION_CHANGED,
            ["Contact 687266822 changed their subscriptions", "SMARTPHONES, TABLETS, LAPTOPS"],
        ),
        (
            "journey.published",
            JOURNEY_PUBLISHED,
            ["Repeat Order Journey", "published", "owner@example.com", "journey_activated"],
        ),
        (
            "system.push_notification_rejected",
            PUSH_REJECTED,
            ["push_notification_rejected", "user@example.com", "UNAVAILABLE"],
        ),
        (
            "demo.session_finished",
            DEMO_SESSION,
            [
                "someone-awesome@walnut.io",
                "My Awesome Demo",
                "*Session duration*\n4",
                "*Guides completed*\n15%",
                "*Screens completed*\n11%",
            ],
        ),
        ("chatbot.response", CHATBOT_RESPONSE, ["+525500000000", "John Doe", "13010"]),
        ("chatbot.option_selected", CHATBOT_OPTION, ["+525500000000", "1: One month", "13010"]),
        (
            "custom",
            {"event_name": "Added To Cart", "user_id": "jane@example.com", "event_data": {}},
            ["jane@example.com triggered Added To Cart"],
        ),
    ],
)
def test_slack_summarizes_each_topic_for_people(event_type, payload, expected):
    message = slack(event_type, payload)
    text = all_text(message)
    for phrase in expected:
        assert phrase in text
    assert message["blocks"][-1]["elements"][0]["text"] == f"`{event_type}`"


def test_slack_headline_is_the_notification_text():
    message = slack("content.viewed", CONTENT_VIEWED)
    assert message["text"] == "test-user viewed demo-content"
    assert message["blocks"][0]["text"] == {
        "type": "mrkdwn",
        "text": "test-user viewed demo-content",
    }


def test_slack_undelivered_reason_only_shows_when_undelivered():
    delivered = {**UNDELIVERED_SMS, "activityStatus": "DELIVERED"}
    assert "IM_NO_MONEY" not in all_text(slack("message.delivered", delivered))


def test_slack_escapes_user_values():
    payload = {**CONTENT_VIEWED, "userId": "<script>alert(1)</script> & <!channel>"}
    message = slack("content.viewed", payload)
    assert message["text"].startswith(
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt;"
    )
    assert "<script>" not in json.dumps(message)
    assert "<!channel>" not in json.dumps(message)


def test_slack_falls_back_to_a_json_block_for_unknown_types():
    message = slack("billing.invoice_paid", {"amount": 12, "note": "<b>"})
    assert message["text"] == "Event billing.invoice_paid"
    assert '```{"amount":12,"note":"&lt;b&gt;"}```' in all_text(message)


def test_slack_truncates_long_json_within_slack_limits():
    message = slack("unknown.type", {"blob": "<&>" * 5000})
    for block in message["blocks"]:
        if "text" in block:
            assert len(block["text"]["text"]) <= 3000
    code = message["blocks"][1]["text"]["text"]
    assert code.startswith("```") and code.endswith("…```")
    # Never cut inside an entity.
    assert code.removesuffix("…```").endswith(("&lt;", "&amp;", "&gt;"))


def test_slack_handles_odd_shapes_without_failing():
    for event_type in ("content.viewed", "form.submitted", "message.read", "journey.created"):
        slack(event_type, {"properties": "not an object", "event_data": [1], "userId": None})
        slack(event_type, [1, 2])


def test_slack_long_forms_are_split_into_sections_of_ten_fields():
    answers = {f"Question {n}": f"Answer {n}" for n in range(25)}
    message = slack("form.submitted", {"userId": "u", "properties": answers})
    sections = [block for block in message["blocks"] if block["type"] == "section"]
    assert [len(section.get("fields", [])) for section in sections] == [10, 10, 5]


# Batches ----------------------------------------------------------------------------------

BATCH = [("content.viewed", CONTENT_VIEWED), ("chatbot.response", CHATBOT_RESPONSE)]


def test_default_batch_is_an_array_of_payload_objects():
    body, content_type = render_batch(FORMAT_DEFAULT, BATCH, extra_body={"source": "x"})
    assert content_type == "application/json"
    assert json.loads(body) == [
        {"payload": {**CONTENT_VIEWED, "source": "x"}},
        {"payload": {**CHATBOT_RESPONSE, "source": "x"}},
    ]


def test_raw_batch_is_an_array_of_events():
    body, _ = render_batch(FORMAT_RAW, [("message.clicked", CLICKED)] * 2)
    assert json.loads(body) == [CLICKED, CLICKED]


def test_xml_batch_is_events_around_each_event():
    body, content_type = render_batch(FORMAT_XML, BATCH)
    assert content_type == "application/xml"
    events = xmltodict.parse(body, force_list=("event",))["events"]["event"]
    assert [event["@type"] for event in events] == ["content.viewed", "chatbot.response"]
    assert events[1]["response"] == "John Doe"


def test_slack_batch_is_one_message_with_a_section_per_event():
    body, _ = render_batch(FORMAT_SLACK, BATCH)
    message = json.loads(body)
    assert message["text"].startswith("2 events: test-user viewed demo-content")
    assert [block["type"] for block in message["blocks"]] == ["section", "section"]
    assert "John Doe" in message["blocks"][1]["text"]["text"]


def test_slack_batch_stays_within_fifty_blocks():
    body, _ = render_batch(FORMAT_SLACK, [("chatbot.response", CHATBOT_RESPONSE)] * 120)
    message = json.loads(body)
    assert len(message["blocks"]) == SLACK_MAX_BLOCKS
    assert message["blocks"][-1]["elements"][0]["text"] == "…and 71 more events"


def test_an_empty_batch_is_refused():
    with pytest.raises(ValueError):
        render_batch(FORMAT_RAW, [])
