"""The event catalog: keys, groups, seed sample payloads and the event-type validation rules."""

import json
from pathlib import Path

import pytest

from subscriptions import catalog

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# activityStatus values the eSputnik seed lists, and the type each one maps to.
ESPUTNIK_STATUSES = {
    "message.delivered": "DELIVERED",
    "message.undelivered": "UNDELIVERED",
    "message.read": "READ",
    "message.clicked": "CLICKED",
    "contact.unsubscribed": "UNSUBSCRIBED",
    "message.spam_reported": "SPAM",
    "subscription.changed": "SUBSCRIPTION_CHANGED",
}

KEYS = [spec.key for spec in catalog.EVENT_TYPES]


def fixture(key):
    return json.loads((FIXTURES / f"{key}.json").read_text(encoding="utf-8"))


def sample(key):
    return catalog.get(key).sample()


# --- the catalog itself ----------------------------------------------------------------------


def test_groups_are_in_display_order():
    assert catalog.GROUPS == [
        "Content",
        "Feedback & surveys",
        "Journeys",
        "Messaging activity",
        "Demos",
        "System events",
        "Custom events",
        "Chatbot",
    ]


def test_it_lists_every_event_type_of_the_spec_in_display_order():
    assert KEYS == [
        "content.viewed",
        "content.interaction",
        "form.submitted",
        "feedback.submitted",
        "feedback.reply_submitted",
        "survey.response_submitted",
        "journey.created",
        "journey.updated",
        "journey.published",
        "journey.deleted",
        "message.delivered",
        "message.undelivered",
        "message.read",
        "message.clicked",
        "contact.unsubscribed",
        "message.spam_reported",
        "subscription.changed",
        "demo.session_finished",
        "system.push_notification_accepted",
        "system.push_notification_rejected",
        "custom",
        "chatbot.response",
        "chatbot.option_selected",
    ]


def test_grouped_follows_group_order_and_covers_every_type_once():
    grouped = catalog.grouped()
    assert [group for group, _ in grouped] == catalog.GROUPS
    assert all(specs for _, specs in grouped)
    assert [spec.key for _, specs in grouped for spec in specs] == KEYS
    assert dict(grouped)["Chatbot"] == [
        catalog.get("chatbot.response"),
        catalog.get("chatbot.option_selected"),
    ]


def test_every_spec_has_a_label_a_known_group_and_a_description():
    for spec in catalog.EVENT_TYPES:
        assert spec.group in catalog.GROUPS, spec.key
        assert spec.label.strip(), spec.key
        assert len(spec.description) > 20, spec.key
        assert spec.sample_file == f"{spec.key}.json"


def test_labels_are_unique():
    labels = [spec.label for spec in catalog.EVENT_TYPES]
    assert len(labels) == len(set(labels))


def test_get_returns_the_spec_or_none():
    spec = catalog.get("content.viewed")
    assert spec.label == "Content view"
    assert spec.group == "Content"
    assert catalog.get("content.nope") is None
    # Open-ended system events are valid but have no spec of their own.
    assert catalog.get("system.email_opened") is None


def test_specs_are_frozen():
    with pytest.raises(AttributeError):
        catalog.get("custom").label = "Other"


def test_choices_are_grouped_key_label_pairs():
    choices = dict(catalog.choices())
    assert list(choices) == catalog.GROUPS
    assert choices["Demos"] == [("demo.session_finished", "Demo session finished")]


# --- samples ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_sample_loads_as_a_dict_equal_to_its_fixture(key):
    spec = catalog.get(key)
    payload = spec.sample()
    assert isinstance(payload, dict)
    assert payload
    assert payload == fixture(key)
    sample_bytes = (catalog.SAMPLES_DIR / spec.sample_file).read_bytes()
    assert sample_bytes == (FIXTURES / spec.sample_file).read_bytes()


def test_every_sample_file_belongs_to_an_event_type():
    files = sorted(path.name for path in catalog.SAMPLES_DIR.glob("*.json"))
    assert files == sorted(spec.sample_file for spec in catalog.EVENT_TYPES)


def test_sample_returns_a_fresh_copy():
    spec = catalog.get("content.viewed")
    spec.sample()["properties"]["slug"] = "changed"
    assert spec.sample()["properties"]["slug"] == "demo-content"


