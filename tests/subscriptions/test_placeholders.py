"""``${var}`` placeholders in webhook URLs."""

from urllib.parse import parse_qs, urlsplit

import pytest

from subscriptions.placeholders import (
    PLACEHOLDER_RE,
    fill_placeholders,
    find_placeholders,
    payload_field_paths,
    validate_placeholders,
)

# An eSputnik activity, with a nested object added to reach into.
EVENT = {
    "contactId": 295953704,
    "email": "test@rambler.ru",
    "activityStatus": "DELIVERED",
    "hardBounce": False,
    "user": {"email": "nested@example.com", "tags": ["vip", "beta"]},
    "statusDescription": None,
}


# Finding ----------------------------------------------------------------------------------


def test_it_finds_placeholders_in_order_once_each():
    url = "https://x.test/${contactId}/hook?email=${email}&again=${email}&u=${user.email}"
    assert find_placeholders(url) == ["contactId", "email", "user.email"]


def test_a_dollar_without_braces_is_text():
    assert find_placeholders("https://x.test/hook?price=5$&x=$email") == []
    assert validate_placeholders("https://x.test/hook?price=5$&x=$email") == []


def test_the_regex_matches_whole_placeholders_only():
    assert PLACEHOLDER_RE.fullmatch("${user.email}").group(1) == "user.email"
    assert PLACEHOLDER_RE.fullmatch("${a b}") is None


# Filling ----------------------------------------------------------------------------------


def test_it_fills_top_level_fields():
    url = "https://x.test/hook?email=${email}&id=${contactId}"
    assert fill_placeholders(url, EVENT) == (
        "https://x.test/hook?email=test%40rambler.ru&id=295953704"
    )


def test_it_fills_nested_fields_and_list_entries():
    url = "https://x.test/${user.tags.1}?email=${user.email}"
    assert fill_placeholders(url, EVENT) == "https://x.test/beta?email=nested%40example.com"


def test_missing_and_null_fields_become_empty():
    url = "https://x.test/hook?a=${nope}&b=${user.nope.deeper}&c=${statusDescription}&d=${email.x}"
    assert fill_placeholders(url, EVENT) == "https://x.test/hook?a=&b=&c=&d="


def test_booleans_and_objects_are_written_as_json():
    url = "https://x.test/hook?bounce=${hardBounce}&tags=${user.tags}"
    assert fill_placeholders(url, EVENT) == (
        "https://x.test/hook?bounce=false&tags=%5B%22vip%22%2C%22beta%22%5D"
    )


def test_values_cannot_change_the_urls_structure():
    url = "https://x.test/hook/${email}?next=${email}"
    filled = fill_placeholders(url, {"email": "a/b?c#d@e&f=g"})
    assert filled == "https://x.test/hook/a%2Fb%3Fc%23d%40e%26f%3Dg?next=a%2Fb%3Fc%23d%40e%26f%3Dg"
    parts = urlsplit(filled)
    assert parts.netloc == "x.test"
    assert parts.fragment == ""
    assert parse_qs(parts.query) == {"next": ["a/b?c#d@e&f=g"]}


def test_unicode_is_utf8_percent_encoded():
    assert fill_placeholders("https://x.test/?n=${name}", {"name": "Zoë ✓"}) == (
        "https://x.test/?n=Zo%C3%AB%20%E2%9C%93"
    )


def test_malformed_placeholders_are_left_alone():
    url = "https://x.test/?a=${a b}&b=${}"
    assert fill_placeholders(url, {"a b": "x"}) == url


# Validating -------------------------------------------------------------------------------


def test_well_formed_placeholders_are_valid():
    assert validate_placeholders("https://x.test/${user_id}/?e=${user.email}&k=${_k9}") == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "https://x.test/hook?email=${",
            "Unclosed placeholder ${: end it with }, as in ${email}.",
        ),
        (
            "https://x.test/hook?email=${email",
            "Unclosed placeholder ${email: end it with }, as in ${email}.",
        ),
        (
            "https://x.test/hook?email=${}",
            "Empty placeholder ${}: put a field name inside, such as ${email}.",
        ),
        (
            "https://x.test/hook?email=${a b}",
            "Invalid placeholder ${a b}: use letters, digits and underscores, with dots for "
            "nested fields, such as ${user.email}.",
        ),
        (
            "https://x.test/hook?email=${1st}",
            "Invalid placeholder ${1st}: use letters, digits and underscores, with dots for "
            "nested fields, such as ${user.email}.",
        ),
        (
            "https://x.test/hook?email=${user..email}",
            "Invalid placeholder ${user..email}: use letters, digits and underscores, with dots "
            "for nested fields, such as ${user.email}.",
        ),
        (
            "https://x.test/hook?email=${user.}",
            "Invalid placeholder ${user.}: use letters, digits and underscores, with dots "
            "for nested fields, such as ${user.email}.",
        ),
        (
            "https://${tenant}.x.test/hook",
            "Placeholder ${tenant} is in the address's host: placeholders may only be used in "
            "the path or query, so an event cannot choose where it is sent.",
        ),
    ],
)
def test_malformed_placeholders_get_a_message(url, message):
    assert validate_placeholders(url) == [message]


def test_each_problem_gets_its_own_message():
    errors = validate_placeholders("https://x.test/${}/${a b}?e=${email}&x=${")
    assert [error.split(" ")[0] for error in errors] == ["Empty", "Invalid", "Unclosed"]


def test_unknown_names_are_refused_when_the_caller_knows_the_fields():
    allowed = payload_field_paths(EVENT)
    assert validate_placeholders("https://x.test/?e=${email}&u=${user.email}", allowed) == []
    assert validate_placeholders("https://x.test/?e=${foo}", allowed) == [
        "Unknown placeholder ${foo}: use a field of the event, such as ${email}."
    ]


def test_the_suggestion_is_the_closest_field():
    allowed = {"phoneNumber", "campaignId", "email"}
    assert validate_placeholders("https://x.test/?p=${phonenumber}", allowed) == [
        "Unknown placeholder ${phonenumber}: use a field of the event, such as ${phoneNumber}."
    ]


def test_any_name_is_accepted_without_an_allowed_set():
    assert validate_placeholders("https://x.test/?e=${anything.at.all}") == []


def test_payload_field_paths_lists_top_level_and_nested_names():
    payload = {"email": "x", "user": {"email": "y", "Full Name": "z"}, "Product ID": {"a": 1}}
    assert payload_field_paths(payload) == {"email", "user", "user.email"}
