"""The test URLconf with Wagtail installed: the Django admin and the webhooks (tests.urls), plus Wagtail's admin."""

from django.urls import include, path
from wagtail.admin import urls as wagtailadmin_urls

from .urls import urlpatterns as base_urlpatterns

urlpatterns = [*base_urlpatterns, path("cms/", include(wagtailadmin_urls))]
