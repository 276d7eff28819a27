"""GET/POST /chatflows/campaigns, GET /chatflows/campaigns/{id}, GET/POST
/chatflows/campaigns/{id}/interactions: the dashboard's services, rules and messages."""

from api.models import ApiCall
from chatflows import services
from chatflows.forms import CampaignForm
from chatflows.models import Campaign, Interaction
from chatflows.services import WebhookSettings
from tests.api.conftest import errors_of

URL = "https://example.com/chatbot"


def make_campaign(workspace, campaign_id="13010", name="EliPackage streaming"):
    return services.create_campaign(
        Campaign(workspace=workspace, campaign_id=campaign_id, name=name),
        welcome_prompt="Welcome! Which membership would you like?",
    )


def test_campaigns_are_created_listed_and_read(api, acme, globex):
    response = api.post(
        "/chatflows/campaigns",
        {"campaign_id": " 13010 ", "name": "Streaming", "channel": "sms", "status": "paused"},
    )
    assert response.status_code == 201, response.content
    data = response.json()
    campaign = Campaign.objects.get(pk=data["id"])
    assert campaign.workspace == acme and campaign.campaign_id == "13010"
    assert (data["campaign_id"], data["name"], data["channel"], data["status"]) == (
        "13010",
        "Streaming",
        "sms",
        "paused",
    )
    assert campaign.welcome.label == "Welcome Message"

    others = [make_campaign(acme, f"c{n}") for n in range(2)]
    make_campaign(globex, "99")
    first = api.get("/chatflows/campaigns?limit=2").json()
    assert [c["id"] for c in first["data"]] == [campaign.pk, others[0].pk]
    rest = api.get(f"/chatflows/campaigns?limit=2&cursor={first['next_cursor']}").json()
    assert [c["id"] for c in rest["data"]] == [others[1].pk]
    assert rest["next_cursor"] is None

    detail = api.get(f"/chatflows/campaigns/{campaign.pk}")
    assert detail.status_code == 200 and detail.json() == data


def test_a_duplicate_campaign_id_gets_the_forms_message(api, acme):
    make_campaign(acme, "13010")
    body = {"campaign_id": "13010", "name": "Again", "channel": "whatsapp", "status": "active"}
    response = api.post("/chatflows/campaigns", body)
    assert response.status_code == 400
    form = CampaignForm(body, workspace=acme)
    assert not form.is_valid()
    assert errors_of(response) == [("campaign_id", form.errors["campaign_id"][0])]
    assert Campaign.objects.filter(workspace=acme).count() == 1


def test_the_interactions_list_the_welcome_message_and_steps_without_header_values(api, acme):
    campaign = make_campaign(acme)
    option = services.save_interaction(
        Interaction(
            campaign=campaign,
            parent=campaign.welcome,
            keyword=1,
            label="One year",
            menu_text="One year",
            redirect_type="end",
            webhook_toggle=True,
        ),
        WebhookSettings(url=URL, headers=[("X-Token", "s3cret-value")]),
    )
    response = api.get(f"/chatflows/campaigns/{campaign.pk}/interactions")
    assert response.status_code == 200
    assert "s3cret-value" not in response.content.decode()
    welcome, step = response.json()["data"]
    assert welcome["is_welcome"] and welcome["label"] == "Welcome Message"
    assert welcome["redirect_type"] == "menu" and welcome["webhook_url"] is None
    assert step["id"] == option.pk and step["parent"] == campaign.welcome.pk
    assert (step["keyword"], step["menu_text"], step["webhook_toggle"]) == (1, "One year", True)
    assert step["webhook_url"] == URL and step["webhook_header_names"] == ["X-Token"]


