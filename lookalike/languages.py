"""The languages the bot speaks, for the bot, the playground and the fetcher alike.

Each has a gettext catalog in ``lookalike/locale/<code>/LC_MESSAGES/lookalike.po`` (README,
"Languages": how to add one), and ``fetch_celebrities.py`` asks Wikidata for the celebrities'
names in each by default, so a celebrity is named in the user's language where Wikidata has a
label. English comes first: it is the fallback for every other language.
"""

from __future__ import annotations

LANGUAGES = ("en", "ru", "uk", "es", "pt", "de", "fr", "it", "tr", "id", "ar", "fa", "hi")
DEFAULT = "en"
RIGHT_TO_LEFT = frozenset({"ar", "fa"})


def supported(code: str | None) -> str:
    """The language of an IETF tag such as Telegram's ``language_code``: itself, its base
    language for a regional variant ("pt-br" -> "pt"), else English."""
    base = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else DEFAULT
