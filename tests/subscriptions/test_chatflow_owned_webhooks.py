"""A chatbot step's webhook belongs to its flow: the webhook screens and publish() leave it
alone, so nobody changes its format or floods it with ingested events."""

from deliveries.models import Delivery
from deliveries.services import publish
from subscriptions.models import Webhook
from tests.subscriptions.factories import make_webhook


def chatflow_hook(workspace, name="Chatbot 13010 · Welcome Message", **fields):
    return make_webhook(workspace, name=name,
                        source=Webhook.Source.CHATFLOW,
                        topics=["chatbot.response", "chatbot.option_selected"], **fields)


def test_the_webhook_list_and_deleted_list_leave_chatflow_webhooks_out(alice_client, acme):
    chatflow_hook(acme)
    gone = chatflow_hook(acme, name="Old step")
    Webhook.objects.filter(pk=gone.pk).update(deleted_at=gone.created_at)
    make_webhook(acme, name="Orders hook")
    html = alice_client.get("/w/acme/settings/integrations/webhooks/").content.decode()
    assert "Orders hook" in html
    assert "Chatbot 13010" not in html
    deleted = alice_client.get("/w/acme/settings/integrations/webhooks/deleted/").content.decode()
    assert "Old step" not in deleted


def test_chatflow_webhooks_cannot_be_edited_or_tested_from_the_webhook_screens(
    alice_client, acme
):
    hook = chatflow_hook(acme)
    base = f"/w/acme/settings/integrations/webhooks/{hook.pk}"
    assert alice_client.get(f"{base}/").status_code == 404
    assert alice_client.post(f"{base}/toggle/").status_code == 404
    assert alice_client.get(f"{base}/test-event/").status_code == 404


def test_ingested_chatbot_events_do_not_reach_chatflow_webhooks(acme):
    hook = chatflow_hook(acme)
    publish(acme, "chatbot.response", {"campaignId": "13010", "response": "John Doe"})
    assert not Delivery.objects.filter(webhook=hook).exists()
