"""The event catalog: every event type a webhook can subscribe to.

This module is the single source of truth for event types. The data migration loads
``EVENT_TYPES`` into the ``EventType`` table, and the webhook form, the management API and the
ingest API validate topics and incoming event types with ``validate_event_type()``, so the
same rules and the same messages apply everywhere.

Each type carries a sample payload in ``subscriptions/samples/<key>.json``, taken from the
public help pages the product brief is built on; "Send test event" sends it.

Two kinds of key are open-ended:

- ``system.<name>``: system events are whatever the product tracks, so any lowercase
  ``system.<name>`` is accepted, except the handful that can never be sent through webhooks
  (``EXCLUDED_SYSTEM_EVENTS``). Only the system events listed in ``EVENT_TYPES`` have a spec
  (and a sample); ``get()`` returns None for the others.
- ``custom``: one type for every named custom event; the event's name travels next to it and
  is required.

Pure Python: nothing here touches the database, so importing it is always safe.
"""

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"

CUSTOM_EVENT = "custom"
CUSTOM_EVENT_NAME_MAX_LENGTH = 200
SYSTEM_PREFIX = "system."
_SYSTEM_NAME_RE = re.compile(r"[a-z0-9_]+")


@dataclass(frozen=True)
class EventTypeSpec:
    key: str
    label: str
    group: str
    description: str
    sample_file: str

    def sample(self) -> dict:
        """A fresh copy of this type's sample payload (safe to mutate)."""
        return json.loads(_read_sample(self.sample_file))


@cache
def _read_sample(filename: str) -> str:
    return (SAMPLES_DIR / filename).read_text(encoding="utf-8")


def _spec(key: str, label: str, group: str, description: str) -> EventTypeSpec:
    return EventTypeSpec(key, label, group, description, sample_file=f"{key}.json")


CONTENT = "Content"
FEEDBACK = "Feedback & surveys"
JOURNEYS = "Journeys"
MESSAGING = "Messaging activity"
DEMOS = "Demos"
SYSTEM = "System events"
CUSTOM = "Custom events"
CHATBOT = "Chatbot"

GROUPS: list[str] = [CONTENT, FEEDBACK, JOURNEYS, MESSAGING, DEMOS, SYSTEM, CUSTOM, CHATBOT]

EVENT_TYPES: list[EventTypeSpec] = [
    # Content (in-app content)
    _spec(
        "content.viewed",
        "Content view",
        CONTENT,
        "Someone was shown a piece of in-app content. properties.slug names the content "
        "and userId the person who saw it.",
    ),
    _spec(
        "content.interaction",
        "Content interaction",
        CONTENT,
        "Someone clicked or otherwise used an interactive element inside in-app content. "
        "properties.eventName carries the interaction label set in the editor.",
    ),
    _spec(
        "form.submitted",
        "Form submission",
        CONTENT,
        "Someone sent a form embedded in in-app content. properties.formName identifies the "
        "form; the other properties hold the answers, one key per field.",
    ),
    # Feedback & surveys
    _spec(
        "feedback.submitted",
        "Feedback submitted",
        FEEDBACK,
        "A user left new feedback: its category, message, contact details and the page or "
        "device it came from.",
    ),
    _spec(
        "feedback.reply_submitted",
        "Feedback reply submitted",
        FEEDBACK,
        "A new message was added to an existing feedback thread, linked to the original "
        "feedback by feedbackId.",
    ),
    _spec(
        "survey.response_submitted",
        "Survey response submitted",
        FEEDBACK,
        "A user finished a survey; the payload lists each question with the answer given.",
    ),
    # Journeys
    _spec(
        "journey.created",
        "Journey created",
        JOURNEYS,
        "A new journey was saved for the first time, usually still as a draft.",
    ),
    _spec(
        "journey.updated",
        "Journey updated",
        JOURNEYS,
        "The settings or steps of an existing journey were changed.",
    ),
    _spec(
        "journey.published",
        "Journey published",
        JOURNEYS,
        "A journey went live and starts enrolling users; the payload says who activated it "
        "and when.",
    ),
    _spec(
        "journey.deleted",
        "Journey deleted",
        JOURNEYS,
        "A journey was removed and will no longer enrol anyone.",
    ),
    # Messaging activity (one activity per event; batched webhooks send them as an array)
    _spec(
        "message.delivered",
        "Message delivered",
        MESSAGING,
        "A message reached the contact's inbox or device (activityStatus DELIVERED).",
    ),
    _spec(
        "message.undelivered",
        "Message undelivered",
        MESSAGING,
        "A message could not be delivered (activityStatus UNDELIVERED). statusDescription "
        "gives the reason and hardBounce says whether the address was blocklisted.",
    ),
    _spec(
        "message.read",
        "Message read",
        MESSAGING,
        "The contact opened a message (activityStatus READ).",
    ),
    _spec(
        "message.clicked",
        "Message link clicked",
        MESSAGING,
        "The contact followed a link in a message (activityStatus CLICKED); clickEventLink "
        "holds the address they opened.",
    ),
    _spec(
        "contact.unsubscribed",
        "Contact unsubscribed",
        MESSAGING,
        "The contact opted out of a mailing list from a message (activityStatus UNSUBSCRIBED).",
    ),
    _spec(
        "message.spam_reported",
        "Spam reported",
        MESSAGING,
        "The contact flagged a message as spam (activityStatus SPAM).",
    ),
    _spec(
        "subscription.changed",
        "Subscription categories changed",
        MESSAGING,
        "The contact picked different subscription categories (activityStatus "
        "SUBSCRIPTION_CHANGED); statusData lists the categories they now receive.",
    ),
    # Demos
    _spec(
        "demo.session_finished",
        "Demo session finished",
        DEMOS,
        "A viewer's session on an interactive demo ended. Engagement figures are computed "
        "first, so this can arrive up to about two hours after the session.",
    ),
    # System events (open-ended: any system.<name> is accepted, these two have samples)
    _spec(
        "system.push_notification_accepted",
        "Push notification accepted",
        SYSTEM,
        "The push service took a notification for delivery to the user's device.",
    ),
    _spec(
        "system.push_notification_rejected",
        "Push notification rejected",
        SYSTEM,
        "The push service refused a notification; event_data.result and "
        "system_data.push_notification_content explain why.",
    ),
    # Custom events
    _spec(
        CUSTOM_EVENT,
        "Custom event",
        CUSTOM,
        'An event your application tracks under its own name, such as "Added To Cart". '
        "A webhook on this topic lists the names it wants to receive.",
    ),
    # Chatbot
    _spec(
        "chatbot.response",
        "Chatbot answer received",
        CHATBOT,
        "A chatbot step set to redirect to a webhook asked a question and the user replied; "
        "response holds what they typed.",
    ),
    _spec(
        "chatbot.option_selected",
        "Chatbot option selected",
        CHATBOT,
        "A user picked a menu option that has the webhook switch on; option is the menu text "
        "and keyword the number they typed. Fires before the flow moves on.",
    ),
]

