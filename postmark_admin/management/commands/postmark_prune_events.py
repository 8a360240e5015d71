"""``manage.py postmark_prune_events [--older-than 30d]``: delete old webhook events in small batches
(:func:`postmark_admin.webhooks.storage.prune_events`), so it can run on a table of millions of rows
while webhooks keep arriving."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import router
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from postmark_admin.config.effective import app_settings
from postmark_admin.desk import rollup
from postmark_admin.management.base import TranslatedHelpCommand
from postmark_admin.models import WebhookEvent
from postmark_admin.webhooks.storage import prune_events

_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_AGE = re.compile(r"^\s*(\d+)\s*([wdhms]?)\s*$", re.IGNORECASE)


def parse_age(value: str) -> timedelta:
    """``"30d"``, ``"12h"``, ``"2w"``, ``"90m"``, ``"45s"``; a bare number means days."""
    match = _AGE.match(value)
    if not match:
        raise ValueError(value)
    unit = _UNITS[(match.group(2) or "d").lower()]
    return timedelta(**{unit: int(match.group(1))})


class Command(TranslatedHelpCommand):
    help = gettext_noop(
        "Delete Postmark webhook events older than --older-than (default: POSTMARK_EVENT_RETENTION_DAYS), "
        "in small batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            metavar="AGE",
            help=_("Age of the events to delete: 30d, 12h, 2w, 90m; a bare number means days."),
        )
        parser.add_argument("--batch-size", type=int, default=5000, help=_("Rows deleted per transaction."))
        parser.add_argument(
            "--pause",
            type=float,
            default=0.0,
            help=_("Seconds to sleep between batches (eases replication)."),
        )
        parser.add_argument("--database", default=None, help=_("Database alias (default: the router's)."))
        parser.add_argument("--dry-run", action="store_true", help=_("Only count the events to delete."))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["older_than"]:
            try:
                age = parse_age(options["older_than"])
            except ValueError:
                raise CommandError(
                    _("--older-than must look like 30d, 12h, 2w or 90m, not %(value)r.")
                    % {"value": options["older_than"]}
                ) from None
        elif app_settings.EVENT_RETENTION_DAYS is not None:
            age = timedelta(days=app_settings.EVENT_RETENTION_DAYS)
        else:
            raise CommandError(_("Give --older-than, or set POSTMARK_EVENT_RETENTION_DAYS in settings.py."))
        if options["batch_size"] < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        cutoff = timezone.now() - age
        using = options["database"] or router.db_for_write(WebhookEvent)
        if options["dry_run"]:
            count = WebhookEvent.objects.using(using).filter(received_at__lt=cutoff).count()
            self.stdout.write(
                ngettext(
                    "%(count)d webhook event received before %(cutoff)s would be deleted.",
                    "%(count)d webhook events received before %(cutoff)s would be deleted.",
                    count,
                )
                % {"count": count, "cutoff": cutoff.isoformat()}
            )
            return
        deleted = prune_events(cutoff, options["batch_size"], options["pause"], using)
        if deleted:
            # The dashboard's rollup does not notice deletions: its hours up to the cutoff are counted
            # again by the next view.
            rollup.forget(rollup.ceil_period(cutoff), using)
        self.stdout.write(
            ngettext(
                "Deleted %(count)d webhook event received before %(cutoff)s.",
                "Deleted %(count)d webhook events received before %(cutoff)s.",
                deleted,
            )
            % {"count": deleted, "cutoff": cutoff.isoformat()}
        )
