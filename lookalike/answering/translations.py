"""The bot's texts in the user's language: gettext catalogs, read with the standard library.

The catalogs are the ``.po`` files in ``lookalike/locale/<code>/LC_MESSAGES/lookalike.po``,
extracted and compiled with Babel (README, "Languages"); ``install.sh`` and the image compile
each to the ``.mo`` file that ``gettext`` reads. A ``.mo`` that is missing, or older than its
``.po`` (a catalog edited since the last install), is compiled from the ``.po`` in memory at
its first use instead, so the bot never speaks from a stale catalog. Numbers are formatted for
the language by Babel (CLDR): "87 %" in French, "%87" in Turkish.
"""

from __future__ import annotations

import functools
import gettext
import io
import logging
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from lookalike.languages import RIGHT_TO_LEFT, supported

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "lookalike"


@functools.cache
def catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of ``lang`` (any tag: "pt-br" reads Portuguese's); English's
    msgids, untranslated, when it cannot be read (logged)."""
    code = supported(lang)
    mo = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.mo"
    po = mo.with_suffix(".po")
    try:
        if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
            log.info("%s: no compiled catalog, or an older one; compiled from %s", code, po.name)
            return _compiled(po, code)
        with mo.open("rb") as file:
            return gettext.GNUTranslations(file)
    except (OSError, ValueError) as exc:
        log.error("the %s catalog cannot be read (%s): answering in English", code, exc)
        return gettext.NullTranslations()


def _compiled(po: Path, code: str) -> gettext.GNUTranslations:
    with po.open("rb") as file:
        messages = read_po(file, locale=code, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, messages)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def right_to_left(lang: str) -> bool:
    return supported(lang) in RIGHT_TO_LEFT


def percent(lang: str, value: float) -> str:
    """``value`` percent as the language writes it: "87%", "87 %", "%87"."""
    return format_percent(value / 100, locale=supported(lang), decimal_quantization=False)


def number(lang: str, value: float) -> str:
    """A count or a measure as the language writes it: "12,345", "12 345", "12.345"."""
    return format_decimal(value, locale=supported(lang))


@functools.cache
def native_name(lang: str) -> str:
    """The language's name in itself, capitalised as a menu shows it: "Español", "Українська"."""
    name = Locale.parse(supported(lang)).get_display_name(supported(lang)) or lang
    return name[:1].upper() + name[1:]