def test_candu_samples_carry_the_seed_values():
    viewed = sample("content.viewed")
    assert viewed["type"] == "Screen"
    assert viewed["userId"] == "test-user"
    assert viewed["screenName"] == "candu.sdk.content"
    assert viewed["properties"]["slug"] == "demo-content"
    assert viewed["properties"]["documentId"] == 32470

    interaction = sample("content.interaction")
    assert interaction["type"] == "Track"
    assert interaction["eventName"] == "candu.sdk.content.interaction"
    assert interaction["properties"]["eventName"] == "Demo Content - Open Candu AI button clicked"
    assert interaction["properties"]["trigger"] == "OnClick"

    form = sample("form.submitted")
    assert form["type"] == "FormSubmission"
    assert form["properties"]["formName"] == "Demo Content - Contact us"
    assert form["properties"]["Demo Content - Contact us_Name"] == "Mike"
    assert form["properties"]["formId"] == "9Wneb7Nk1qtTCEuGDJa0L"


def test_chatbot_response_sample_is_exactly_the_seed_payload():
    payload = sample("chatbot.response")
    assert list(payload) == ["campaignId", "label", "phoneNumber", "date", "response"]
    assert payload == {
        "campaignId": "13010",
        "label": "Welcome Message",
        "phoneNumber": "+525500000000",
        "date": "2024-06-18T23:22:36.560Z",
        "response": "John Doe",
    }


def test_chatbot_option_selected_sample_is_exactly_the_seed_payload():
    payload = sample("chatbot.option_selected")
    assert list(payload) == ["campaignId", "label", "option", "keyword", "phoneNumber", "date"]
    assert payload == {
        "campaignId": "13010",
        "label": "Welcome Message",
        "option": "One month",
        "keyword": 1,
        "phoneNumber": "+525500000000",
        "date": "2024-06-18T23:26:14.206Z",
    }
    assert type(payload["keyword"]) is int
    assert isinstance(payload["campaignId"], str)


def test_every_esputnik_status_of_the_seed_has_a_type():
    for key, status in ESPUTNIK_STATUSES.items():
        assert catalog.get(key).group == "Messaging activity"
        assert sample(key)["activityStatus"] == status, key
    assert {spec.key for spec in catalog.EVENT_TYPES if spec.group == "Messaging activity"} == set(
        ESPUTNIK_STATUSES
    )


def test_esputnik_samples_are_single_activities_with_quoted_media_types():
    for key in ESPUTNIK_STATUSES:
        assert sample(key)["mediaType"] == "email", key

    undelivered = sample("message.undelivered")
    assert undelivered["hardBounce"] is False
    assert undelivered["email"] == "test@rambler.ru"
    assert undelivered["statusDescription"] == (
        "smtp;554 5.7.1 Spam message rejected; If this is not spam contact abuse"
    )
    assert sample("message.delivered")["broadcastId"] == 2833914
    assert sample("message.clicked")["clickEventLink"] == "https://test.ua/promo/"
    assert sample("message.spam_reported")["email"] == "test@mail.ru"
    assert sample("subscription.changed")["statusData"] == {
        "subscription": {"subscriptions": ["SMARTPHONES", "TABLETS", "LAPTOPS"]}
    }


def test_walnut_sample_is_the_demo_session_payload():
    payload = sample("demo.session_finished")
    assert payload["event"] == "demo_session_finished"
    assert payload["timestamp"] == "2023-11-01T19:15:20.666248Z"
    assert payload["data"]["demo"]["name"] == "My Awesome Demo"
    assert payload["data"]["demo_engagement"]["last_guide_shown"] is None
    assert payload["data"]["demo_engagement"]["session_duration"] == 4


def test_push_notification_samples_are_the_webengage_examples_without_comments():
    accepted = sample("system.push_notification_accepted")
    assert accepted["event_name"] == "push_notification_accepted"
    assert accepted["category"] == "system"
    assert accepted["event_data"] == {"result": "SUCCESS"}
    content = json.loads(accepted["system_data"]["push_notification_content"])
    assert content["title"] == "Master App"
    assert content["cta"]["type"] == "DEEP_LINK"

    rejected = sample("system.push_notification_rejected")
    assert rejected["event_name"] == "push_notification_rejected"
    assert rejected["event_data"] == {"result": "UNAVAILABLE"}
    assert rejected["system_data"]["push_notification_content"] == "GCM_ERROR"


def test_journey_samples_share_the_webengage_journey_shape():
    published = sample("journey.published")
    assert published["event_name"] == "journey_activated"
    assert published["event_data"]["status"] == "ACTIVE"
    assert published["event_data"]["tags"] == ["premium-user"]

    expected_names = {
        "journey.created": "journey_created",
        "journey.updated": "journey_updated",
        "journey.published": "journey_activated",
        "journey.deleted": "journey_deleted",
    }
    for key, event_name in expected_names.items():
        payload = sample(key)
        assert set(payload) == set(published), key
        assert payload["event_name"] == event_name
        assert payload["resource"] == "Journey"
        assert payload["event_data"]["id"] == "abn3jj5"
        assert payload["event_data"]["name"] == "Repeat Order Journey"
    assert sample("journey.deleted")["event_data"]["status"] == "DELETED"


