"""Bring up the demo: database, admin login, a Postmark sandbox wired to the site, and the site itself.

With a real ``POSTMARK_SERVER_TOKEN`` in the environment, no sandbox is started and the demo sends through
Postmark itself (the settings row then leaves the token and API URL unset, so the environment wins).
"""

from __future__ import annotations

import os
import secrets
import signal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from postmark_admin.models import PostmarkSettings

from ...demo_seed import first_start, seed_demo, serving

SANDBOX_TOKEN = "demo-sandbox-token"  # the sandbox accepts this made-up token
WEBHOOK_USERNAME = "postmark"
#: Every tracking webhook: the deliverability desk shows them all.
WEBHOOK_EVENTS = ("Delivery", "Open", "Click", "Bounce", "SpamComplaint", "SubscriptionChange")


class Command(BaseCommand):
    help = "Migrate, (re)create the demo admin user, wire a Postmark sandbox to the site, and serve it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=0, help="0 picks a free port")
        parser.add_argument("--username", default="admin")
        parser.add_argument("--no-serve", action="store_true", help="prepare and print the login, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        password = self._reset_admin(options["username"])
        base = f"http://{options['host']}:{options['port']}"
        real_token = os.environ.get("POSTMARK_SERVER_TOKEN", "").strip()
        webhook_password = secrets.token_urlsafe(18)

        sandbox = None
        row, _ = PostmarkSettings.objects.get_or_create(pk=PostmarkSettings.singleton_instance_id)
        row.webhook_username = WEBHOOK_USERNAME
        row.webhook_password = webhook_password
        if real_token:
            # The environment's token must win: clear what an earlier sandbox run stored.
            row.server_token = ""
            row.api_url = ""
        else:
            from postmark_admin.sandbox import Sandbox

            sandbox = Sandbox(
                token=SANDBOX_TOKEN,
                port=options["sandbox_port"],
                webhook_url=f"{base}/postmark/tracking/",
                webhook_auth=(WEBHOOK_USERNAME, webhook_password),
                webhook_events=WEBHOOK_EVENTS,
            )
            sandbox.start()
            row.server_token = SANDBOX_TOKEN
            row.api_url = sandbox.url
        row.save()

        out = self.stdout
        if sandbox is not None and first_start():
            # The first start only: a week of mail for the deliverability desk (example/demo_seed.py).
            out.write("Seeding the demo with a week of mail (first start only)...")
            out.flush()
            with serving(options["host"], options["port"]):
                seeded = seed_demo(sandbox)
            if seeded is not None:
                out.write(
                    f"  Seeded {seeded.sent} messages over {len(seeded.by_day)} days "
                    f"({seeded.refused} refused: a suppressed address)."
                )
        elif sandbox is not None:
            out.write("The sent-message log already holds messages: not seeding again.")
        out.write(self.style.SUCCESS("The django-postmark-admin demo is ready."))
        out.write(f"  Admin:             {base}/admin/")
        out.write(f"  Postmark settings: {base}/admin/postmark_admin/postmarksettings/")
        out.write(f"  Deliverability:    {base}/admin/postmark_admin/sentmessage/dashboard/")
        if getattr(settings, "WAGTAIL_INSTALLED", False):
            out.write(f"  Wagtail admin:     {base}/cms/  (Settings > Postmark, and Postmark events)")
        out.write(f"  Login:             {options['username']} / {password}")
        if sandbox is not None:
            out.write(f"  Postmark sandbox:  {sandbox.url}  (messages it received: {sandbox.url})")
            out.write(
                "  Sending goes to the local sandbox; it posts Delivery, Bounce, spam complaint, subscription change"
                " and (for tracked HTML mail) Open and Click events back to the site."
            )
            out.write("  Send to hardbounce@example.com to see a Bounce, then the address refused next time.")
        else:
            out.write("  Sending through REAL Postmark with POSTMARK_SERVER_TOKEN from the environment.")
        out.write("Press Ctrl-C to stop.", ending="\n\n")
        out.flush()
        if options["no_serve"]:
            if sandbox is not None:
                sandbox.stop()
            return
        # Ctrl-C stops the demo even when it was started with SIGINT ignored (a shell's background
        # job), and SIGTERM stops it as cleanly.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            call_command("runserver", f"{options['host']}:{options['port']}", use_reloader=False)
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            if sandbox is not None:
                sandbox.stop()
            out.write("Demo stopped.")

    def _reset_admin(self, username: str) -> str:
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"email": "admin@example.com"}
        )
        user.email = user.email or "admin@example.com"
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return password
