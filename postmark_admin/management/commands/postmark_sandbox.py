"""``manage.py postmark_sandbox``: run the local Postmark emulator (same options as
``python -m postmark_admin.sandbox``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext_noop

from postmark_admin.management.base import TranslatedHelpCommand
from postmark_admin.sandbox.cli import add_arguments, sandbox_from_options, serve


class Command(TranslatedHelpCommand):
    help = gettext_noop(
        "Run a local emulator of Postmark's API until Ctrl-C. Point api_url and server_token at it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            sandbox = sandbox_from_options(options)
        except ValueError as error:
            raise CommandError(str(error)) from error
        serve(sandbox, self.stdout)
