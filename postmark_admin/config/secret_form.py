"""The write-only secret input: a form field and widget that never show a stored secret back."""

from __future__ import annotations

from typing import Any

from django import forms

from .crypto import Secret


class _Keep:
    """Marker: the admin left a secret input blank, so the stored value stays."""

    def __repr__(self) -> str:
        return "KEEP"

    def __bool__(self) -> bool:
        return False


KEEP = _Keep()


class SecretInput(forms.MultiWidget):
    """A write-only input: a password box that never renders the stored value, and a "clear" box.

    The template says whether a value is stored (without showing it) so the admin
    knows that leaving the box blank keeps it.
    """

    template_name = "postmark_admin/widgets/secret_input.html"
    #: Optional sentence saying where the effective value comes from (set by the admin per request).
    effective_note: str = ""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        widgets: dict[str, forms.Widget | type[forms.Widget]] = {
            "": forms.PasswordInput(
                attrs={"autocomplete": "new-password", **(attrs or {})}, render_value=False
            ),
            "clear": forms.CheckboxInput(),
        }
        super().__init__(widgets, attrs)

    def decompress(self, value: Any) -> list[Any]:
        # Never hand the stored value to the password input.
        return [None, False]

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        secret = value if isinstance(value, Secret) else Secret(value if isinstance(value, str) else "")
        context["widget"]["is_set"] = bool(secret)
        context["widget"]["is_undecryptable"] = secret.is_undecryptable
        context["widget"]["effective_note"] = self.effective_note
        return context


class SecretFormField(forms.MultiValueField):
    """Cleans to a new clear-text value, ``""`` to clear the stored one, or :data:`KEEP`."""

    widget = SecretInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("max_length", None)
        kwargs.setdefault("required", False)
        fields = (forms.CharField(required=False, strip=True), forms.BooleanField(required=False))
        super().__init__(fields, require_all_fields=False, **kwargs)

    def compress(self, data_list: list[Any]) -> str | _Keep:
        new_value, clear = [*data_list, None, False][:2]
        if new_value:
            return str(new_value)
        if clear:
            return ""
        return KEEP

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.disabled:
            return False
        try:
            cleaned = self.clean(data)
        except forms.ValidationError:
            return True
        return cleaned is not KEEP

    def bound_data(self, data: Any, initial: Any) -> Any:
        # On a redisplayed form (validation error elsewhere) the typed secret is not echoed back.
        return initial
