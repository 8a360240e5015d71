"""The sandbox's stored templates and a small renderer for their ``{{ placeholders }}``. Pure."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{\{?\s*([\w.]+)\s*\}?\}\}")


@dataclass(frozen=True)
class Template:
    """A Postmark template: numeric ``template_id``, optional ``alias`` and the three parts."""

    template_id: int
    alias: str | None
    subject: str
    html_body: str
    text_body: str


#: Known to every sandbox unless ``templates=`` says otherwise.
DEFAULT_TEMPLATES: tuple[Template, ...] = (
    Template(
        template_id=1000,
        alias="welcome",
        subject="Welcome, {{ name }}",
        html_body="<p>Hello {{ name }}, welcome to {{ product_name }}.</p>",
        text_body="Hello {{ name }}, welcome to {{ product_name }}.",
    ),
    Template(
        template_id=1001,
        alias="password-reset",
        subject="Reset your password",
        html_body='<p>Follow <a href="{{ action_url }}">this link</a> to reset your password.</p>',
        text_body="Follow this link to reset your password: {{ action_url }}",
    ),
)


def coerce_templates(templates: Iterable[Template | Mapping[str, Any]]) -> tuple[Template, ...]:
    """Accept :class:`Template` objects or dicts in Postmark's shape (``TemplateId``, ``Alias``, ...)."""
    result = []
    for item in templates:
        if isinstance(item, Template):
            result.append(item)
        else:
            result.append(
                Template(
                    template_id=int(item["TemplateId"]),
                    alias=item.get("Alias"),
                    subject=item.get("Subject", ""),
                    html_body=item.get("HtmlBody", ""),
                    text_body=item.get("TextBody", ""),
                )
            )
    return tuple(result)


def find_template(templates: Iterable[Template], template_id: object, alias: object) -> Template | None:
    """The template named by ``TemplateId`` (an int, or a string of digits) or ``TemplateAlias``."""
    for template in templates:
        if template_id is not None and str(template_id) == str(template.template_id):
            return template
        if alias is not None and template.alias is not None and alias == template.alias:
            return template
    return None


def _lookup(model: Mapping[str, Any], dotted: str) -> Any:
    value: Any = model
    for key in dotted.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return ""
        value = value[key]
    return value


def render(text: str, model: Mapping[str, Any], *, escape: bool) -> str:
    """Replace ``{{ key }}`` / ``{{ a.b }}`` with values from ``model`` (missing: empty).

    ``escape`` HTML-escapes values, except in triple braces ``{{{ raw }}}`` (as in Mustachio).
    """

    def replace(match: re.Match[str]) -> str:
        value = _lookup(model, match.group(1))
        shown = "" if value is None else str(value)
        raw = match.group(0).startswith("{{{")
        return html.escape(shown) if escape and not raw else shown

    return _PLACEHOLDER.sub(replace, text)
