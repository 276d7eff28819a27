from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from workspaces.models import Workspace
from workspaces.services import create_workspace, get_or_create_user


class Command(BaseCommand):
    help = (
        "Create a workspace with an admin user (created when missing). The workspace's client "
        "token is printed alone on the last line, for install scripts."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--admin", required=True, metavar="USERNAME")
        parser.add_argument(
            "--password", help="Password for a new admin user (default: generated and printed)"
        )

    def handle(self, *args, slug, name, admin, password, **options):
        if slugify(slug) != slug:
            raise CommandError(
                f"'{slug}' is not a valid slug: use lowercase letters, digits and hyphens."
            )
        if Workspace.objects.filter(slug=slug).exists():
            raise CommandError(f"A workspace with the slug '{slug}' already exists.")
        with transaction.atomic():
            user, new_password = get_or_create_user(admin, password)
            workspace = create_workspace(slug=slug, name=name, admin=user)
        self.stdout.write(f"Workspace '{workspace.name}' created at /w/{workspace.slug}/")
        if new_password and password is None:
            self.stdout.write(f"Admin user '{user.username}' password: {new_password}")
        else:
            self.stdout.write(f"Admin user: {user.username}")
        self.stdout.write("Client token:")
        self.stdout.write(workspace.client_token)
