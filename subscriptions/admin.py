"""The operators' console for webhooks, connectors and the event catalog.

Secrets never appear here: header values, signing keys and connector secrets are shown masked
and read-only. Admins of a workspace reveal them in the dashboard, where access is per workspace.
"""

from django.contrib import admin, messages

from subscriptions import services
from subscriptions.models import Connector, EventType, SigningKey, Webhook, WebhookHeader
from webhooks_site.crypto import mask


class WebhookHeaderInline(admin.TabularInline):
    model = WebhookHeader
    extra = 0
    can_delete = False
    fields = ["position", "name", "masked_value"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Value")
    def masked_value(self, obj):
        return mask(obj.value)


class SigningKeyInline(admin.TabularInline):
    model = SigningKey
    extra = 0
    can_delete = False
    fields = ["masked", "created_at", "expires_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["workspace", "name", "status", "url", "last_delivery_at", "created_at"]
    list_display_links = ["name"]
    list_filter = ["status", "workspace", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "url"]
    list_select_related = ["workspace"]
    readonly_fields = [
        "status_changed_at",
        "disabled_reason",
        "failing_since",
        "failure_warning_sent_at",
        "last_delivery_at",
        "last_status_code",
        "last_error",
        "last_succeeded",
        "deleted_at",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["connector"]
    inlines = [WebhookHeaderInline, SigningKeyInline]
    actions = ["enable", "disable"]

    @admin.action(description="Enable the selected webhooks")
    def enable(self, request, queryset):
        for webhook in queryset:
            services.set_enabled(webhook, True)
        self.message_user(request, f"{queryset.count()} webhook(s) enabled.", messages.SUCCESS)

    @admin.action(description="Disable the selected webhooks")
    def disable(self, request, queryset):
        for webhook in queryset:
            services.set_enabled(webhook, False)
        self.message_user(request, f"{queryset.count()} webhook(s) disabled.", messages.SUCCESS)


@admin.register(Connector)
class ConnectorAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "kind", "masked_secret", "created_at"]
    list_filter = ["kind", "workspace"]
    search_fields = ["name"]
    list_select_related = ["workspace"]
    # The secret is replaced in the dashboard, never shown or edited here.
    exclude = ["secret"]
    readonly_fields = ["masked_secret", "created_at", "updated_at"]

    def has_add_permission(self, request):
        # A connector without a secret would be useless; create them in the dashboard.
        return False


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    """The catalog is loaded by a data migration from subscriptions/catalog.py: look, don't
    edit (changes here would be overwritten and would drift from the code that validates)."""

    list_display = ["key", "label", "group", "position"]
    list_filter = ["group"]
    search_fields = ["key", "label", "description"]
    readonly_fields = ["key", "label", "group", "description", "sample", "position"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
