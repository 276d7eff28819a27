from django.contrib import admin

from workspaces.models import Membership, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "https_only", "member_count", "created_at"]
    list_filter = ["https_only"]
    search_fields = ["name", "slug"]
    readonly_fields = ["masked_client_token", "client_token_rolled_at", "created_at"]
    # The token itself never appears in the admin; admins reveal it in the dashboard.
    exclude = ["client_token", "client_token_hash"]
    inlines = [MembershipInline]

    @admin.display(description="Members")
    def member_count(self, obj):
        return obj.memberships.count()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role", "workspace"]
    search_fields = ["user__username", "workspace__name", "workspace__slug"]
    list_select_related = ["user", "workspace"]
