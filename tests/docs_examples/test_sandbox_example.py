"""docs/sandbox.rst's pytest example, as a site's test suite would have it (included by the docs)."""

import pytest
from django.core.mail import send_mail

from postmark_admin.exceptions import PostmarkRecipientsRefused


def send_welcome(email):
    """The site's code under test."""
    send_mail("Welcome", "Thanks for signing up.", "shop@example.com", [email])


def test_welcome_mail(postmark_outbox):
    send_welcome("ann@example.com")
    [message] = postmark_outbox.messages
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Welcome"
    assert message["TextBody"] == "Thanks for signing up."


@pytest.mark.postmark_sandbox(inactive=["gone@example.com"])
def test_suppressed_recipient(postmark_outbox):
    with pytest.raises(PostmarkRecipientsRefused) as refused:
        send_welcome("gone@example.com")
    assert refused.value.error_code == 406
    assert postmark_outbox.messages == []