def test_an_option_with_the_toggle_is_created_with_its_webhook(api, acme):
    campaign = make_campaign(acme)
    response = api.post(
        f"/chatflows/campaigns/{campaign.pk}/interactions",
        {
            "label": "One year",
            "menu_text": "One year",
            "prompt": "An agent will contact you today.",
            "redirect_type": "end",
            "webhook_toggle": True,
            "webhook_url": URL,
            "webhook_headers": [{"name": "X-Token", "value": "abc"}],
        },
    )
    assert response.status_code == 201, response.content
    data = response.json()
    step = Interaction.objects.get(pk=data["id"])
    assert step.campaign == campaign and step.parent == campaign.welcome and step.keyword == 1
    assert step.webhook.url == URL and step.webhook.status == "enabled"
    assert [(h.name, h.value) for h in step.webhook.headers.all()] == [("X-Token", "abc")]
    assert data["webhook_toggle"] is True and data["webhook_header_names"] == ["X-Token"]


def test_a_webhook_step_is_created(api, acme):
    campaign = make_campaign(acme)
    response = api.post(
        f"/chatflows/campaigns/{campaign.pk}/interactions",
        {
            "label": "Your name",
            "keyword": 4,
            "prompt": "What is your name?",
            "redirect_type": "webhook",
            "answer_reply": "Thanks!",
            "webhook_url": URL,
        },
    )
    assert response.status_code == 201, response.content
    step = Interaction.objects.get(pk=response.json()["id"])
    assert step.redirect_type == "webhook" and step.keyword == 4
    assert step.answer_reply == "Thanks!" and step.webhook.url == URL


def test_a_webhook_step_refuses_menu_text_and_redirect_to_as_the_service_does(api, acme):
    campaign = make_campaign(acme)
    target = services.save_interaction(
        Interaction(
            campaign=campaign,
            parent=campaign.welcome,
            keyword=1,
            label="Plans",
            menu_text="Plans",
            redirect_type="menu",
        )
    )
    response = api.post(
        f"/chatflows/campaigns/{campaign.pk}/interactions",
        {
            "label": "Your name",
            "keyword": 2,
            "menu_text": "Name",
            "redirect_type": "webhook",
            "redirect_to_interaction": target.pk,
        },
    )
    assert response.status_code == 400
    expected = Interaction(
        campaign=campaign,
        parent=campaign.welcome,
        keyword=2,
        label="Your name",
        menu_text="Name",
        redirect_type="webhook",
        redirect_to_interaction=target,
    ).problems(headers=[])
    assert set(expected) == {"menu_text", "redirect_to", "prompt", "webhook_url"}
    errors = dict(errors_of(response))
    assert errors == {
        "menu_text": expected["menu_text"],
        "redirect_to_interaction": expected["redirect_to"],
        "prompt": expected["prompt"],
        "webhook_url": expected["webhook_url"],
    }
    assert not campaign.steps.filter(label="Your name").exists()


def test_another_workspaces_campaign_is_a_404(globex_api, acme):
    campaign = make_campaign(acme)
    for path in ("", "/interactions"):
        response = globex_api.get(f"/chatflows/campaigns/{campaign.pk}{path}")
        assert response.status_code == 404
        assert errors_of(response) == [(None, "No such campaign in this workspace.")]
    response = globex_api.post(
        f"/chatflows/campaigns/{campaign.pk}/interactions",
        {"label": "X", "menu_text": "X", "redirect_type": "end"},
    )
    assert response.status_code == 404
    assert campaign.steps.count() == 1


def test_calls_are_recorded_in_the_audit_log(api, acme):
    campaign = make_campaign(acme)
    api.get("/chatflows/campaigns")
    api.post(f"/chatflows/campaigns/{campaign.pk}/interactions", {"label": "X"})
    calls = ApiCall.objects.filter(workspace=acme).order_by("pk")
    assert [(c.method, c.path, c.status_code) for c in calls] == [
        ("GET", "/api/v1/chatflows/campaigns", 200),
        ("POST", f"/api/v1/chatflows/campaigns/{campaign.pk}/interactions", 400),
    ]
