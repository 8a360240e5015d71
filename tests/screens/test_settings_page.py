"""What both admins' settings pages share (postmark_admin.screens.settings_page)."""

from __future__ import annotations

from postmark_admin.models import PostmarkSettings
from postmark_admin.screens.settings_page import FIELD_GROUPS


def test_the_field_groups_hold_every_editable_field_of_the_row_once():
    grouped = [name for group in FIELD_GROUPS for name in group.fields]
    editable = [
        field.name for field in PostmarkSettings._meta.fields if field.editable and not field.auto_created
    ]
    assert len(grouped) == len(set(grouped))
    assert sorted(grouped) == sorted(editable)
