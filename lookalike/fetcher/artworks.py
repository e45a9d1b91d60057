"""Photographs, not artworks: why a Commons file is not a photo of the person, or None.

The look-alike gallery wants the person's face as a camera saw it. Among the files that
depict a famous person, many are paintings, engravings, drawings, statues, coins, stamps or
the person's signature (most famous people on Wikidata lived before photography). A file is
judged by what its structured data say it is (P31, "instance of") and by its visible
categories (a painting is filed under "Portrait paintings of ...", a statue under
"Statues of ..."), and its format (a photo is a JPEG, PNG or WebP; SVG is drawn, TIFF is
mostly scans from archives, PDF and DjVu are documents). A wrongly rejected photo costs one
of a person's several photos; a painting let through gives the person a painted face.

The P31 item ids were checked against public code that uses them with these meanings (this
machine cannot reach Wikidata itself): geertivp/Pywikibot's map of Commons media types
(illustration Q178659, statue Q179700, signature Q188675, bust Q241045, sculpture Q860861,
bronze sculpture Q928357, print Q11060274, wall painting Q219423), museum and Commons upload
scripts (painting Q3305213; drawing Q93184, "dessin"; engraving Q11835431, which two lists
call engraving and others lithograph or print: a print of some kind in any case; watercolour
painting Q18761202), a schema.org "coin" type and a Wikidata classes table (coin Q41207), a
stamps catalogue (postage stamp Q37930). No id for "caricature" could be confirmed (the one
proposed, Q1792372, is used elsewhere for a kind of person): caricatures are told by their
categories only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lookalike.fetcher.structured_data import MediaInfo

ARTWORK_CLASSES = {
    "Q3305213": "painting",
    "Q18761202": "painting",  # watercolour painting
    "Q219423": "painting",  # wall painting
    "Q93184": "drawing",
    "Q11835431": "engraving",
    "Q11060274": "print",
    "Q860861": "sculpture",
    "Q928357": "sculpture",  # bronze sculpture
    "Q241045": "bust",
    "Q179700": "statue",
    "Q41207": "coin",
    "Q37930": "stamp",  # postage stamp
    "Q178659": "illustration",
    "Q188675": "signature",
}
"""P31 values of a file that make it an artwork (or a signature), and the reason given."""

_CATEGORY_KINDS = [
    ("painting", r"paintings|painted portraits?|portraits painted|portrait miniatures"),
    ("drawing", r"drawings"),
    ("engraving", r"engravings|engraved portraits?|etchings|mezzotints"),
    ("print", r"prints|lithographs|lithographic portraits?|woodcuts"),
    ("sculpture", r"sculptures|wax figures|waxworks"),
    ("bust", r"busts"),
    ("statue", r"statues"),
    ("coin", r"coins"),
    ("banknote", r"banknotes"),
    ("stamp", r"stamps"),
    ("illustration", r"illustrations"),
    ("caricature", r"caricatures"),
    ("signature", r"signatures"),
    ("artwork", r"in art$"),  # Commons' "<Person> in art": paintings, sculptures, prints of them
]
_CATEGORY_PATTERNS = [(kind, re.compile(rf"\b(?:{words})\b", re.IGNORECASE)) for kind, words in _CATEGORY_KINDS]
"""A kind's words anywhere in a category's name, as whole words, in the plural Commons names
its categories with ("Portrait paintings of ...", "Napoleon on stamps"): a singular word is
more often an event ("... at a painting exhibition")."""

_PHOTOGRAPHS = re.compile(r"^(?:(?:black[- ]and[- ]white|colou?r)\s+)?photo(?:graph)?s?\b", re.IGNORECASE)
"""Categories of photographs ("Photographs of Angela Merkel", "Photographs of busts") say
what the file is: a photo, whatever it shows."""

PHOTO_FORMATS = frozenset({"image/jpeg", "image/png", "image/webp"})
_NOT_IMAGES = ("image/vnd.djvu",)  # a document, though Commons files it as an image


def artwork_kind(categories: Iterable[str], media: MediaInfo | None) -> str | None:
    """The kind ("painting", "signature"...) the file's P31 or one of its categories says it is, or None."""
    if media is not None:
        for qid, kind in ARTWORK_CLASSES.items():
            if qid in media.instance_of:
                return kind
    return next((kind for kind in map(category_kind, categories) if kind), None)


def category_kind(category: str) -> str | None:
    """The artwork kind a category's name says its files are, or None (``Category:`` prefix or not)."""
    name = category.removeprefix("Category:").strip()
    if _PHOTOGRAPHS.match(name):
        return None
    return next((kind for kind, pattern in _CATEGORY_PATTERNS if pattern.search(name)), None)


def format_problem(mime: str | None, keep_artworks: bool = False) -> str | None:
    """Why a file of this MIME type is not used, or None (an unknown type is not held against it).

    Other image formats (SVG, GIF, TIFF...) are kept with ``keep_artworks``; documents, videos and
    sounds never are: their thumbnail is a page or a frame, not a portrait."""
    if mime is None or mime in PHOTO_FORMATS:
        return None
    if mime.startswith("image/") and mime not in _NOT_IMAGES:
        return None if keep_artworks else f"not a photo format ({mime})"
    return f"not an image file ({mime})"
