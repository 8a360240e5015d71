"""docs/sandbox.rst's context-manager example, in a Django ``SimpleTestCase`` (included by the docs)."""

from django.core.mail import send_mail
from django.test import SimpleTestCase

from postmark_admin.sandbox import Sandbox
from postmark_admin.testing import override_postmark_settings, use_postmark_backend


class WelcomeMailTests(SimpleTestCase):
    def test_welcome_mail(self):
        with (
            Sandbox() as sandbox,
            override_postmark_settings(server_token=sandbox.token, api_url=sandbox.url),
            use_postmark_backend(),
        ):
            send_mail("Hi", "Hello", "shop@example.com", ["ann@example.com"])
        self.assertEqual(len(sandbox.messages), 1)
