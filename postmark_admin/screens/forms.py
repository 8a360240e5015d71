"""The settings page's action forms, shared by the Django admin and Wagtail."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

_stream_id = RegexValidator(
    r"^[A-Za-z0-9_-]{1,100}$", _("A message stream ID has only letters, digits, '-' and '_'.")
)


class TestEmailForm(forms.Form):
    """The settings page's "Send test email" form."""

    recipient = forms.EmailField(label=_("Recipient"))
    subject = forms.CharField(label=_("Subject"), max_length=2000)
    message_stream = forms.CharField(
        label=_("Message stream"),
        max_length=100,
        required=False,
        validators=[_stream_id],
        help_text=_("Leave blank for the default message stream."),
    )


class WebhookStreamForm(forms.Form):
    """The settings page's "Configure webhook in Postmark" form: which stream the webhook is for."""

    message_stream = forms.CharField(label=_("Message stream"), max_length=100, validators=[_stream_id])
