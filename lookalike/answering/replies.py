"""From an analysed photo and its index matches to what is sent: picture, caption, buttons.

One face: the user's face and the celebrity's side by side, the caption naming the
celebrity with the percentile and the next two closest, and one button per runner-up
that shows that celebrity's photo; when the gallery knows genders, one more button
shows the best look-alike of the other gender (chosen now and carried in the button's
data, so nothing of the user's photo is kept for it). Several faces: the photo with numbered boxes, one
caption line per face, and one button per face. Captions are HTML, at most 1024 chars.
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass

from lookalike.answering import captions, credits, pictures, translations
from lookalike.answering.analysis import Analysis
from lookalike.answering.build_reload import LoadedBuild
from lookalike.answering.texts import say
from lookalike.engine import gender
from lookalike.engine.index import Match

CAPTION_LIMIT = captions.CAPTION_LIMIT
SMALL_FACE_EYES = 24
"""Below this many pixels between the eyes a face is too small for a sure match."""


@dataclass(frozen=True)
class Button:
    """A button under a reply: its label, and the data a press of it sends back."""

    label: str
    data: str


@dataclass
class Reply:
    picture: bytes
    caption: str
    buttons: list[list[Button]]  # rows of buttons; the front end draws them (Telegram: an inline keyboard)
    top: Match  # the first face's best match, for the log


@dataclass(frozen=True)
class RunnerUp:
    """What a runner-up button shows: celebrity ``id``'s photo with ``credited`` under it
    (``caption`` alone when there is no photo to show)."""

    id: int
    name: str
    caption: str
    credited: str


def percent(match: Match) -> int:
    """The percentile as shown: 1-99 ("more alike than 100% of people" would include the person)."""
    return max(1, min(99, round(match.similarity * 100)))


def button_data(build: LoadedBuild, match: Match) -> str:
    """Callback data of a button that shows ``match``'s thumbnail: ``t:<version>:<id>:<percent>``."""
    return f"t:{build.version}:{match.id}:{percent(match)}"


def parse_button(data: str) -> tuple[str, int, int] | None:
    try:
        kind, version, celebrity, pct = data.split(":")
        return (version, int(celebrity), int(pct)) if kind == "t" else None
    except ValueError:
        return None


def runner_up(build: LoadedBuild, data: str, lang: str) -> RunnerUp | None:
    """What the button with ``data`` shows, or None for a button of another build (or none)."""
    parsed = parse_button(data)
    if parsed is None or parsed[0] != build.version or not 0 <= parsed[1] < len(build):
        return None
    _, celebrity, shown_percent = parsed
    entry = build.index.celebrity(celebrity)
    name = credits.shown_name(entry, lang)
    caption = say(lang, "thumbnail", name=name, percent=translations.percent(lang, shown_percent))
    credit = credits.photo_credit(entry, lang)
    credited = captions.cut_text(f"{caption}\n{credit}" if credit else caption)  # wherever the photo is shown
    return RunnerUp(celebrity, name, caption, credited)


def one_face(
    lang: str,
    analysis: Analysis,
    matches: list[Match],
    build: LoadedBuild,
    other: Match | None = None,
    this_is: bool = False,
) -> Reply:
    """Side-by-side picture and caption for a photo with one face, and a button for ``other``
    (the other gender's best look-alike) if given; ``this_is``: the face almost surely is the
    best match (engine.identity), and the caption says so. Blocking: run in a thread."""
    matches = in_language(matches, build, lang)
    other = in_language([other], build, lang)[0] if other is not None else None
    best, others = matches[0], matches[1:3]
    credit = credits.photo_credit(build.index.celebrity(best.id), lang, credits.AUTHOR_ON_PICTURE)
    picture = pictures.side_by_side(
        analysis.faces[0].crop,
        build.thumbnail(best.id),
        translations.percent(lang, percent(best)),
        name=best.name,
        credit=credit,
        lang=lang,
    )
    shown = translations.percent(lang, percent(best))
    lines = [say(lang, "this_is" if this_is else "match", name=_name(build, best), percent=shown)]
    if others:
        listed = ", ".join(f"{html.escape(m.name)} ({translations.percent(lang, percent(m))})" for m in others)
        lines.append(say(lang, "also", others=listed))
    if analysis.faces[0].eye_distance < SMALL_FACE_EYES:
        lines.append(say(lang, "small_face"))
    buttons = [Button(_label(m, lang), button_data(build, m)) for m in others]
    rows = [buttons] if buttons else []
    if other is not None:
        rows.append([other_gender_button(lang, other, build)])
    return Reply(picture, _fit(lines), rows, best)


def other_gender_button(lang: str, other: Match, build: LoadedBuild) -> Button:
    """The button that shows ``other``, labelled with its gender ("As a man: ...")."""
    male = build.index.gender(other.id) == gender.MALE
    key = "other_male" if male else "other_female"
    text = say(lang, key, name=other.name, percent=translations.percent(lang, percent(other)))
    return Button(text[:60], button_data(build, other))


def several_faces(
    lang: str, analysis: Analysis, matches: list[list[Match]], build: LoadedBuild, this_is: list[bool] | None = None
) -> Reply:
    """The numbered group picture and one caption line and button per face; ``this_is``
    per face: it almost surely is its best match, and its line says so."""
    matches = [in_language(face_matches, build, lang) for face_matches in matches]
    identified = this_is or [False] * len(matches)
    lines = [say(lang, "group", count=len(analysis.faces))]
    buttons = []
    for number, (face_matches, known) in enumerate(zip(matches, identified), start=1):
        best = face_matches[0]
        key = "group_this_is" if known else "group_line"
        shown = translations.percent(lang, percent(best))
        lines.append(say(lang, key, number=number, name=_name(build, best), percent=shown))
        buttons.append([Button(f"{number}. {_label(best, lang)}", button_data(build, best))])
    assert analysis.group_picture is not None  # drawn for every photo of two faces or more
    return Reply(analysis.group_picture, _fit(lines), buttons, matches[0][0])


def in_language(matches: list[Match], build: LoadedBuild, lang: str) -> list[Match]:
    """The matches named as the catalog names them in the user's language, where it does."""
    return [dataclasses.replace(m, name=credits.shown_name(build.index.celebrity(m.id), lang)) for m in matches]


def _name(build: LoadedBuild, match: Match) -> str:
    name = html.escape(match.name)
    link = build.link(match.id)
    return f'<a href="{html.escape(link)}">{name}</a>' if link else name


def _label(match: Match, lang: str) -> str:
    return f"{match.name} · {translations.percent(lang, percent(match))}"[:60]


def _fit(lines: list[str]) -> str:
    """Join the lines within Telegram's 1024 characters, counted as Telegram counts them."""
    return captions.fit(lines, CAPTION_LIMIT)
