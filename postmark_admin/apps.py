from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class PostmarkAdminConfig(AppConfig):
    name = "postmark_admin"
    verbose_name = _("Postmark")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.signals import setting_changed
        from django.db.models.signals import post_delete, post_save

        from . import checks  # noqa: F401  (registers the system checks)
        from .config.row_cache import row_changed, settings_changed
        from .models import PostmarkSettings

        post_save.connect(row_changed, sender=PostmarkSettings, dispatch_uid="postmark_admin.settings_saved")
        post_delete.connect(
            row_changed, sender=PostmarkSettings, dispatch_uid="postmark_admin.settings_deleted"
        )
        setting_changed.connect(settings_changed, dispatch_uid="postmark_admin.config.row_cache")

        if apps.is_installed("django.contrib.admin"):
            # The admin's autodiscovery (run by its own ready(), which comes first when it is listed
            # before this app, as usual) has registered every app's UserAdmin by now, including one
            # registered after postmark_admin.admin was imported.
            from .admin.users import install_user_action

            install_user_action()
