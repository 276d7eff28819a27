"""The operators' console for the delivery log: events, deliveries, attempts.

Read-only: these rows are what happened, and the engine owns them. Operators act through the
actions (resend, cancel), which call the same services as the dashboard. Only superusers may
delete (the retention job purges old rows anyway).

Built for tables with millions of rows: list_select_related, exact-match searches on indexed
ids (message id, event id), filters typed as ids or slugs instead of dropdowns listing every
workspace, and a bounded row count instead of COUNT(*) over the whole table.
"""

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.html import format_html

from deliveries import recovery
from deliveries.models import Attempt, Delivery, Event

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows (SELECT COUNT(*) FROM (... LIMIT n)): the changelist
    stays fast on a huge table; past the cap, narrow the list with search or filters."""

    @cached_property
    def count(self):
        return self.object_list.order_by()[: COUNT_CAP + 1].count()


class InputFilter(admin.SimpleListFilter):
    """A filter typed into a text box (a dropdown of thousands of workspaces is useless)."""

    template = "deliveries/admin_input_filter.html"

    def lookups(self, request, model_admin):
        return ((),)  # the filter renders when lookups are non-empty

    def choices(self, changelist):
        query = changelist.get_filters_params()
        query.pop(self.parameter_name, None)
        yield {
            "parameter_name": self.parameter_name,
            "value": self.value() or "",
            "others": [
                (key, value)
                for key, values in query.items()
                for value in (values if isinstance(values, list) else [values])
            ],
        }


class WorkspaceFilter(InputFilter):
    title = "workspace (slug)"
    parameter_name = "workspace"
    path = "workspace__slug"

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        return queryset.filter(**{self.path: value}) if value else queryset


class WebhookFilter(InputFilter):
    title = "webhook (id)"
    parameter_name = "webhook"

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(webhook_id=int(value))


class AttemptWorkspaceFilter(WorkspaceFilter):
    path = "webhook__workspace__slug"


class ReadOnlyAdmin(admin.ModelAdmin):
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_resend_permission(self, request):
        return request.user.is_superuser or request.user.has_perm("deliveries.change_delivery")


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "name", "workspace", "received_at"]
    list_filter = [WorkspaceFilter, "type"]
    search_fields = ["=event_id"]
    list_select_related = ["workspace"]
    ordering = ["-id"]

    def get_search_results(self, request, queryset, search_term):
        # A pasted message id finds the event it belongs to.
        term = search_term.strip()
        if term.startswith("msg_"):
            return queryset.filter(deliveries__message_id=term), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "message_id",
        "webhook_link",
        "event_type",
        "status_badge",
        "attempt_count",
        "next_attempt_at",
        "last_result",
        "is_test",
        "created_at",
    ]
    list_filter = ["status", "is_test", WorkspaceFilter, WebhookFilter]
    search_fields = ["=message_id", "=event__event_id"]
    list_select_related = ["webhook", "workspace"]
    ordering = ["-id"]
    raw_id_fields = ["event", "webhook", "workspace"]
    actions = ["resend", "cancel"]

    @admin.display(description="Webhook", ordering="webhook_id")
    def webhook_link(self, obj):
        return format_html("{} <span style='color:#888'>#{}</span>", obj.webhook.name,
                           obj.webhook_id)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        colour = {"succeeded": "#137a4a", "failed": "#b42318", "pending": "#8a5a00",
                  "sending": "#4338ca"}.get(obj.status, "#5f6b7a")
        return format_html("<strong style='color:{}'>{}</strong>", colour,
                           obj.get_status_display())

    @admin.display(description="Last result")
    def last_result(self, obj):
        if obj.last_status_code:
            return f"HTTP {obj.last_status_code}"
        return obj.last_error or "—"

    @admin.action(description="Resend the selected deliveries", permissions=["resend"])
    def resend(self, request, queryset):
        sent = skipped = 0
        for delivery in queryset.select_related(None):
            try:
                recovery.resend(delivery)
                sent += 1
            except recovery.RecoveryError:
                skipped += 1
        note = f" {skipped} being sent right now were left alone." if skipped else ""
        self.message_user(request, f"{sent} deliveries queued for resending.{note}",
                          messages.SUCCESS)

    @admin.action(description="Cancel the selected pending deliveries", permissions=["resend"])
    def cancel(self, request, queryset):
        # Only pending ones: a delivery being sent is the worker's until it records the result.
        cancelled = queryset.filter(status=Delivery.Status.PENDING).update(
            status=Delivery.Status.CANCELLED, lease_expires_at=None
        )
        self.message_user(request, f"{cancelled} pending deliveries cancelled.", messages.SUCCESS)


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "webhook_name",
        "message_id",
        "number",
        "trigger",
        "response_status",
        "error",
        "duration_ms",
        "started_at",
    ]
    list_filter = ["succeeded", "trigger", AttemptWorkspaceFilter, WebhookFilter]
    search_fields = ["=delivery__message_id"]
    list_select_related = ["webhook", "delivery"]
    ordering = ["-id"]
    raw_id_fields = ["delivery", "webhook"]

    @admin.display(description="Webhook", ordering="webhook_id")
    def webhook_name(self, obj):
        return f"{obj.webhook.name} #{obj.webhook_id}"

    @admin.display(description="Message id")
    def message_id(self, obj):
        return obj.delivery.message_id

    @admin.display(description="Error")
    def error(self, obj):
        return obj.error_message or obj.error_kind or ""
