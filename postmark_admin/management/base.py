"""What the package's management commands share."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _


class TranslatedHelpCommand(BaseCommand):
    """A command whose ``help`` is a ``gettext_noop`` string, translated when the parser is built.

    Not at import: argparse cannot format a lazy string, and the active language is known only then.
    """

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.description = _(self.help)
        return parser
