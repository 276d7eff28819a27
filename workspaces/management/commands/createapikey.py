from django.core.management.base import BaseCommand, CommandError

from workspaces.models import ApiKey, Workspace


class Command(BaseCommand):
    help = (
        "Create an admin API key for a workspace's management API (/api/v1/). The key is "
        "printed once, alone on the last line, for install scripts; only its hash is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The workspace's slug")
        parser.add_argument("--name", required=True, help="What uses the key, e.g. 'Terraform'")

    def handle(self, *args, slug, name, **options):
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            raise CommandError(f"No workspace with the slug '{slug}'.")
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("Give the key a name of 1 to 100 characters.")
        api_key, key = ApiKey.issue(workspace, name)
        self.stdout.write(
            f"API key '{api_key.name}' created for workspace '{workspace.name}'. "
            "Store it now: it is not shown again."
        )
        self.stdout.write(key)
