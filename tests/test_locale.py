"""The shipped catalogs (postmark_admin/locale/<lang>/LC_MESSAGES/django.po and .mo) are complete and current.

* every entry of every catalog is translated, none is fuzzy, none is obsolete (``#~``);
* a translation keeps its msgid's placeholders (``%(name)s``, ``{name}``) and HTML tags;
* the compiled .mo holds exactly what its .po says (a .po edited without ``compilemessages`` fails);
* ``makemessages``, run over a copy of the package, finds no msgid the catalogs lack and none they
  carry that the code no longer has: the test that fails when a string is added without a translation.

The last one needs GNU gettext (``xgettext``); without it the test is skipped, with the reason, and
scripts/test.py installs Debian's gettext when it runs as root. How to update the catalogs:
docs/admin.rst, "Updating the catalogs".
"""

from __future__ import annotations

import ast
import gettext
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: The package the suite imports: the checkout's, or the installed wheel's when the sdist's suite runs.
PACKAGE = Path(importlib.util.find_spec("postmark_admin").origin).parent
LOCALE = PACKAGE / "locale"
#: The languages the docs promise (docs/admin.rst); more may be added, none may go missing.
LANGUAGES = ("de", "es", "fr", "nl")
#: The flags the catalogs are made with (docs/admin.rst): without locations, merges churn less.
MAKEMESSAGES_FLAGS = ("--no-location", "--no-obsolete")
#: What a translation must carry over from its msgid unchanged.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sdfr]|\{\w*\}|</?[a-zA-Z][^>]*>")


@dataclass
class Entry:
    msgid: str
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)


@dataclass
class Catalog:
    entries: list[Entry]
    obsolete: list[str]


def parse_po(path: Path) -> Catalog:
    """The entries of a .po file (enough of the format for what makemessages writes)."""
    entries: list[Entry] = []
    obsolete: list[str] = []
    current: Entry | None = None
    target: tuple[str, int] = ("msgid", 0)

    def finish() -> None:
        nonlocal current
        if current is not None:
            entries.append(current)
        current = None

    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            obsolete.append(line)
            continue
        if line.startswith("#,"):
            if current is None:
                current = Entry(msgid="")
            current.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = "", line
        text = ast.literal_eval(rest) if rest else ""
        if current is None:
            current = Entry(msgid="")
        if keyword:
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            target = ("msgstr", int(match.group(1))) if match else (keyword, 0)
            _set(current, target, text)
        else:
            _set(current, target, _get(current, target) + text)
    finish()
    return Catalog(entries, obsolete)


def _get(entry: Entry, target: tuple[str, int]) -> str:
    name, index = target
    if name == "msgstr":
        return entry.msgstr.get(index, "")
    return getattr(entry, name) or ""


def _set(entry: Entry, target: tuple[str, int], text: str) -> None:
    name, index = target
    if name == "msgstr":
        entry.msgstr[index] = text
    else:
        setattr(entry, name, text)


def messages(catalog: Catalog) -> list[Entry]:
    """The catalog without its header (the entry whose msgid is empty)."""
    return [entry for entry in catalog.entries if entry.msgid]


def describe(entries: list[Entry]) -> str:
    return "\n".join(f"  msgid {entry.msgid!r}" for entry in entries)


