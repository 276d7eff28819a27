"""Forms for the webhook and connector screens. They parse what was typed into domain values
and apply the rules of subscriptions/validation.py (the management API applies the same ones);
views assign the cleaned values and save."""

import json

from django import forms
from django.forms.utils import ErrorDict

from deliveries import retry
from subscriptions import catalog, validation
from subscriptions.models import MAX_TIMEOUT_SECONDS, Connector, Webhook

EMPTY_HEADER_ROWS = 2  # blank rows the form offers below the existing headers

FORMAT_HELP = {
    Webhook.Format.DEFAULT: 'JSON with the event under a payload key: {"payload": {…}}.',
    Webhook.Format.RAW: "The event object as JSON, exactly as the product produced it.",
    Webhook.Format.SLACK: "A readable Block Kit message, for a Slack incoming webhook URL.",
    Webhook.Format.XML: "The event as an XML document, sent as application/xml.",
}
FORMAT_TITLES = {
    Webhook.Format.DEFAULT: "Default JSON",
    Webhook.Format.RAW: "Raw JSON",
    Webhook.Format.SLACK: "Slack",
    Webhook.Format.XML: "XML",
}

# Fields copied as they are from cleaned_data onto the Webhook.
WEBHOOK_FIELDS = (
    "name",
    "url",
    "method",
    "format",
    "topics",
    "event_names",
    "mode",
    "batch_size",
    "batch_interval_seconds",
    "ordered",
    "retry_policy",
    "max_attempts",
    "rate_limit_per_second",
    "timeout_seconds",
    "connector",
    "extra_body",
)


class NumberField(forms.CharField):
    """A number box whose value reaches validation.py as typed when it is not a whole number,
    so the rule there gives the one message for both "abc" and 9999. Blank is None."""

    widget = forms.NumberInput

    def to_python(self, value):
        value = super().to_python(value).strip()
        if value == "":
            return None
        try:
            return int(value)
        except ValueError:
            return value


def catalog_topic_keys() -> list[str]:
    return [spec.key for spec in catalog.EVENT_TYPES]


