"""The playground page's own words, in the visitor's language, from the bot's catalogs.

The page (``static/``) marks each element it shows words in with ``data-text="<key>"`` and asks
``/api/texts?lang=...`` for them once it knows the language; its English words stay in the HTML
for a browser without scripts. ``%(name)s`` values are filled in by the page.
"""

from __future__ import annotations

from typing import Any

from lookalike.answering.texts import N_
from lookalike.answering.translations import catalog, native_name, right_to_left
from lookalike.languages import LANGUAGES, supported

PAGE_TEXTS = {
    "title": N_("Celebrity look-alike: playground"),
    "heading": N_("Celebrity look-alike"),
    "playground": N_("playground"),
    "language": N_("Language"),
    "operator": N_("operator"),
    "no_index": N_("No index yet"),
    "no_index_how": N_(
        "The bot answers from an index of celebrities, which build_embeddings.py makes from a folder "
        "of photos, and fetch_celebrities.py fills from Wikidata:"
    ),
    "first_run_offer": N_(
        "Or let the playground run both now: it fetches a few hundred famous people's portraits from "
        "Wikidata and Wikimedia Commons (with their photos' credits) and builds them."
    ),
    "contact": N_("Your e-mail or web page (Wikimedia asks to be told who fetches)"),
    "celebrities": N_("Celebrities"),
    "fetch_and_build": N_("Fetch and build"),
    "fetching": N_("Fetching photos from Wikimedia…"),
    "building": N_("Building the index…"),
    "done": N_("Done: loading the index…"),
    "failed": N_("Failed"),
    "index_line": N_("%(count)s celebrities in the index (version %(version)s)"),
    "drop": N_("Drop a photo here, or"),
    "choose": N_("Choose a photo"),
    "selfie": N_("Take a selfie"),
    "never_stored": N_("Photos are processed in memory and never stored."),
    "picture": N_("the bot's picture"),
    "no_answer": N_("The playground did not answer: %(error)s"),
    "operator_heading": N_("Operator"),
    "operator_subtitle": N_("the playground's numbers, as /stats sends them"),
    "chart": N_("answers per celebrity, the gallery's coverage, outcomes over the last 24 hours"),
}


def page_texts(lang: str | None) -> dict[str, Any]:
    """What the page needs to speak ``lang`` (a browser's tag: "pt-BR" is Portuguese): the
    language chosen, its direction, the page's words, and every language to choose from."""
    code = supported(lang)
    translations = catalog(code)
    return {
        "lang": code,
        "dir": "rtl" if right_to_left(code) else "ltr",
        "texts": {key: translations.gettext(message) for key, message in PAGE_TEXTS.items()},
        "languages": [{"code": other, "name": native_name(other)} for other in LANGUAGES],
    }
