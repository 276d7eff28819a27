"""The operators' console for API keys and the API audit log: read-only, keys never shown
(only their prefix), revoking as an action."""

from django.contrib import admin, messages

from api.models import ApiCall
from workspaces.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "workspace",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "workspace"]
    search_fields = ["name", "prefix", "workspace__slug", "workspace__name"]
    list_select_related = ["workspace", "created_by"]
    fields = [
        "workspace",
        "name",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created in the dashboard or by createapikey, shown once there

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for key in queryset.active():
            key.revoke()
        messages.success(request, "The selected keys stopped working.")


@admin.register(ApiCall)
class ApiCallAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "workspace",
        "api_key",
        "method",
        "path",
        "status_code",
        "duration_ms",
        "note",
    ]
    list_filter = ["method", "status_code", "workspace"]
    search_fields = ["path", "note", "api_key__name", "api_key__prefix"]
    list_select_related = ["workspace", "api_key"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
