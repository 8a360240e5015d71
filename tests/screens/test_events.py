"""postmark_admin.screens.events: the index-friendly search both admins use."""

from __future__ import annotations

import pytest

from postmark_admin.models import WebhookEvent
from postmark_admin.screens import events as screen_events


@pytest.mark.parametrize(
    ("term", "matches", "misses"),
    [
        ("a@x.io", ["a@x.io"], ["b@x.io", "a@x.iox"]),
        ("A@X.io", ["a@x.io", "A@X.io"], ["a@x.iO"]),
        ("a", ["a@x.io", "ab@x.io"], ["ba@x.io"]),
        ("a@*", ["a@x.io"], ["ab@x.io"]),
        ("tag-1", ["tag-1", "tag-10"], []),  # a prefix of a recipient too (harmless)
    ],
)
def test_search_filter_table(db, term, matches, misses):
    for index, value in enumerate([*matches, *misses]):
        WebhookEvent.objects.create(dedupe_key=f"s{index}", event_type="delivered", recipient=value)
    found = set(
        WebhookEvent.objects.filter(screen_events.search_filter(term)).values_list("recipient", flat=True)
    )
    assert found == set(matches)
