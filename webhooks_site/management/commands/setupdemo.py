import secrets

from django.core.management.base import BaseCommand

from workspaces.models import Workspace
from workspaces.services import add_member, create_workspace, get_or_create_user

DEMO_SLUG = "demo"
DEMO_USERNAME = "admin"


class Command(BaseCommand):
    help = "Create (or refresh) the demo workspace and its admin login, and print them."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000")

    def handle(self, *args, url, **options):
        # A fresh password on every run: it is printed below, and nothing else stores it.
        user, password = get_or_create_user(DEMO_USERNAME, secrets.token_urlsafe(9))
        user.is_staff = True
        user.is_superuser = True
        user.save()
        workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
        if workspace is None:
            workspace = create_workspace(slug=DEMO_SLUG, name="Demo workspace", admin=user)
        else:
            add_member(workspace, user, role="admin")
        self._after_setup(workspace)
        line = "=" * 64
        self.stdout.write(line)
        self.stdout.write(f"  Open      {url}/accounts/login/")
        self.stdout.write(f"  Username  {user.username}")
        self.stdout.write(f"  Password  {password}")
        self.stdout.write(f"  Workspace {workspace.name} ({url}/w/{workspace.slug}/)")
        self.stdout.write(line)

    def _after_setup(self, workspace):
        """Hook for demo data of the other apps (webhooks, inbox)."""
        from inbox.services import inbox_url
        from subscriptions.models import Webhook
        from subscriptions.services import create_webhook

        # The demo webhook delivers to the workspace's own test inbox, so a fresh install
        # shows deliveries, signatures and logs without any server of the user's own.
        url = inbox_url(workspace)
        demo = Webhook.objects.live().filter(workspace=workspace, name__iexact="Demo inbox").first()
        if demo is None:
            create_webhook(
                Webhook(
                    workspace=workspace,
                    name="Demo inbox",
                    url=url,
                    topics=[
                        "content.viewed",
                        "form.submitted",
                        "message.delivered",
                        "demo.session_finished",
                    ],
                    format=Webhook.Format.DEFAULT,
                    status=Webhook.Status.ENABLED,
                ),
                headers=[("X-Demo", "yes")],
            )
        elif demo.url != url:
            # SITE_URL changed since the last run: follow it.
            demo.url = url
            demo.save(update_fields=["url", "updated_at"])

        # A chatbot campaign whose steps post to the same inbox (see Chatbot flows). Its
        # webhooks are validated like any other: with private networks refused (production
        # settings) a local inbox URL is too, and the chatbot demo is left out.
        from django.core.exceptions import ValidationError

        from chatflows.services import create_demo_campaign

        try:
            create_demo_campaign(workspace, url)
        except ValidationError as exc:
            self.stdout.write(f"Chatbot demo left out: {'; '.join(exc.messages)}")
