import pytest
from django.contrib.auth import get_user_model

from inbox.models import InboxRequest

pytestmark = pytest.mark.django_db


def test_operators_read_inboxes_and_requests_in_the_admin_but_cannot_add_them(
    client, inbox, receive_url
):
    client.post(receive_url, data=b"{}", content_type="application/json")
    received = InboxRequest.objects.get()
    operator = get_user_model().objects.create_superuser("op", "op@example.com", "pw")
    client.force_login(operator)

    for url in ("/admin/inbox/inbox/", "/admin/inbox/inboxrequest/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Acme" in response.content.decode()
    detail = client.get(f"/admin/inbox/inboxrequest/{received.pk}/change/").content.decode()
    assert 'name="_save"' not in detail  # read-only
    assert client.get("/admin/inbox/inboxrequest/add/").status_code == 403
    # The token (the inbox's only protection) is not shown.
    assert inbox.token not in client.get(f"/admin/inbox/inbox/{inbox.pk}/change/").content.decode()
    assert inbox.token not in client.get("/admin/inbox/inboxrequest/").content.decode()