def po_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "django.po"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_ships_a_po_and_a_mo(language):
    assert po_path(language).is_file(), f"no catalog for {language}: {po_path(language)}"
    assert po_path(language).with_suffix(".mo").is_file(), (
        f"{language}'s catalog is not compiled: run compilemessages (docs/admin.rst, 'Updating the catalogs')"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy_or_obsolete(language):
    catalog = parse_po(po_path(language))
    untranslated = [e for e in messages(catalog) if not e.msgstr or not all(e.msgstr.values())]
    fuzzy = [e for e in messages(catalog) if "fuzzy" in e.flags]
    assert not untranslated, f"{language}: {len(untranslated)} untranslated:\n{describe(untranslated)}"
    assert not fuzzy, f"{language}: {len(fuzzy)} fuzzy (check, then remove the flag):\n{describe(fuzzy)}"
    assert not catalog.obsolete, f"{language}: obsolete entries (#~) left: {catalog.obsolete[:3]}"
    header = catalog.entries[0]
    assert header.msgid == "" and "fuzzy" not in header.flags, f"{language}: the header is fuzzy"
    assert f"Language: {language}\n" in header.msgstr[0]


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_placeholders_and_markup(language):
    wrong = []
    for entry in messages(parse_po(po_path(language))):
        for index, text in entry.msgstr.items():
            source = entry.msgid if index == 0 or entry.msgid_plural is None else entry.msgid_plural
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(text)):
                wrong.append(f"  {entry.msgid!r}\n    -> {text!r}")
    assert not wrong, f"{language}: placeholders or tags differ:\n" + "\n".join(wrong)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_mo_holds_what_the_po_says(language):
    with po_path(language).with_suffix(".mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
    expected: dict[object, str] = {}
    for entry in parse_po(po_path(language)).entries:
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            expected[msgid] = entry.msgstr[0]
        else:
            expected.update({(msgid, index): text for index, text in entry.msgstr.items()})
    # msgfmt leaves POT-Creation-Date out of the compiled header: it says when makemessages ran.
    expected[""] = re.sub(r"POT-Creation-Date: [^\n]*\n", "", expected[""])
    stale = sorted(str(key) for key in expected.keys() ^ compiled.keys())
    changed = sorted(str(key) for key in expected.keys() & compiled.keys() if expected[key] != compiled[key])
    assert not stale and not changed, (
        f"{language}: django.mo is out of date with django.po; run compilemessages "
        f"(docs/admin.rst, 'Updating the catalogs'). Differing: {(stale + changed)[:5]}"
    )


def test_django_uses_the_catalogs():
    from django.utils import translation

    from postmark_admin.models import WebhookEvent

    with translation.override("de"):
        assert str(WebhookEvent._meta.verbose_name_plural) == "Webhook-Ereignisse"
        singular = "%(count)d user has no email address, so no test email was sent to them: add one on their user page."
        plural = "%(count)d users have no email address, so no test email was sent to them: add one on their user pages."
        assert translation.ngettext(singular, plural, 2) == (
            "%(count)d Benutzer haben keine E-Mail-Adresse, daher wurde ihnen keine Test-E-Mail gesendet: "
            "Fügen Sie auf ihren Benutzerseiten eine hinzu."
        )
    with translation.override("fr"):
        assert translation.gettext("Effective configuration") == "Configuration effective"


@pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msgmerge") is None,
    reason="GNU gettext (xgettext, msgmerge) is not installed, so makemessages cannot run: "
    "apt-get install gettext (scripts/test.py does, as root)",
)
def test_makemessages_finds_nothing_new_and_nothing_gone(tmp_path):
    """makemessages over a copy of the package: the catalogs it would write hold the same msgids."""
    copy = tmp_path / "postmark_admin"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo"))
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            *(f"-l{lang}" for lang in LANGUAGES),
            *MAKEMESSAGES_FLAGS,
        ],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    problems = []
    for language in LANGUAGES:
        shipped = {e.key for e in messages(parse_po(po_path(language)))}
        current = {
            e.key for e in messages(parse_po(copy / "locale" / language / "LC_MESSAGES" / "django.po"))
        }
        problems += [
            f"  {language}: new, not in the catalog: {key[1]!r}" for key in sorted(current - shipped)
        ]
        problems += [
            f"  {language}: in the catalog, gone from the code: {key[1]!r}"
            for key in sorted(shipped - current)
        ]
    assert not problems, (
        "the catalogs are not up to date with the code; from postmark_admin/ run\n"
        f"  django-admin makemessages {' '.join(f'-l {lang}' for lang in LANGUAGES)} "
        f"{' '.join(MAKEMESSAGES_FLAGS)}\nthen translate the new entries and run compilemessages:\n"
        + "\n".join(problems)
    )
