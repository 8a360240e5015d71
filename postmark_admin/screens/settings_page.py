"""What the Postmark settings page shows and does, shared by the Django admin and the Wagtail admin.

Each admin only adds its own request handling (URLs, permission checks, templates, messages):
the field groups, the panel data, the four actions (send test email, verify token, configure
webhook, delivery stats) and the "Generate a new webhook password" button come from here, so both
admins behave the same. Nothing here renders HTML or shows a secret, except the password just
generated, which goes to the one page that shows it once (:class:`NewWebhookPassword`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from django import forms
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from ..config.effective import EffectiveConfig
from ..config.secret_form import SecretInput
from ..exceptions import PostmarkSettingsUnavailable
from . import actions, panels
from .forms import TestEmailForm, WebhookStreamForm

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

#: The permission every button that talks to Postmark needs.
API_PERMISSION = "postmark_admin.use_postmark_api"

#: The actions, in the order the page shows them; each name is also a URL name suffix.
ACTION_NAMES = ("test_email", "verify_token", "configure_webhook", "delivery_stats")
#: The "Generate a new webhook password" button's URL name suffix (it needs the change permission only).
GENERATE_PASSWORD = "generate_webhook_password"
#: Bytes of randomness in a generated webhook password: 32 bytes, 43 URL-safe characters.
GENERATED_PASSWORD_BYTES = 32


@dataclass(frozen=True)
class FieldGroup:
    """Some of the settings row's fields, shown together under a heading."""

    heading: StrOrPromise
    fields: tuple[str, ...]
    description: StrOrPromise = ""


#: The settings row's editable fields, in the groups both admins show them in.
FIELD_GROUPS = (
    FieldGroup(
        _("Sending"),
        ("server_token", "api_url", "message_stream", "default_from_email", "timeout", "test_mode"),
    ),
    FieldGroup(
        _("Webhooks"),
        ("webhook_username", "webhook_password"),
        _("The HTTP basic auth credentials Postmark must send to this site's webhook URLs."),
    ),
    FieldGroup(_("Compatibility"), ("ignore_unsupported_features",)),
)


def note_secret_source(name: str, field: forms.Field, config: EffectiveConfig) -> None:
    """Have a secret input say where its secret's effective value comes from (other fields stay as they are)."""
    if isinstance(field.widget, SecretInput):
        field.widget.effective_note = panels.secret_source_note(config, name)


def has_api_permission(request: HttpRequest) -> bool:
    """Whether the user may send test emails and call Postmark from an admin."""
    return request.user.is_active and request.user.has_perm(API_PERMISSION)


def page_context(request: HttpRequest, config: EffectiveConfig, can_use_api: bool) -> dict[str, Any]:
    """The panels' data: effective configuration, webhook URLs, the 24h summary and, if allowed, the action forms.

    The caller adds ``action_urls`` (and anything admin-specific) when ``can_use_api`` is true.
    """
    urls = panels.webhook_urls(request)
    context: dict[str, Any] = {
        "config_rows": panels.config_rows(config),
        "test_mode_warning": panels.test_mode_warning(config),
        "webhook_urls": urls,
        "webhook_warnings": panels.webhook_warnings(config, urls),
        "webhook_username": panels.webhook_username(config),
        "event_counts": panels.recent_event_counts(timezone.now()),
        "can_use_api": can_use_api,
    }
    if can_use_api:
        context["test_email_form"] = TestEmailForm(
            initial={
                "recipient": getattr(request.user, "email", ""),
                "subject": gettext("Postmark test email"),
                "message_stream": "",
            },
            auto_id="id_test_%s",
        )
        context["webhook_form"] = WebhookStreamForm(
            initial={"message_stream": config.message_stream}, auto_id="id_webhook_%s"
        )
    return context


def form_errors(lead: str, form: forms.Form) -> str:
    """``lead`` followed by each invalid field's label and errors, as one sentence for a message."""
    problems = [
        f"{form.fields[name].label}: {' '.join(str(error) for error in errors)}"
        for name, errors in form.errors.items()
    ]
    return f"{lead} {' '.join(problems)}"


def send_test_email(request: HttpRequest) -> actions.Outcome:
    """The "Send test email" button: validate the posted form, then send."""
    form = TestEmailForm(request.POST)
    if not form.is_valid():
        return actions.Outcome(False, form_errors(gettext("The test email was not sent."), form))
    return actions.send_test_email(
        form.cleaned_data["recipient"], form.cleaned_data["subject"], form.cleaned_data["message_stream"]
    )


def configure_webhook(request: HttpRequest) -> actions.Outcome:
    """The "Configure webhook" button: validate the posted stream, then create or update the webhook."""
    form = WebhookStreamForm(request.POST)
    if not form.is_valid():
        return actions.Outcome(False, form_errors(gettext("The webhook was not configured."), form))
    return actions.configure_webhook(panels.tracking_url(request), form.cleaned_data["message_stream"])


@dataclass(frozen=True)
class NewWebhookPassword:
    """A webhook password just generated and stored, for the one page that shows it (never stored elsewhere)."""

    username: str
    password: str
    #: The inbound URL with the credentials in it, as Postmark's inbound settings take them.
    inbound_url: str | None

    def __repr__(self) -> str:
        return f"NewWebhookPassword(username={self.username!r}, password=***)"


@sensitive_variables("password")
def generate_webhook_password(request: HttpRequest) -> NewWebhookPassword | actions.Outcome:
    """Store a new random webhook password in the settings row (encrypted), for the one-time page.

    The caller checked that the user may change the settings. Refused, with the reason, when the row
    has no webhook username: the new password would pair with none.
    """
    from ..models import PostmarkSettings

    row = PostmarkSettings.get_solo()
    if not row.webhook_username:
        return actions.Outcome(
            False,
            gettext(
                "No password was generated: set a webhook username on this page and save it first. "
                "Postmark sends the two together."
            ),
        )
    password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    row.webhook_password = password
    row.save()
    return NewWebhookPassword(
        username=row.webhook_username,
        password=password,
        inbound_url=_with_credentials(panels.inbound_url(request), row.webhook_username, password),
    )


@sensitive_variables("password", "netloc")
def _with_credentials(url: str | None, username: str, password: str) -> str | None:
    # Postmark's inbound settings take the basic auth credentials in the URL.
    if url is None:
        return None
    parts = urlsplit(url)
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{parts.netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def new_password_context(
    request: HttpRequest, new: NewWebhookPassword, config: EffectiveConfig, can_use_api: bool
) -> dict[str, Any]:
    """What the one-time page shows: the credentials, and the form that hands them to Postmark."""
    context: dict[str, Any] = {"new_password": new, "can_use_api": can_use_api}
    if can_use_api:
        context["webhook_form"] = WebhookStreamForm(
            initial={"message_stream": config.message_stream}, auto_id="id_webhook_%s"
        )
    return context


#: Action name -> what it does with the POST request.
ACTIONS: Mapping[str, Callable[[HttpRequest], actions.Outcome]] = {
    "test_email": send_test_email,
    "verify_token": lambda request: actions.verify_server_token(),
    "configure_webhook": configure_webhook,
    "delivery_stats": lambda request: actions.delivery_stats(),
}


def run_action(name: str, request: HttpRequest) -> actions.Outcome:
    """Run one of :data:`ACTION_NAMES` for a POST request whose user was already checked.

    While the settings row cannot be read, the outcome is that error (nothing is sent to Postmark).
    """
    try:
        return ACTIONS[name](request)
    except PostmarkSettingsUnavailable as error:
        return actions.Outcome(False, str(error))
