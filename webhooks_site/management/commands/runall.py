"""`make run`: migrate, create the demo workspace, start an embedded Redis when REDIS_URL is
unset, then supervise the web server, one RQ worker (with RQ's scheduler) and the cron
scheduler with honcho. Ctrl-C stops every process and the embedded Redis."""

import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from honcho.manager import Manager

from webhooks_site.redis import embedded_url, start_embedded_redis


def process_table(python: str, host: str, port: int) -> dict[str, str]:
    manage = f"{python} -u manage.py"
    return {
        "web": f"{manage} runserver {host}:{port} --noreload",
        # SimpleWorker runs jobs in the worker process itself: one long-lived database
        # connection and HTTP keep-alive pool instead of a fork per job (see DESIGN.md).
        "worker": (
            f"{manage} rqworker default --with-scheduler --worker-ttl 60 "
            "--worker-class rq.worker.SimpleWorker"
        ),
        "scheduler": f"{manage} rqcron webhooks_site.cron",
    }


class Command(BaseCommand):
    help = "Run the web server, a worker and the scheduler for development."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args, host, port, **options):
        embedded = None
        if not os.environ.get("REDIS_URL"):
            embedded = start_embedded_redis(settings.VAR_DIR)
            os.environ["REDIS_URL"] = embedded_url(settings.VAR_DIR)
            self.stdout.write(f"Embedded Redis started ({os.environ['REDIS_URL']})")
        try:
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write("Database migrated.")
            # The demo webhook points at the test inbox through SITE_URL: follow the port.
            site_url = os.environ.setdefault("SITE_URL", f"http://{host}:{port}")
            settings.SITE_URL = site_url
            call_command("setupdemo", url=site_url)
            manager = Manager()
            for name, cmd in process_table(sys.executable, host, port).items():
                manager.add_process(name, cmd, env=dict(os.environ), cwd=str(settings.BASE_DIR))
            manager.loop()
        finally:
            if embedded is not None:
                embedded.shutdown()
                self.stdout.write("Embedded Redis stopped.")
        sys.exit(manager.returncode or 0)