class WebhookForm(forms.Form):
    name = forms.CharField(required=False)
    url = forms.CharField(required=False, label="URL")
    method = forms.ChoiceField(
        choices=Webhook.Method.choices, initial=Webhook.Method.POST, widget=forms.RadioSelect
    )
    format = forms.ChoiceField(
        choices=Webhook.Format.choices, initial=Webhook.Format.DEFAULT, widget=forms.RadioSelect
    )
    topics = forms.MultipleChoiceField(
        required=False,
        choices=[(key, key) for key in catalog_topic_keys()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": validation.UNKNOWN_TOPIC_MESSAGE},
    )
    other_system_events = forms.CharField(required=False, label="Other system events")
    event_names = forms.CharField(
        required=False, label="Custom event names", widget=forms.Textarea(attrs={"rows": 3})
    )
    mode = forms.ChoiceField(
        choices=Webhook.Mode.choices, initial=Webhook.Mode.SINGLE, widget=forms.RadioSelect
    )
    batch_size = NumberField(required=False, initial=50)
    batch_interval_seconds = NumberField(required=False, initial=10, label="Batch interval")
    ordered = forms.BooleanField(required=False, label="Deliver in order (FIFO)")
    retry_policy = forms.ChoiceField(
        choices=Webhook.RetryPolicy.choices,
        initial=Webhook.RetryPolicy.EXPONENTIAL,
        widget=forms.RadioSelect,
    )
    max_attempts = NumberField(required=False, initial=retry.DEFAULT_MAX_ATTEMPTS)
    rate_limit_per_second = NumberField(required=False, label="Rate limit")
    timeout_seconds = NumberField(required=False, initial=MAX_TIMEOUT_SECONDS, label="Timeout")
    connector = forms.ModelChoiceField(
        queryset=Connector.objects.none(),
        required=False,
        empty_label="None",
        label="Authentication",
        error_messages={"invalid_choice": validation.UNKNOWN_CONNECTOR_MESSAGE},
    )
    extra_body = forms.CharField(
        required=False,
        label="Extra body parameters",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": '{"source": "crm"}'}),
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, workspace, instance: Webhook | None = None, **kwargs):
        self.workspace = workspace
        self.instance = instance or Webhook(workspace=workspace)
        if self.instance.pk and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(self.instance)
        super().__init__(*args, **kwargs)
        self.fields["connector"].queryset = Connector.objects.filter(workspace=workspace)
        self.header_rows = self._header_rows()
        self.header_errors: list[str] = []

    @staticmethod
    def initial_from(webhook: Webhook) -> dict:
        known = set(catalog_topic_keys())
        return {
            "name": webhook.name,
            "url": webhook.url,
            "method": webhook.method,
            "format": webhook.format,
            "topics": [key for key in webhook.topics if key in known],
            "other_system_events": ", ".join(key for key in webhook.topics if key not in known),
            "event_names": "\n".join(webhook.event_names),
            "mode": webhook.mode,
            "batch_size": webhook.batch_size,
            "batch_interval_seconds": webhook.batch_interval_seconds,
            "ordered": webhook.ordered,
            "retry_policy": webhook.retry_policy,
            "max_attempts": webhook.max_attempts,
            "rate_limit_per_second": webhook.rate_limit_per_second,
            "timeout_seconds": webhook.timeout_seconds,
            "connector": webhook.connector_id,
            "extra_body": json.dumps(webhook.extra_body, indent=2) if webhook.extra_body else "",
            "enabled": webhook.status == Webhook.Status.ENABLED,
        }

    # --- header rows (parallel header_name / header_value lists in the POST) ------------------

    def _header_rows(self) -> list[dict]:
        if self.is_bound:
            names = self.data.getlist("header_name")
            values = self.data.getlist("header_value")
            rows = [
                {"name": name.strip(), "value": value.strip(), "error": None}
                for name, value in zip(names, values, strict=False)
            ]
            remove = self.data.get("remove_header", "")
            if remove.isdigit() and int(remove) < len(rows):
                del rows[int(remove)]
            if "add_header" in self.data:
                rows.append({"name": "", "value": "", "error": None})
            return rows
        rows = [
            {"name": h.name, "value": h.value, "error": None}
            for h in (self.instance.headers.all() if self.instance.pk else [])
        ]
        return rows + [{"name": "", "value": "", "error": None}] * EMPTY_HEADER_ROWS

    @property
    def is_editing_rows(self) -> bool:
        """Add or remove header pressed without JavaScript: re-render, do not save."""
        return self.is_bound and ("add_header" in self.data or "remove_header" in self.data)

    def without_errors(self) -> "WebhookForm":
        """Show the posted values without judging them (for add/remove header rows)."""
        self._errors = ErrorDict()
        self.cleaned_data = {}
        return self

    # --- parsing and the rules ---------------------------------------------------------------

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_event_names(self):
        return validation.parse_list(self.cleaned_data["event_names"])

    def clean_other_system_events(self):
        keys = validation.parse_list(self.cleaned_data["other_system_events"])
        problems = validation.system_event_problems(keys)
        if problems:
            raise forms.ValidationError(problems)
        return keys

    def clean_extra_body(self):
        value, error = validation.parse_extra_body(self.cleaned_data["extra_body"])
        if error:
            raise forms.ValidationError(error)
        return value

    def clean(self):
        """The rules of a whole webhook live in validation.check_webhook (the API applies
        them too); the form parses its boxes into those values and places the messages."""
        data = super().clean()
        has_both = "topics" in data and "other_system_events" in data
        ticked = list(data.get("topics", []))
        data["topics"] = ticked + [
            key for key in data.get("other_system_events", []) if key not in ticked
        ]
        filled = [row for row in self.header_rows if row["name"] or row["value"]]
        data["headers"] = [(row["name"], row["value"]) for row in filled]

        problems = validation.check_webhook(
            data, workspace=self.workspace, instance=self.instance, check_topics=has_both
        )
        for name, messages in problems.fields.items():
            self.add_error(name, messages)
        for row, error in zip(filled, problems.header_rows, strict=True):
            row["error"] = error
        self.header_errors = problems.headers
        if problems.has_header_problems:
            self.add_error(None, "Some headers need fixing: see Custom headers.")
        return data

    # --- what the template needs ---------------------------------------------------------------

    # Where the error summary's links jump to (the field's input, or its section).
    _ANCHORS = {"topics": "topics", "__all__": "headers"}
    _LABELS = {"__all__": "Custom headers", "event_names": "Custom event names"}

    def error_summary(self) -> list[tuple[str, str]]:
        """(label, anchor) of every field with an error, in the order of the form."""
        order = [*self.fields, "__all__"]
        return [
            (
                self._LABELS.get(name)
                or self.fields[name].label
                or name.replace("_", " ").capitalize(),
                self._ANCHORS.get(name, f"id_{name}"),
            )
            for name in sorted(self.errors, key=order.index)
        ]

    def topic_groups(self) -> list[dict]:
        """The catalog's groups with each type's checkbox state, for the grouped checkboxes."""
        chosen = set(self["topics"].value() or [])
        return [
            {
                "name": group,
                "types": [{"spec": spec, "checked": spec.key in chosen} for spec in specs],
            }
            for group, specs in catalog.grouped()
        ]

    def format_cards(self) -> list[dict]:
        current = self["format"].value()
        return [
            {
                "value": value,
                "title": FORMAT_TITLES[value],
                "help": FORMAT_HELP[value],
                "checked": value == current,
            }
            for value, _label in Webhook.Format.choices
        ]

    def policy_sentence(self) -> str:
        return describe_policy(self["retry_policy"].value(), self["max_attempts"].value())


def describe_policy(policy, max_attempts) -> str:
    """retry.describe_policy for whatever the boxes hold (falls back to the defaults)."""
    if policy not in retry.POLICIES:
        policy = retry.POLICY_DEFAULT
    try:
        attempts = int(max_attempts)
    except (TypeError, ValueError):
        attempts = retry.DEFAULT_MAX_ATTEMPTS
    return retry.describe_policy(policy, attempts)


class ConnectorForm(forms.Form):
    name = forms.CharField(required=False)
    kind = forms.ChoiceField(
        choices=Connector.Kind.choices,
        initial=Connector.Kind.BEARER,
        widget=forms.RadioSelect,
        label="Type",
    )
    username = forms.CharField(required=False, max_length=200, label="User name")
    header_name = forms.CharField(required=False, max_length=200, label="Header name")
    secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
    )

    def __init__(self, *args, workspace, instance: Connector | None = None, **kwargs):
        self.workspace = workspace
        self.instance = instance or Connector(workspace=workspace)
        if self.instance.pk and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": self.instance.name,
                "kind": self.instance.kind,
                "username": self.instance.username,
                "header_name": self.instance.header_name,
            }
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The last characters identify the secret; a short one would be given away whole.
            secret = self.instance.secret
            ends = f" (ends in …{secret[-4:]})" if len(secret) >= 12 else ""
            self.fields["secret"].help_text = f"Leave empty to keep the current secret{ends}."

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean(self):
        """The rules live in validation.check_connector (the API applies them too)."""
        data = super().clean()
        for name, message in validation.check_connector(
            data, workspace=self.workspace, instance=self.instance
        ).items():
            self.add_error(name, message)
        return data
