"""Prepare the demo database, print the admin login, and serve the site."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, create (or reset) the demo admin user, print its login, and serve the demo site."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--username", default="admin")
        parser.add_argument("--no-serve", action="store_true", help="prepare and print the login, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username=options["username"], defaults={"email": "admin@example.com"}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()

        base = f"http://{options['host']}:{options['port']}"
        self.stdout.write(self.style.SUCCESS("The django-postmark-admin demo is ready."))
        self.stdout.write(f"  Admin:            {base}/admin/")
        self.stdout.write(f"  Postmark settings: {base}/admin/postmark_admin/postmarksettings/")
        self.stdout.write(f"  Login:            {options['username']} / {password}")
        self.stdout.write("Press Ctrl-C to stop.", ending="\n\n")
        self.stdout.flush()
        if options["no_serve"]:
            return
        call_command("runserver", f"{options['host']}:{options['port']}", use_reloader=False)
