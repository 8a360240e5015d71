"""A model field that keeps a :class:`~postmark_admin.config.crypto.Secret` encrypted in the database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.utils.text import capfirst

from .crypto import PREFIX, Secret, SecretDecryptionError, decrypt, encrypt
from .secret_form import KEEP, SecretFormField


class _SecretAttribute(DeferredAttribute):
    """Whatever is assigned (a str from code or a form, ciphertext from a fixture) is held as a Secret."""

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = self.field.to_python(value)


if TYPE_CHECKING:
    # django-stubs' fields are generic (value set, value read); Django's own are not subscriptable.
    _TextField = models.TextField[str | Secret, Secret]
else:
    _TextField = models.TextField


class EncryptedSecretField(_TextField):
    """Stores a secret encrypted with a key derived from SECRET_KEY.

    In Python the value is always a :class:`Secret` (empty when unset). A value
    that cannot be decrypted loads as ``Secret.undecryptable(...)``: it behaves as
    unset, and saving the row again keeps the original ciphertext so that
    restoring the old SECRET_KEY still recovers it.
    """

    descriptor_class = _SecretAttribute

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs["editable"] = kwargs.get("editable", True)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secret:
        return self.to_python(value, stored=True)

    def to_python(self, value: Any, stored: bool = False) -> Secret:
        if isinstance(value, Secret):
            return value
        if not value:
            return Secret("")
        value = str(value)
        # Values read from the database, or from a fixture made by dumpdata, are ciphertext.
        if stored or value.startswith(PREFIX):
            try:
                return Secret(decrypt(value))
            except SecretDecryptionError:
                return Secret.undecryptable(value)
        return Secret(value)

    def get_prep_value(self, value: Any) -> str:
        secret = self.to_python(value)
        if secret.is_undecryptable:
            return secret.ciphertext or ""
        return encrypt(secret.reveal()) if secret else ""

    def value_to_string(self, obj: models.Model) -> str:
        # dumpdata/serializers get the ciphertext, never the clear text.
        return self.get_prep_value(self.value_from_object(obj))

    def save_form_data(self, instance: models.Model, data: Any) -> None:
        # A blank secret input means "keep what is stored": the form never had the value to send back.
        if data is KEEP:
            return
        setattr(instance, self.attname, self.to_python(data))

    def formfield(self, **kwargs: Any) -> SecretFormField:
        return SecretFormField(required=False, label=capfirst(self.verbose_name), help_text=self.help_text)