@pytest.mark.parametrize(
    ("key", "event_name"),
    [
        ("feedback.submitted", "FEEDBACK_SUBMIT"),
        ("feedback.reply_submitted", "FEEDBACK_REPLY_SUBMIT"),
        ("survey.response_submitted", "SURVEY_RESPONSE_SUBMIT"),
    ],
)
def test_feedback_samples_use_the_webengage_event_shape(key, event_name):
    payload = sample(key)
    assert payload["event_name"] == event_name
    for field in ("event_time", "license_code", "user_id"):
        assert isinstance(payload[field], str) and payload[field], field
    assert isinstance(payload["event_data"], dict) and payload["event_data"]


def test_feedback_reply_points_at_the_feedback_sample():
    feedback_id = sample("feedback.submitted")["event_data"]["id"]
    assert sample("feedback.reply_submitted")["event_data"]["feedbackId"] == feedback_id


def test_custom_sample_is_a_named_application_event():
    payload = sample("custom")
    assert payload["category"] == "application"
    assert payload["event_name"] == "Added To Cart"
    assert catalog.CUSTOM_EVENT == "custom"


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [k for k in KEYS if k != catalog.CUSTOM_EVENT])
def test_catalogued_types_are_accepted(key):
    assert catalog.validate_event_type(key) is None


def test_push_notification_accepted_is_accepted():
    assert catalog.validate_event_type("system.push_notification_accepted") is None


@pytest.mark.parametrize("key", ["system.email_opened", "system.push_impression", "system.sms_2"])
def test_uncatalogued_system_events_are_accepted(key):
    assert catalog.SYSTEM_PREFIX == "system."
    assert catalog.validate_event_type(key) is None


def test_excluded_system_events_are_exactly_the_seed_list():
    assert catalog.EXCLUDED_SYSTEM_EVENTS == {
        "system.app_installed": "App Installed",
        "system.app_upgraded": "App Upgraded",
        "system.app_crashed": "App Crashed",
        "system.app_uninstalled": "App Uninstalled",
        "system.user_login": "User Login",
        "system.user_logout": "User Logout",
        "system.session_started": "Session Started",
    }


def test_app_installed_is_refused_with_its_label():
    assert catalog.validate_event_type("system.app_installed") == (
        "'App Installed' (system.app_installed) is a system event that cannot be sent "
        "through webhooks."
    )


@pytest.mark.parametrize("key", list(catalog.EXCLUDED_SYSTEM_EVENTS))
def test_every_excluded_system_event_is_refused(key):
    label = catalog.EXCLUDED_SYSTEM_EVENTS[key]
    assert catalog.validate_event_type(key) == (
        f"'{label}' ({key}) is a system event that cannot be sent through webhooks."
    )
    assert catalog.get(key) is None


@pytest.mark.parametrize("name", [None, "", "   "])
def test_a_custom_event_without_a_name_is_refused(name):
    assert catalog.validate_event_type("custom", name=name) == "A custom event needs a name."


def test_a_named_custom_event_is_accepted():
    assert catalog.validate_event_type("custom", name="Added To Cart") is None
    assert catalog.validate_event_type("custom", name="x" * 200) is None


def test_a_custom_event_name_over_200_characters_is_refused():
    assert catalog.validate_event_type("custom", name="x" * 201) == (
        "A custom event name can be at most 200 characters."
    )


@pytest.mark.parametrize(
    "key",
    ["content.deleted", "", "Content.Viewed", "system.", "system.App-Installed", "system.a.b"],
)
def test_unknown_types_are_refused(key):
    assert catalog.validate_event_type(key) == (
        f"Unknown event type '{key}'. Use one of the types listed at GET /api/v1/event-types."
    )


def test_unknown_message_names_the_type():
    assert catalog.validate_event_type("order.paid") == (
        "Unknown event type 'order.paid'. Use one of the types listed at GET /api/v1/event-types."
    )


def test_a_name_does_not_make_an_unknown_type_valid():
    assert catalog.validate_event_type("order.paid", name="Paid") is not None


def test_a_system_event_name_longer_than_the_stored_type_is_refused():
    from subscriptions.catalog import EVENT_TYPE_MAX_LENGTH, validate_event_type

    fits = "system." + "a" * (EVENT_TYPE_MAX_LENGTH - len("system."))
    assert validate_event_type(fits) is None
    assert validate_event_type(fits + "a") == "An event type can be at most 150 characters."
