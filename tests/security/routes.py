"""The project's URL patterns, enumerated, and Acme's objects to fill them with: shared by the
tenant isolation and CSRF tests so neither can miss a new view."""

import re

from django.urls import URLPattern, URLResolver, get_resolver

from deliveries.models import Attempt, Delivery
from deliveries.services import publish, send_test
from subscriptions.models import Connector, Webhook
from tests.subscriptions.factories import make_connector, make_webhook

# Every route that is neither a workspace's (/w/<slug>/), the API's, nor the admin's, with the
# reason it may be reached by anyone.
PUBLIC = {
    "": "home: redirects to the login page, or to the visitor's own first workspace",
    "healthz": "health of the database, Redis and workers for load balancers: no tenant data",
    "accounts/login/": "the login form",
    "accounts/logout/": "logging out",
    "inbox/<str:token>/": "the test inbox's receiving end: the unguessable token is the secret",
    r"^inbox/(?P<token>[A-Za-z0-9_-]+)(?:/(?P<subpath>.+))?$": "the same inbox, any sub-path",
    "api/v1/openapi.json": "the management API's public description: no data",
    "api/v1/docs": "the management API's documentation page: no data",
    "admin/login/": "the admin's login form",
    "admin/logout/": "the admin's logout",
}
# Routes whose parameter is not an object the test can make for Acme, so Acme's admin gets a
# 404 too; outsiders are still checked.
NOT_AN_OBJECT = {
    "retry-failed/<str:job_key>/": "a job key exists only while a 'retry all failed' runs",
    "simulator/fired/": "the simulator's list for one phone number, given as ?phone=",
}
TENANT_PREFIXES = ("w/<slug:slug>/", "api/v1/")
ADMIN_PREFIX = "admin/"
_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")
MARKER = "acme-private-7f3a"  # in the name of every Acme object: must never reach an outsider


def all_routes() -> list[str]:
    """Every URL pattern of the project, as its full route string, in resolver order."""
    routes = []

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                routes.append(prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns, "")
    return list(dict.fromkeys(routes))


def has_object_id(route) -> bool:
    return any(m.group("name") != "slug" for m in _PARAM.finditer(route))


# --- Acme's objects, and filling a route with them --------------------------------------------


def make_acme_objects(acme) -> dict:
    """One of everything in Acme, each named with MARKER; the ids to fill routes with."""
    from chatflows import services as chat_services
    from chatflows.models import Campaign, Interaction
    from inbox.models import Inbox
    from workspaces.models import ApiKey

    connector = make_connector(acme, name=f"{MARKER} connector")
    webhook = make_webhook(acme, name=f"{MARKER} hook", url="https://hooks.example.com/acme",
                           topics=["form.submitted"], connector=connector)
    deleted = make_webhook(acme, name=f"{MARKER} deleted", url="https://hooks.example.com/d")
    deleted.deleted_at = deleted.created_at
    deleted.save()
    test_delivery = send_test(webhook, "form.submitted")
    publish(acme, "form.submitted", {"email": f"{MARKER}@example.com"})
    delivery = Delivery.objects.get(webhook=webhook, is_test=False)
    attempt = Attempt.objects.create(
        delivery=delivery, webhook=webhook, number=1, trigger="event",
        event_type="form.submitted", request_method="POST", request_url=webhook.url,
        response_status=500, response_body=MARKER,
    )
    campaign = chat_services.create_campaign(
        Campaign(workspace=acme, campaign_id="4242", name=f"{MARKER} campaign"),
        welcome_prompt=f"Welcome to {MARKER}",
    )
    step = chat_services.save_interaction(
        Interaction(campaign=campaign, parent=campaign.welcome, keyword=1,
                    menu_text=f"{MARKER} option", label="Option 1", redirect_type="end"),
        None,
    )
    api_key, _ = ApiKey.issue(acme, f"{MARKER} key")
    Inbox.for_workspace(acme)
    ids_by_segment = {
        "webhooks": webhook.pk, "connectors": connector.pk, "chatbots": campaign.pk,
        "api-keys": api_key.pk, "deliveries": delivery.pk, "attempts": attempt.pk,
    }
    by_name = {
        "slug": "acme", "webhook_id": webhook.pk, "connector_id": connector.pk,
        "delivery_id": test_delivery.pk, "attempt_id": attempt.pk, "step_id": step.pk,
        "campaign_id": campaign.campaign_id, "job_key": "job", "token": "x", "subpath": "x",
        "object_id": "1", "app_label": "auth", "url": "x",
    }
    return {"by_name": by_name, "by_segment": ids_by_segment, "webhook": webhook,
            "deleted": deleted, "api_delivery": delivery}




def fill(route: str, objects) -> str:
    """The route with its parameters replaced by Acme's real ids (the object the segment
    before a <pk> names), so an outsider's 404 means "refused", not "no such object"."""

    def value(match):
        name = match.group("name")
        if name == "pk":
            segment = route[: match.start()].rstrip("/").rsplit("/", 1)[-1]
            return str(objects["by_segment"].get(segment, 1))
        if name == "delivery_id" and route.startswith("api/"):
            return str(objects["api_delivery"].pk)
        return str(objects["by_name"].get(name, 1))

    return "/" + _PARAM.sub(value, route)


def acme_state(acme) -> tuple:
    """Everything an outsider could try to change, in one comparable value."""
    from chatflows.models import Campaign, Interaction
    from inbox.models import Inbox
    from workspaces.models import ApiKey

    acme.refresh_from_db()
    return (
        acme.client_token, acme.name, acme.https_only,
        sorted(Webhook.objects.filter(workspace=acme).values_list(
            "pk", "name", "url", "status", "deleted_at", "updated_at")),
        sorted((k.webhook_id, k.secret, str(k.expires_at))
               for k in Webhook.signing_keys.rel.related_model.objects.filter(
                   webhook__workspace=acme)),
        sorted(Connector.objects.filter(workspace=acme).values_list("pk", "name", "kind")),
        sorted(Delivery.objects.filter(workspace=acme).values_list(
            "pk", "status", "next_attempt_at")),
        sorted(Campaign.objects.filter(workspace=acme).values_list("pk", "name")),
        Interaction.objects.filter(campaign__workspace=acme).count(),
        sorted(ApiKey.objects.filter(workspace=acme).values_list("pk", "revoked_at")),
        list(Inbox.objects.filter(workspace=acme).values_list("response_status", flat=True)),
    )


