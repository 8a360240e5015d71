from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("postmark/", include("postmark_admin.urls")),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]

if settings.WAGTAIL_INSTALLED:
    # The same Postmark settings and events in Wagtail's admin (docs/wagtail.rst).
    from wagtail.admin import urls as wagtailadmin_urls

    urlpatterns.insert(1, path("cms/", include(wagtailadmin_urls)))
