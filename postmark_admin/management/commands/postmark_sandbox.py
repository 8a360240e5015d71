"""``manage.py postmark_sandbox``: run the local Postmark emulator (same options as
``python -m postmark_admin.sandbox``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext, gettext_noop

from postmark_admin.sandbox.cli import add_arguments, sandbox_from_options, serve


class Command(BaseCommand):
    # Translated when the parser is built: argparse cannot format a lazy string.
    help = gettext_noop(
        "Run a local emulator of Postmark's API until Ctrl-C. Point api_url and server_token at it."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.description = gettext(self.help)
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            sandbox = sandbox_from_options(options)
        except ValueError as error:
            raise CommandError(str(error)) from error
        serve(sandbox, self.stdout)
