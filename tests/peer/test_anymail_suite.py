"""django-anymail's own Postmark tests, run against postmark_admin (tests/peer/run_anymail.py).

Skipped unless ``ANYMAIL_TESTS_DIR`` names a checkout of anymail's repository (its sdist does not
ship the tests; docs/migrating.rst says how to get one) and django-anymail is importable (the
``peer`` extra). Fails when fewer tests pass than recorded, or when a test outside
:data:`DELIBERATE` fails: each of those is listed in docs/migrating.rst with its reason.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess

import pytest

from . import run_anymail

#: anymail's tests that fail on purpose, by the difference docs/migrating.rst explains.
DELIBERATE = {
    # One pooled session per process, shared by every backend instance (not closed per send).
    "test_postmark_backend.py::PostmarkBackendSessionSharingTestCase::test_connection_sharing",
    "test_postmark_backend.py::PostmarkBackendSessionSharingTestCase::test_caller_managed_connections",
    "test_postmark_backend.py::PostmarkBackendSessionSharingTestCase::test_session_closed_after_exception",
    "test_postmark_backend.py::PostmarkBackendSessionSharingTestCase::test_session_closed_after_fail_silently_exception",
    "test_postmark_backend.py::PostmarkBackendSessionSharingTestCase::test_caller_managed_session_closed_after_exception",
    # Postmark's documented path /email/withTemplate, not anymail's /email/withTemplate/ (both work).
    "test_postmark_backend.py::PostmarkBackendAnymailFeatureTests::test_template",
    "test_postmark_backend.py::PostmarkBackendAnymailFeatureTests::test_template_alias",
    "test_postmark_backend.py::PostmarkBackendAnymailFeatureTests::test_template_multiple_recipients",
    # What Postmark would refuse is refused before any request (ErrorCode 1123; 20-character metadata keys).
    "test_postmark_backend.py::PostmarkBackendAnymailFeatureTests::test_merge_metadata_with_template",
    "test_postmark_backend.py::PostmarkBackendRecipientsRefusedTests::test_errorcode_300",
    # 401 with WWW-Authenticate for missing or wrong credentials, not 400 (Postmark retries both alike).
    "test_postmark_webhooks.py::PostmarkWebhookSecurityTestCase::test_verifies_bad_auth",
    "test_postmark_webhooks.py::PostmarkWebhookSecurityTestCase::test_verifies_missing_auth",
    "test_postmark_webhooks.py::PostmarkWebhookSecurityTestCase::test_supports_credential_rotation",
    # A body that is not a Postmark payload ({} here) is refused with 400, never stored.
    "test_postmark_webhooks.py::PostmarkWebhookSecurityTestCase::test_verifies_basic_auth",
    "test_postmark_webhooks.py::PostmarkWebhookSecurityTestCase::test_works_with_login_required_middleware",
    "test_postmark_inbound.py::PostmarkInboundTestCase::test_attachments",
    # No credentials configured: refused (E002) rather than accepted with a warning.
    "test_postmark_webhooks.py::PostmarkWebhookSecurityTestCase::test_warns_if_no_auth",
    # A payload posted to the wrong URL answers 400 naming the right one; no exception, no 500.
    "test_postmark_webhooks.py::PostmarkDeliveryTestCase::test_misconfigured_inbound",
    "test_postmark_inbound.py::PostmarkInboundTestCase::test_misconfigured_tracking",
}
#: Passing tests recorded by the last change to this file (anymail 15.1's 93; 19 in DELIBERATE fail).
RECORDED_PASSES = 74


def test_anymail_postmark_suite():
    directory = run_anymail.anymail_dir(None)
    if directory is None:
        pytest.skip("ANYMAIL_TESTS_DIR does not name a django-anymail checkout with its Postmark tests")
    if importlib.util.find_spec("anymail") is None:
        pytest.skip("django-anymail is not installed (pip install -e '.[peer]')")
    args, env = run_anymail.command(directory, ["-q", "-rf", "--tb=no", "-p", "no:randomly"])
    result = subprocess.run(args, cwd=directory, env=env, capture_output=True, text=True, timeout=600)
    failed = set(re.findall(r"^FAILED tests/(\S+)", result.stdout, re.MULTILINE))
    assert failed - DELIBERATE == set(), result.stdout[-3000:]
    assert run_anymail.counts(result.stdout)["passed"] >= RECORDED_PASSES, result.stdout[-3000:]