# System events that exist in the product but are never delivered to webhooks.
EXCLUDED_SYSTEM_EVENTS: dict[str, str] = {
    "system.app_installed": "App Installed",
    "system.app_upgraded": "App Upgraded",
    "system.app_crashed": "App Crashed",
    "system.app_uninstalled": "App Uninstalled",
    "system.user_login": "User Login",
    "system.user_logout": "User Logout",
    "system.session_started": "Session Started",
}

_BY_KEY: dict[str, EventTypeSpec] = {spec.key: spec for spec in EVENT_TYPES}


def get(key: str) -> EventTypeSpec | None:
    """The spec of a catalogued event type, or None (also for uncatalogued system events)."""
    return _BY_KEY.get(key)


# The longest type an event, a delivery or an attempt stores (their event type columns).
EVENT_TYPE_MAX_LENGTH = 150


def validate_event_type(key: str, *, name: str | None = None) -> str | None:
    """Check an event type (and, for custom events, its name).

    Returns a message to show the user, or None when the type is acceptable. The ``name`` is
    only looked at for custom events.
    """
    if key == CUSTOM_EVENT:
        if not isinstance(name, str) or not name.strip():
            return "A custom event needs a name."
        if len(name) > CUSTOM_EVENT_NAME_MAX_LENGTH:
            return f"A custom event name can be at most {CUSTOM_EVENT_NAME_MAX_LENGTH} characters."
        return None
    if isinstance(key, str):
        if key in _BY_KEY:
            return None
        if key in EXCLUDED_SYSTEM_EVENTS:
            return (
                f"'{EXCLUDED_SYSTEM_EVENTS[key]}' ({key}) is a system event that cannot be "
                "sent through webhooks."
            )
        if key.startswith(SYSTEM_PREFIX) and _SYSTEM_NAME_RE.fullmatch(
            key.removeprefix(SYSTEM_PREFIX)
        ):
            if len(key) > EVENT_TYPE_MAX_LENGTH:
                return f"An event type can be at most {EVENT_TYPE_MAX_LENGTH} characters."
            return None
    return f"Unknown event type '{key}'. Use one of the types listed at GET /api/v1/event-types."


def grouped() -> list[tuple[str, list[EventTypeSpec]]]:
    """The catalogued types by group, groups and types in display order."""
    return [(group, [spec for spec in EVENT_TYPES if spec.group == group]) for group in GROUPS]


def choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped ``(key, label)`` choices, ready for a Django ChoiceField's optgroups."""
    return [(group, [(spec.key, spec.label) for spec in specs]) for group, specs in grouped()]
