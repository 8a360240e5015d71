"""The test suite, laid out like the package: tests/<area>/test_<module>.py tests
postmark_admin/<area>/<module>.py.

- config/, sending/, webhooks/, screens/, admin/, wagtail/, sandbox/, management/: one folder per
  subpackage. sending/ also holds the tests of the public sending API (backends.py, message.py);
  screens/ tests what the Django admin and Wagtail share, driven through the Django admin.
- The top level tests the flat public faces (checks, testing, startup) and the example project's demo.
- conftest.py: tests/conftest.py holds what several folders share, a folder's own what only it uses.
- settings.py, urls.py and urls_wagtail.py are the suite's Django project (tests.settings).
"""
