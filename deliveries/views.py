from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from deliveries import charts, logs, recovery, services
from deliveries.models import Attempt, Delivery
from subscriptions import catalog, validation
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
    """The topics a test event can be sent for (the rule the API shares), labelled."""
    choices = []
    for key in validation.sendable_event_types(webhook.topics):
        spec = catalog.get(key)
        if spec is None:
            choices.append((key, key))
        else:
            # The fallback for a webhook without topics is shown by its label alone.
            choices.append((key, f"{spec.label} ({key})" if webhook.topics else spec.label))
    return choices


@login_required
def send_test_event(request, slug, pk):
    workspace = get_workspace_for_admin(request, slug)
    webhook = get_live_webhook(workspace, pk)
    choices = topic_choices(webhook)
    error = ""
    if request.method == "POST":
        event_type = request.POST.get("type", "")
        error = validation.check_sendable_event_type(webhook.topics, event_type) or ""
        if not error:
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


# --- logs ---------------------------------------------------------------------------------------
# Members read the logs; admins resend, retry and replay (403 for members); outsiders get 404
# for every URL of the workspace, POSTs included (the workspace check comes first).


def _webhook(request, slug, pk, *, admin=False) -> Webhook:
    workspace = (get_workspace_for_admin if admin else get_workspace_for_member)(request, slug)
    webhook = get_live_webhook(workspace, pk)
    webhook.workspace = workspace
    return webhook


def _attempt(webhook, attempt_id) -> Attempt:
    return get_object_or_404(
        Attempt.objects.select_related("delivery"), webhook=webhook, pk=attempt_id
    )


def _logs_url(webhook, anchor="") -> str:
    return reverse("webhook_logs", args=[webhook.workspace.slug, webhook.pk]) + anchor


FILTER_FIELDS = ("result", "event_type", "since", "until", "message_id")


@login_required
@require_GET
def webhook_logs(request, slug, pk):
    webhook = _webhook(request, slug, pk)
    bound = any(request.GET.get(name) for name in FILTER_FIELDS)
    form = logs.LogFilterForm(request.GET if bound else None, event_types=webhook.topics)
    filters = form.filters()
    raw_cursor = request.GET.get("cursor", "")
    cursor = logs.Cursor.decode(raw_cursor)
    log_page = logs.page(webhook.pk, filters, cursor)

    now = timezone.now()
    last_24h = charts.last_24h(webhook.pk, now)
    hours = last_24h.hours
    keep = request.GET.copy()
    keep.pop("cursor", None)
    for name in list(keep):
        if not keep.get(name):
            keep.pop(name)
    return render(
        request,
        "deliveries/webhook_logs.html",
        {
            "workspace": webhook.workspace,
            "webhook": webhook,
            "form": form,
            "filters": filters,
            "page": log_page,
            "bad_cursor": bool(raw_cursor) and cursor is None,
            "filter_query": keep.urlencode(),
            "chart": charts.render_svg(hours, chart_id=f"chart-{webhook.pk}"),
            "failed_24h": last_24h.rate.attempts - last_24h.rate.succeeded,
            "rate": last_24h.rate,
            "retention_days": settings.WEBHOOKS_LOG_RETENTION_DAYS,
            "replay": recovery.replay_offer(webhook, now),
            "progress": recovery.latest_progress(webhook.pk),
            "count_limit": recovery.COUNT_LIMIT,
            "is_admin": request.membership.is_admin,
        },
    )


@login_required
@require_GET
def attempt_detail(request, slug, pk, attempt_id):
    webhook = _webhook(request, slug, pk)
    attempt = _attempt(webhook, attempt_id)
    delivery = attempt.delivery
    others = list(
        delivery.attempts.order_by("-number", "-id").only(
            "id", "number", "trigger", "started_at", "succeeded", "response_status",
            "error_kind", "error_message", "duration_ms", "delivery_id",
        )[:50]
    )
    request_body, request_kind = logs.pretty_body(attempt.request_body, attempt.request_headers)
    response_body, response_kind = logs.pretty_body(
        attempt.response_body, attempt.response_headers
    )
    return render(
        request,
        "deliveries/attempt_detail.html",
        {
            "workspace": webhook.workspace,
            "webhook": webhook,
            "attempt": attempt,
            "delivery": delivery,
            "others": others,
            "more_attempts": delivery.attempt_count > len(others),
            "request_body": request_body,
            "request_kind": request_kind,
            "response_body": response_body,
            "response_kind": response_kind,
            "result_words": logs.describe_result(attempt),
            "can_resend": recovery.can_resend(delivery),
            "is_admin": request.membership.is_admin,
            "logs_url": _logs_url(webhook),
        },
    )


