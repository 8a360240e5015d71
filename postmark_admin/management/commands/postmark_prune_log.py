"""``manage.py postmark_prune_log [--older-than 90d]``: delete old sent messages with their recipients and
webhook events, and blank bodies past ``POSTMARK_LOG_BODIES_DAYS`` (:mod:`postmark_admin.desk.prune`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from postmark_admin.config.effective import app_settings
from postmark_admin.desk import rollup
from postmark_admin.desk.prune import blank_expired_bodies, prune_log
from postmark_admin.management.base import TranslatedHelpCommand
from postmark_admin.management.commands.postmark_prune_events import parse_age
from postmark_admin.models import SentMessage


class Command(TranslatedHelpCommand):
    help = gettext_noop(
        "Delete sent messages older than --older-than (default: POSTMARK_LOG_RETENTION_DAYS) with their "
        "recipients and webhook events, and blank the bodies kept past POSTMARK_LOG_BODIES_DAYS, in "
        "small batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            metavar="AGE",
            help=_("Age of the messages to delete: 90d, 12h, 2w, 90m; a bare number means days."),
        )
        parser.add_argument(
            "--batch-size", type=int, default=1000, help=_("Messages deleted per transaction.")
        )
        parser.add_argument(
            "--pause",
            type=float,
            default=0.0,
            help=_("Seconds to sleep between batches (eases replication)."),
        )
        parser.add_argument("--database", default=None, help=_("Database alias (default: the router's)."))
        parser.add_argument("--dry-run", action="store_true", help=_("Only count the messages to delete."))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["older_than"]:
            try:
                age: timedelta | None = parse_age(options["older_than"])
            except ValueError:
                raise CommandError(
                    _("--older-than must look like 30d, 12h, 2w or 90m, not %(value)r.")
                    % {"value": options["older_than"]}
                ) from None
        elif app_settings.LOG_RETENTION_DAYS is not None:
            age = timedelta(days=app_settings.LOG_RETENTION_DAYS)
        else:
            age = None  # POSTMARK_LOG_RETENTION_DAYS = None keeps every message; bodies still expire
        if options["batch_size"] < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        now = timezone.now()
        cutoff = now - age if age is not None else None
        using = options["database"]
        if options["dry_run"]:
            rows = SentMessage.objects.using(using) if using else SentMessage.objects
            old = rows.filter(submitted_at__lt=cutoff).count() if cutoff else 0
            bodies = rows.filter(Q(bodies_expire_at__lt=now)).count()
            self.stdout.write(
                _("%(messages)d sent messages would be deleted and %(bodies)d bodies blanked.")
                % {"messages": old, "bodies": bodies}
            )
            return
        # Old messages first: blanking the bodies of messages about to be deleted would rewrite their
        # rows (a new row version each, and its WAL) for nothing.
        pruned = prune_log(cutoff, options["batch_size"], options["pause"], using) if cutoff else None
        blanked = blank_expired_bodies(now, options["batch_size"], using)
        if cutoff is not None and pruned is not None:
            if pruned.messages or pruned.events:
                # The dashboard's rollup does not notice deletions: count its hours again now.
                rollup.rebuild(now, using)
            self.stdout.write(
                ngettext(
                    "Deleted %(count)d sent message submitted before %(cutoff)s and %(events)d webhook events.",
                    "Deleted %(count)d sent messages submitted before %(cutoff)s and %(events)d webhook events.",
                    pruned.messages,
                )
                % {"count": pruned.messages, "cutoff": cutoff.isoformat(), "events": pruned.events}
            )
        self.stdout.write(
            ngettext(
                "Blanked the bodies of %(count)d message.",
                "Blanked the bodies of %(count)d messages.",
                blanked,
            )
            % {"count": blanked}
        )
