from django.contrib import admin

from inbox.models import Inbox, InboxRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    """Inboxes are made by the product and requests by their senders: the admin only reads."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Inbox)
class InboxAdmin(ReadOnlyAdmin):
    list_display = ["workspace", "response_status", "request_count", "created_at"]
    list_filter = ["response_status"]
    search_fields = ["workspace__name", "workspace__slug"]
    list_select_related = ["workspace"]
    # The token is the inbox's only protection; the dashboard shows it to the workspace.
    exclude = ["token"]

    @admin.display(description="Requests stored")
    def request_count(self, obj):
        return obj.requests.count()


@admin.register(InboxRequest)
class InboxRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "received_at",
        "workspace",
        "method",
        "relative_path",
        "signature_state",
        "answered_status",
        "body_size",
        "remote_addr",
    ]
    list_filter = ["signature_state", "answered_status", "method"]
    search_fields = ["inbox__workspace__slug", "inbox__workspace__name", "remote_addr"]
    list_select_related = ["inbox__workspace"]
    date_hierarchy = "received_at"
    show_full_result_count = False  # every receive writes here; counting is not free

    @admin.display(description="Workspace", ordering="inbox__workspace__name")
    def workspace(self, obj):
        return obj.inbox.workspace
