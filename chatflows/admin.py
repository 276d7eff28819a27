"""The operators' console for chatbot flows: which campaigns exist, how a step is set up, and
where a phone number is stuck. Flows are built in the editor (its rules and the webhook
bookkeeping live there), so steps are read-only here; conversations can be reset."""

from django.contrib import admin, messages

from chatflows.models import Campaign, ChatMessage, Conversation, Interaction


class StepInline(admin.TabularInline):
    model = Interaction
    fk_name = "campaign"
    extra = 0
    can_delete = False
    fields = ["label", "parent", "keyword", "menu_text", "redirect_type", "webhook_toggle",
              "webhook"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign_id", "workspace", "channel", "status", "created_at"]
    list_filter = ["status", "channel", "workspace"]
    search_fields = ["name", "campaign_id"]
    list_select_related = ["workspace"]
    readonly_fields = ["workspace", "created_at", "updated_at"]
    inlines = [StepInline]


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["label", "campaign", "keyword", "redirect_type", "webhook_toggle",
                    "has_webhook"]
    list_filter = ["redirect_type", "webhook_toggle", "is_welcome"]
    search_fields = ["label", "menu_text", "campaign__campaign_id", "campaign__name"]
    list_select_related = ["campaign"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # deleting needs the editor's checks (redirect targets, webhooks)

    @admin.display(boolean=True, description="Webhook")
    def has_webhook(self, obj):
        return obj.uses_webhook


class ChatMessageInline(admin.TabularInline):
    model = ChatMessage
    extra = 0
    can_delete = False
    fields = ["created_at", "direction", "text"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["phone_number", "campaign", "state", "step", "simulated", "last_message_at"]
    list_filter = ["state", "simulated"]
    search_fields = ["phone_number", "campaign__campaign_id"]
    list_select_related = ["campaign", "step"]
    readonly_fields = ["campaign", "phone_number", "simulated", "state", "step", "started_at",
                       "last_message_at"]
    inlines = [ChatMessageInline]
    actions = ["start_over"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Start over (next message gets the Welcome Message)")
    def start_over(self, request, queryset):
        count = queryset.update(state=Conversation.State.ENDED, step=None)
        messages.success(request, f"{count} conversation(s) will start over.")
