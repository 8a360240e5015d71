"""The Wagtail admin screens (optional: ``pip install "django-postmark-admin[wagtail]"``).

Only :mod:`postmark_admin.wagtail_hooks`, which Wagtail imports when ``wagtail`` is in
INSTALLED_APPS, imports this package; nothing else in postmark_admin imports Wagtail.
See docs/wagtail.rst.
"""
