from datetime import timedelta

from django.utils import timezone

from deliveries.models import Delivery


def send_test_url(hook):
    return f"/w/acme/settings/integrations/webhooks/{hook.pk}/test-event/"


def test_the_test_event_page_offers_the_webhooks_topics(alice_client, make_webhook):
    hook = make_webhook("https://a.example/", topics=["form.submitted", "content.viewed"])
    html = alice_client.get(send_test_url(hook)).content.decode()
    assert '<option value="form.submitted" selected>' in html
    assert '<option value="content.viewed">' in html


def test_a_topic_the_webhook_does_not_have_is_refused(alice_client, make_webhook):
    hook = make_webhook("https://a.example/", topics=["form.submitted"])
    response = alice_client.post(send_test_url(hook), {"type": "message.read"})
    assert "Choose one of this webhook&#x27;s topics." in response.content.decode()
    assert not Delivery.objects.exists()


def test_sending_creates_a_test_delivery_and_shows_it_pending(alice_client, make_webhook):
    hook = make_webhook("https://a.example/", topics=["form.submitted"])
    response = alice_client.post(send_test_url(hook), {"type": "form.submitted"})
    delivery = Delivery.objects.get()
    assert (delivery.is_test, delivery.event_id, delivery.next_trigger) == (True, None, "test")
    assert response.status_code == 302
    assert response.url == f"/w/acme/settings/integrations/test-deliveries/{delivery.pk}/"
    page = alice_client.get(response.url).content.decode()
    assert 'data-test-result="pending"' in page


def test_after_ten_seconds_without_a_worker_the_page_says_so(alice_client, make_webhook):
    hook = make_webhook("https://a.example/", topics=["form.submitted"])
    alice_client.post(send_test_url(hook), {"type": "form.submitted"})
    Delivery.objects.update(created_at=timezone.now() - timedelta(seconds=11))
    delivery = Delivery.objects.get()
    html = alice_client.get(
        f"/w/acme/settings/integrations/test-deliveries/{delivery.pk}/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'data-test-result="no-worker"' in html
    assert "queue is not being processed" in html


def test_members_and_outsiders_cannot_send_test_events(bob_client, charlie_client, make_webhook):
    hook = make_webhook("https://a.example/", topics=["form.submitted"])
    assert bob_client.get(send_test_url(hook)).status_code == 403
    assert bob_client.post(send_test_url(hook), {"type": "form.submitted"}).status_code == 403
    assert charlie_client.get(send_test_url(hook)).status_code == 404
    assert charlie_client.post(send_test_url(hook), {"type": "form.submitted"}).status_code == 404
    assert not Delivery.objects.exists()


def test_another_workspaces_test_result_is_404(charlie_client, alice_client, make_webhook):
    hook = make_webhook("https://a.example/", topics=["form.submitted"])
    alice_client.post(send_test_url(hook), {"type": "form.submitted"})
    delivery = Delivery.objects.get()
    url = f"/w/globex/settings/integrations/test-deliveries/{delivery.pk}/"
    assert charlie_client.get(url).status_code == 404


def test_the_api_page_shows_a_curl_with_the_token_to_admins_only(alice_client, client, bob, acme):
    html = alice_client.get("/w/acme/settings/integrations/api/").content.decode()
    assert f"Bearer {acme.client_token}" in html
    assert "http://testserver/api/v1/events" in html
    client.force_login(bob)
    member_html = client.get("/w/acme/settings/integrations/api/").content.decode()
    assert acme.client_token not in member_html
    assert "Only admins see the client token" in member_html
