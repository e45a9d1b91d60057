"""Which name a celebrity is shown under, and the credit line their photo needs.

The catalog (fetch_celebrities.py writes one) may give ``names`` by language: the user's
language is used when it is there, else ``name``. CC BY and CC BY-SA photos must be
credited wherever they are shown: "Photo: <author>, <licence>". A photo with no author
(public domain, CC0 without one) gets no credit line.
"""

from __future__ import annotations

from lookalike.answering.texts import say
from lookalike.records import CelebrityRecord

AUTHOR_ON_PICTURE = 32
"""Characters of the author in the picture's credit line, so that the licence still fits."""


def shown_name(celebrity: CelebrityRecord, lang: str) -> str:
    """``names[lang]`` when the catalog has it, else ``name``."""
    return _text(celebrity.get("names", {}).get(lang)) or celebrity["name"]


def photo_credit(celebrity: CelebrityRecord, lang: str, author_limit: int | None = None) -> str | None:
    """ "Photo: Gage Skidmore, CC BY-SA 2.0", or None when the photo has no author.

    ``author_limit`` shortens a long author (with an ellipsis) so that the licence fits.
    """
    author = _text(celebrity.get("author"))
    if author is None:
        return None
    if author_limit is not None and len(author) > author_limit:
        author = author[: author_limit - 1].rstrip() + "…"
    licence = _text(celebrity.get("license"))
    return say(lang, "credit", author=author, license=licence) if licence else say(lang, "credit_author", author=author)


def _text(value: str | None) -> str | None:
    """``value`` without its surrounding blanks; None when nothing is left."""
    return (value or "").strip() or None
