"""The editor's forms. They parse what was typed and apply the models' rules
(``Campaign.problems()``, ``Interaction.problems()``), so the form and the model refuse the
same things with the same words; views assign and call chatflows/services.py.

Fields a Redirect Type does not use (Menu Text, Redirect To and the toggle for Webhook; Redirect
To for Menu and End) are hidden by the page's script, which also disables them so they are not
posted. Without JavaScript they stay visible: a value posted in one of them is **refused and
cleared**, so the page says why and the next Save goes through.
"""

import json

from django import forms
from django.forms.utils import ErrorDict

from chatflows.models import MAX_TEXT, Campaign, Interaction
from chatflows.services import WebhookSettings, descendants
from subscriptions import validation

Types = Interaction.RedirectType
EMPTY_HEADER_ROWS = 1
CLEARED = " It has been cleared: check the form and save again."


class NumberField(forms.CharField):
    """A whole number, or what was typed when it is not one (the model's rule words it)."""

    widget = forms.NumberInput

    def to_python(self, value):
        value = super().to_python(value).strip()
        if value == "":
            return None
        try:
            return int(value)
        except ValueError:
            return value


class ModelRulesMixin:
    """Put a model's ``problems()`` on the form's fields."""

    field_for_problem: dict[str, str] = {}

    def add_problems(self, problems: dict[str, str], suffixes: dict[str, str] | None = None):
        for key, message in problems.items():
            name = self.field_for_problem.get(key, key)
            if name not in self.fields:
                name = None
            self.add_error(name, message + (suffixes or {}).get(key, ""))


class CampaignForm(ModelRulesMixin, forms.Form):
    campaign_id = forms.CharField(required=False, label="Campaign ID")
    name = forms.CharField(required=False)
    channel = forms.ChoiceField(choices=Campaign.Channel.choices)
    status = forms.ChoiceField(choices=Campaign.Status.choices, initial=Campaign.Status.ACTIVE)
    welcome_prompt = forms.CharField(
        required=False, label="Welcome Message", widget=forms.Textarea(attrs={"rows": 3})
    )
    end_message = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    fallback_message = forms.CharField(
        required=False,
        label="When the reply is not an option",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, workspace, instance: Campaign | None = None, **kwargs):
        self.workspace = workspace
        self.instance = instance or Campaign(workspace=workspace)
        if "initial" not in kwargs:
            kwargs["initial"] = {
                "campaign_id": self.instance.campaign_id,
                "name": self.instance.name,
                "channel": self.instance.channel,
                "status": self.instance.status,
                "end_message": self.instance.end_message,
                "fallback_message": self.instance.fallback_message,
            }
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["welcome_prompt"]  # edited on the Welcome Message's own form

    def clean(self):
        data = super().clean()
        candidate = self.apply(Campaign(pk=self.instance.pk, workspace=self.workspace))
        if len(data.get("welcome_prompt") or "") > MAX_TEXT:
            self.add_error("welcome_prompt", f"At most {MAX_TEXT:,} characters.")
        self.add_problems(candidate.problems())
        return data

    def apply(self, campaign: Campaign) -> Campaign:
        data = self.cleaned_data
        campaign.campaign_id = data.get("campaign_id", "").strip()
        campaign.name = data.get("name", "").strip()
        campaign.channel = data.get("channel") or campaign.channel
        campaign.status = data.get("status") or campaign.status
        campaign.end_message = data.get("end_message", "").strip()
        campaign.fallback_message = data.get("fallback_message", "").strip()
        return campaign