@login_required
@require_POST
def attempt_resend(request, slug, pk, attempt_id):
    webhook = _webhook(request, slug, pk, admin=True)
    attempt = _attempt(webhook, attempt_id)
    try:
        delivery = recovery.resend(attempt.delivery)
    except recovery.RecoveryError as exc:
        messages.error(request, str(exc))
    else:
        note = (
            ""
            if webhook.is_enabled or delivery.is_test
            else " The webhook is switched off: it is sent once you switch it on."
        )
        messages.success(
            request,
            f"Resend queued for {delivery.message_id} (same webhook-id, so your endpoint can "
            f"dedupe it). The new attempt appears here within seconds.{note}",
        )
    return redirect("attempt_detail", slug=slug, pk=pk, attempt_id=attempt.pk)


def _default_since(webhook, now):
    if webhook.failing_since:
        return webhook.failing_since
    return (now - timedelta(hours=24)).replace(second=0, microsecond=0)


@login_required
def webhook_retry_failed(request, slug, pk):
    """GET: pick a time, see how many would be retried, confirm. POST: run it in the
    background and go back to the logs, where the progress line shows."""
    webhook = _webhook(request, slug, pk, admin=True)
    now = timezone.now()
    if request.method == "POST":
        data = request.POST
    else:
        data = request.GET if "since" in request.GET else None
    form = RetryFailedForm(data, initial={"since": _default_since(webhook, now)})
    count = None
    if form.is_bound and form.is_valid():
        since = form.cleaned_data["since"]
        if request.method == "POST":
            try:
                progress = recovery.start_retry_failed_since(webhook, since)
            except recovery.RecoveryError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(
                    request,
                    f"Retrying {progress.total:,} failed deliver"
                    f"{'y' if progress.total == 1 else 'ies'} since "
                    f"{since:%-d %b %Y, %H:%M} UTC in the background.",
                )
                return redirect(_logs_url(webhook, "#progress"))
        count = recovery.count_failed_since(webhook.pk, since)
    return render(
        request,
        "deliveries/retry_failed.html",
        {
            "workspace": webhook.workspace,
            "webhook": webhook,
            "form": form,
            "count": count,
            "count_limit": recovery.COUNT_LIMIT,
            "progress": recovery.latest_progress(webhook.pk),
            "logs_url": _logs_url(webhook),
        },
    )


@login_required
@require_GET
def webhook_retry_progress(request, slug, pk, job_key):
    """The progress line (htmx polls it every 2 s); without htmx, back to the logs page."""
    webhook = _webhook(request, slug, pk)
    progress = recovery.get_progress(job_key)
    if progress is None or progress.webhook_id != webhook.pk:
        raise Http404("No such job")
    if not request.htmx:
        return redirect(_logs_url(webhook, "#progress"))
    return render(
        request,
        "deliveries/_retry_progress.html",
        {"workspace": webhook.workspace, "webhook": webhook, "progress": progress},
    )


@login_required
@require_POST
def webhook_replay(request, slug, pk):
    """Replay after outage: switch an auto-disabled webhook back on (if it still is) and retry
    what failed while it was down."""
    webhook = _webhook(request, slug, pk, admin=True)
    was_disabled = webhook.status == Webhook.Status.AUTO_DISABLED
    try:
        progress = recovery.replay_after_outage(webhook)
    except recovery.RecoveryError as exc:
        messages.error(request, str(exc))
        return redirect(_logs_url(webhook))
    switched = f"Webhook “{webhook.name}” is switched on again. " if was_disabled else ""
    if progress is None:
        messages.info(request, f"{switched}Nothing failed while it was down: nothing to replay.")
    else:
        messages.success(
            request,
            f"{switched}Replaying {progress.total:,} deliver"
            f"{'y' if progress.total == 1 else 'ies'} that failed while it was down.",
        )
    return redirect(_logs_url(webhook, "#progress"))


class RetryFailedForm(forms.Form):
    since = forms.DateTimeField(
        label="Failed since (UTC)",
        input_formats=logs.DATETIME_LOCAL_FORMATS,
        error_messages={
            "required": "Choose the time from which failed deliveries are retried.",
            "invalid": "Enter a date and time, e.g. 2025-01-31 14:00.",
        },
    )

    def clean_since(self):
        since = self.cleaned_data["since"]
        if since > timezone.now():
            raise forms.ValidationError("Choose a time in the past.")
        return since
