"""``manage.py postmark_desk_rollup [--rebuild]``: count the dashboard's closed hours now
(:mod:`postmark_admin.desk.rollup`), so that the next dashboard view has only the open hours to count."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from postmark_admin.desk import rollup
from postmark_admin.management.base import TranslatedHelpCommand
from postmark_admin.screens import dashboard


class Command(TranslatedHelpCommand):
    help = gettext_noop(
        "Count the deliverability dashboard's closed hours that its rollup does not hold yet; with "
        "--rebuild, empty the rollup and count every hour again from the sent messages and webhook events."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help=_("Empty the rollup first (after deleting sent messages or webhook events by hand)."),
        )
        parser.add_argument("--database", default=None, help=_("Database alias (default: the router's)."))

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["rebuild"]:
            counted = rollup.rebuild(now, options["database"])
        else:
            longest = max(window.length for window in dashboard.WINDOWS)
            counted = rollup.refresh(
                rollup.ceil_period(now - longest),
                rollup.floor_period(now - rollup.GRACE),
                options["database"] or rollup.default_alias(),
            )
        self.stdout.write(
            ngettext(
                "Counted %(count)d closed hour into the dashboard's rollup.",
                "Counted %(count)d closed hours into the dashboard's rollup.",
                counted,
            )
            % {"count": counted}
        )
