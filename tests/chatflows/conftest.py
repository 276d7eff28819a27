"""Factories for chatbot flows: campaigns built through the services, as the editor builds them."""

import pytest

from chatflows import services
from chatflows.models import Campaign, Interaction
from chatflows.services import WebhookSettings

PHONE = "+525500000000"


@pytest.fixture
def make_campaign(acme):
    def make(campaign_id="13010", name="EliPackage streaming", workspace=None,
             welcome_prompt="Welcome! Which membership would you like?", **fields):
        return services.create_campaign(
            Campaign(workspace=workspace or acme, campaign_id=campaign_id, name=name, **fields),
            welcome_prompt=welcome_prompt,
        )

    return make


@pytest.fixture
def campaign(make_campaign):
    return make_campaign()


def add_option(parent, keyword, menu_text="", *, label=None, redirect_type="end", url=None,
               headers=None, extra_body=None, **fields):
    """Save an option in ``parent``'s menu through the service (webhook settings with ``url``)."""
    step = Interaction(
        campaign=parent.campaign,
        parent=parent,
        keyword=keyword,
        menu_text=menu_text,
        label=label or menu_text or f"Option {keyword}",
        redirect_type=redirect_type,
        **fields,
    )
    settings = None
    if url is not None:
        settings = WebhookSettings(url=url, headers=headers or [], extra_body=extra_body or {})
    return services.save_interaction(step, settings)


def make_question(step, url, *, prompt="What is your name?", headers=None, extra_body=None,
                  answer_reply=""):
    """Turn ``step`` (the Welcome Message, say) into a Webhook step."""
    step.redirect_type = Interaction.RedirectType.WEBHOOK
    step.prompt = prompt
    step.answer_reply = answer_reply
    return services.save_interaction(
        step, WebhookSettings(url=url, headers=headers or [], extra_body=extra_body or {})
    )


@pytest.fixture
def plans(campaign):
    """The help page's membership menu on the Welcome Message: 1. One month, 2. Six months,
    3. One year."""
    welcome = campaign.welcome
    return [
        add_option(welcome, 1, "One month", prompt="One month it is."),
        add_option(welcome, 2, "Six months", prompt="Six months it is."),
        add_option(welcome, 3, "One year", prompt="One year it is."),
    ]
