from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from deliveries import services
from deliveries.models import Delivery
from subscriptions import catalog
from subscriptions.models import Webhook
from webhooks_site.crypto import mask
from workspaces.access import get_workspace_for_admin, get_workspace_for_member

# After this long without an attempt, the page says no worker is processing the queue.
NO_WORKER_AFTER = timedelta(seconds=10)


def get_live_webhook(workspace, pk) -> Webhook:
    return get_object_or_404(
        Webhook.objects.live().managed_in_settings(), workspace=workspace, pk=pk
    )


def topic_choices(webhook: Webhook) -> list[tuple[str, str]]:
    """The topics a test event can be sent for: the webhook's own, labelled."""
    choices = []
    for key in webhook.topics:
        spec = catalog.get(key)
        choices.append((key, f"{spec.label} ({key})" if spec else key))
    return choices or [(s.key, s.label) for s in catalog.EVENT_TYPES[:1]]


@login_required
def send_test_event(request, slug, pk):
    workspace = get_workspace_for_admin(request, slug)
    webhook = get_live_webhook(workspace, pk)
    choices = topic_choices(webhook)
    error = ""
    if request.method == "POST":
        event_type = request.POST.get("type", "")
        if event_type not in dict(choices):
            error = "Choose one of this webhook's topics."
        else:
            delivery = services.send_test(webhook, event_type)
            if request.htmx:
                return render_test_result(request, workspace, delivery)
            return redirect("test_delivery_result", slug=slug, delivery_id=delivery.pk)
    return render(
        request,
        "deliveries/send_test_event.html",
        {"webhook": webhook, "choices": choices, "error": error,
         "selected": request.POST.get("type") or choices[0][0]},
    )


@login_required
def test_delivery_result(request, slug, delivery_id):
    workspace = get_workspace_for_admin(request, slug)
    delivery = get_object_or_404(
        Delivery.objects.select_related("webhook"), workspace=workspace, pk=delivery_id,
        is_test=True,
    )
    if delivery.webhook.is_deleted:
        raise Http404("No such delivery")
    if request.htmx:
        return render_test_result(request, workspace, delivery)
    return render(
        request,
        "deliveries/send_test_event.html",
        {"webhook": delivery.webhook, "choices": topic_choices(delivery.webhook),
         "selected": delivery.event_type, **test_result_context(workspace, delivery)},
    )


def test_result_context(workspace, delivery: Delivery) -> dict:
    attempt = delivery.attempts.order_by("-number").first()
    waited = timezone.now() - delivery.created_at
    return {
        "delivery": delivery,
        "attempt": attempt,
        "no_worker": attempt is None and waited > NO_WORKER_AFTER,
        "poll_url": reverse("test_delivery_result", args=[workspace.slug, delivery.pk]),
    }


def render_test_result(request, workspace, delivery):
    return render(request, "deliveries/_test_result.html", test_result_context(workspace, delivery))


@login_required
def api_docs(request, slug):
    workspace = get_workspace_for_member(request, slug)
    token = workspace.client_token if request.membership.is_admin else None
    return render(
        request,
        "deliveries/api_docs.html",
        {
            "token": token,
            "masked_token": mask(workspace.client_token),
            "ingest_url": request.build_absolute_uri(reverse("ingest_events")),
            "sample_type": "form.submitted",
        },
    )