class InteractionForm(ModelRulesMixin, forms.Form):
    """Add or edit a step. For the Welcome Message, the menu fields (menu, keyword, menu
    text, Redirect To, toggle) are not offered."""

    parent = forms.ModelChoiceField(
        queryset=Interaction.objects.none(),
        required=False,
        empty_label=None,
        label="Menu",
        error_messages={"invalid_choice": "Choose one of this campaign's menus."},
    )
    label = forms.CharField(required=False)
    keyword = NumberField(required=False)
    menu_text = forms.CharField(required=False, label="Menu Text")
    prompt = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    redirect_type = forms.ChoiceField(choices=Types.choices, label="Redirect Type")
    redirect_to_interaction = forms.ModelChoiceField(
        queryset=Interaction.objects.none(),
        required=False,
        empty_label="Choose an interaction…",
        label="Redirect To",
        error_messages={"invalid_choice": "Redirect To must be an interaction of this campaign."},
    )
    redirect_to_campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.none(),
        required=False,
        empty_label="Choose a campaign…",
        label="Redirect To",
        error_messages={"invalid_choice": "Redirect To must be a campaign of this workspace."},
    )
    webhook_toggle = forms.BooleanField(required=False, label="Webhook")
    answer_reply = forms.CharField(
        required=False, label="Reply after the answer", widget=forms.Textarea(attrs={"rows": 2})
    )
    webhook_url = forms.CharField(required=False, label="URL")
    webhook_extra_body = forms.CharField(
        required=False,
        label="Body",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    field_for_problem = {"webhook_headers": "__all__"}

    def __init__(self, *args, campaign: Campaign, instance: Interaction, **kwargs):
        self.campaign = campaign
        self.instance = instance
        if "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(instance)
        super().__init__(*args, **kwargs)
        if self.is_bound:
            self.data = self.data.copy()  # so refused values can be cleared for the re-render
        exclude = {instance.pk} if instance.pk else set()
        if instance.pk:
            exclude |= {s.pk for s in descendants(instance)}
        steps = campaign.steps.order_by("-is_welcome", "label", "pk")
        self.fields["parent"].queryset = steps.filter(
            redirect_type__in=[Types.MENU, Types.WEBHOOK]
        ).exclude(pk__in=exclude)
        self.fields["redirect_to_interaction"].queryset = steps.exclude(pk=instance.pk)
        self.fields["redirect_to_campaign"].queryset = campaign.workspace.campaigns.order_by(
            "name"
        )
        self.fields["redirect_type"].choices = [
            (value, label) for value, label in Types.choices
            if value in instance.allowed_redirect_types()
        ]
        if instance.is_welcome:
            for name in ("parent", "label", "keyword", "menu_text", "redirect_to_interaction",
                         "redirect_to_campaign", "webhook_toggle"):
                del self.fields[name]
        self.header_rows = self._header_rows()
        self.header_errors: list[str] = []

    @staticmethod
    def initial_from(step: Interaction) -> dict:
        hook = step.webhook if step.webhook_id else None
        return {
            "parent": step.parent_id,
            "label": step.label,
            "keyword": step.keyword,
            "menu_text": step.menu_text,
            "prompt": step.prompt,
            "redirect_type": step.redirect_type,
            "redirect_to_interaction": step.redirect_to_interaction_id,
            "redirect_to_campaign": step.redirect_to_campaign_id,
            "webhook_toggle": step.webhook_toggle,
            "answer_reply": step.answer_reply,
            "webhook_url": hook.url if hook else "",
            "webhook_extra_body": json.dumps(hook.extra_body, indent=2)
            if hook and hook.extra_body else "",
        }

    # --- header rows (parallel header_name / header_value lists, as on the webhook form) -----

    def _header_rows(self) -> list[dict]:
        if self.is_bound:
            names = self.data.getlist("header_name")
            values = self.data.getlist("header_value")
            rows = [
                {"name": n.strip(), "value": v.strip(), "error": None, "saved": False}
                for n, v in zip(names, values, strict=False)
            ]
            remove = self.data.get("remove_header", "")
            if remove.isdigit() and int(remove) < len(rows):
                del rows[int(remove)]
            if "add_header" in self.data:
                rows.append({"name": "", "value": "", "error": None, "saved": False})
            return rows
        hook = self.instance.webhook if self.instance.webhook_id else None
        rows = [
            {"name": h.name, "value": h.value, "error": None, "saved": True}
            for h in (hook.headers.all() if hook else [])
        ]
        if not rows:
            rows = [{"name": "", "value": "", "error": None, "saved": False}] * EMPTY_HEADER_ROWS
        return rows

    @property
    def is_editing_rows(self) -> bool:
        """Add or delete header pressed without JavaScript: re-render, save nothing."""
        return self.is_bound and ("add_header" in self.data or "remove_header" in self.data)

    def without_errors(self) -> "InteractionForm":
        self._errors = ErrorDict()
        return self

    # --- parsing and the rules -----------------------------------------------------------------

    def clean_webhook_extra_body(self):
        value, error = validation.parse_extra_body(self.cleaned_data["webhook_extra_body"])
        if error:
            raise forms.ValidationError(error)
        return value

    def clean(self):
        data = super().clean()
        if "redirect_type" not in data:
            return data
        if self.has_error("redirect_to_interaction") or self.has_error("redirect_to_campaign"):
            return data  # a Redirect To of another campaign or workspace: said already
        step = self.apply(self._candidate())
        uses_webhook = step.uses_webhook
        headers = self._clean_headers() if uses_webhook else None
        if uses_webhook:
            step.webhook = self._candidate_webhook(data)
        suffixes = self._clear_unused(step)
        problems = step.problems(headers=headers)
        if self.has_error("webhook_extra_body"):
            problems.pop("webhook_extra_body", None)
        problems.pop("webhook_headers", None)  # reported on the rows, by _clean_headers
        problems = {self._where(key, step): msg for key, msg in problems.items()}
        problems = {key: msg for key, msg in problems.items() if not self.has_error(key)}
        suffixes = {self._where(key, step): msg for key, msg in suffixes.items()}
        self.add_problems(problems, suffixes)
        return data

    def _candidate(self) -> Interaction:
        """A copy of the step to judge, so a refused form never changes the real one."""
        return Interaction(
            pk=self.instance.pk,
            campaign=self.campaign,
            is_welcome=self.instance.is_welcome,
            label=self.instance.label,
            parent_id=self.instance.parent_id,
            keyword=self.instance.keyword,
        )

    def _candidate_webhook(self, data):
        from subscriptions.models import Webhook

        return Webhook(
            workspace=self.campaign.workspace,
            url=(data.get("webhook_url") or "").strip(),
            extra_body=data.get("webhook_extra_body") or {},
        )

    def _where(self, key: str, step: Interaction) -> str:
        """The form field a model problem belongs on."""
        if key == "redirect_to":
            if step.redirect_to_campaign_id and not step.redirect_to_interaction_id:
                return "redirect_to_campaign"
            if step.redirect_type == Types.CAMPAIGN:
                return "redirect_to_campaign"
            return "redirect_to_interaction"
        return key

    def _clear_unused(self, step: Interaction) -> dict[str, str]:
        """Fields posted although the Redirect Type does not use them: the model refuses them
        (problems()); here they are also emptied for the re-render. Returns the suffix to add
        to each refusal."""
        kind = step.redirect_type
        cleared: dict[str, str] = {}
        if kind == Types.WEBHOOK and step.menu_text:
            self.data["menu_text"] = ""
            cleared["menu_text"] = CLEARED
        if step.webhook_toggle and (kind == Types.WEBHOOK or step.is_welcome):
            self.data.pop("webhook_toggle", None)
            cleared["webhook_toggle"] = " It has been switched off: save again."
        unused = []
        if kind != Types.INTERACTION and step.redirect_to_interaction_id:
            unused.append("redirect_to_interaction")
        if kind != Types.CAMPAIGN and step.redirect_to_campaign_id:
            unused.append("redirect_to_campaign")
        for name in unused:
            self.data[name] = ""
            cleared["redirect_to"] = CLEARED
        return cleared

    def _clean_headers(self) -> list[tuple[str, str]]:
        filled = [row for row in self.header_rows if row["name"] or row["value"]]
        headers = [(row["name"], row["value"]) for row in filled]
        row_errors, overall = validation.header_problems(headers)
        for row, error in zip(filled, row_errors, strict=True):
            row["error"] = error
        self.header_errors = overall
        if any(row_errors) or overall:
            self.add_error(None, "Some custom headers need fixing: see Headers.")
        return headers

    def apply(self, step: Interaction) -> Interaction:
        """Copy the cleaned values onto ``step`` (the view then saves it)."""
        data = self.cleaned_data
        step.prompt = (data.get("prompt") or "").strip()
        step.redirect_type = data.get("redirect_type") or step.redirect_type
        # Only a question has an answer to reply to.
        step.answer_reply = (
            (data.get("answer_reply") or "").strip() if step.redirect_type == Types.WEBHOOK else ""
        )
        if step.is_welcome:
            return step
        step.parent = data.get("parent")
        step.label = (data.get("label") or "").strip()
        step.keyword = data.get("keyword")
        step.menu_text = (data.get("menu_text") or "").strip()
        step.redirect_to_interaction = data.get("redirect_to_interaction")
        step.redirect_to_campaign = data.get("redirect_to_campaign")
        step.webhook_toggle = bool(data.get("webhook_toggle"))
        return step

    def webhook_settings(self) -> WebhookSettings:
        data = self.cleaned_data
        filled = [row for row in self.header_rows if row["name"] or row["value"]]
        return WebhookSettings(
            url=(data.get("webhook_url") or "").strip(),
            headers=[(row["name"], row["value"]) for row in filled],
            extra_body=data.get("webhook_extra_body") or {},
        )

    # --- what the template needs ---------------------------------------------------------------

    @property
    def current_type(self) -> str:
        return self["redirect_type"].value() or self.instance.redirect_type
