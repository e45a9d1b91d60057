"""Every sentence the bot says, by key, in English as the gettext catalogs' msgids.

``say(lang, key, **values)`` translates the message with the catalog of ``lang``
(``translations.catalog``: a regional tag falls back to its language, anything else to
English), picks the plural form of ``count`` where the message has plurals (Russian,
Ukrainian and Arabic have three to six), and fills in the ``%(name)s`` values. In a
right-to-left language every line starts with a right-to-left mark, so that a line
beginning with a Latin name or a number is still laid out right to left. Messages that may
carry names (captions) are HTML: the caller escapes the names, this module only formats.

``N_`` and ``Nn_`` only mark messages for Babel's extraction (pyproject.toml's
``[tool.babel]``): they are translated when said, in the user's language.
"""

from __future__ import annotations

import logging

from lookalike.answering.translations import catalog, right_to_left

log = logging.getLogger(__name__)

RLM = "\u200f"
"""The right-to-left mark: a strong right-to-left character that shows nothing."""


def N_(message: str) -> str:  # noqa: N802 (gettext's name for it)
    """A message, marked for extraction."""
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802
    """A message with plural forms, chosen by the value ``count``, marked for extraction."""
    return singular, plural


TEXTS: dict[str, str | tuple[str, str]] = {
    "start": N_(
        "Send me a selfie and I'll tell you which celebrity you look like, how alike you are, "
        "and show your faces side by side. A round video message works too.\n\n"
        "/language: choose the language I answer in.\n"
        "Photos and videos are processed in memory and never stored."
    ),
    "hint": N_(
        "Send me a photo with a face (a selfie works best), or a round video message, "
        "and I'll find your celebrity look-alike."
    ),
    "no_face": N_(
        "I couldn't find a face in this photo. A good selfie has one face, looking straight "
        "at the camera, in good light, and filling a good part of the frame."
    ),
    "no_face_video": N_(
        "I couldn't find a face in this video. Film your face looking straight at the camera, "
        "in good light, filling a good part of the frame."
    ),
    "bad_image": N_(
        "I couldn't read this file as a picture: it is not an image in a format I know. "
        "Please send a photo (JPEG, HEIC, AVIF, PNG or WebP)."
    ),
    "damaged_image": N_("This picture is damaged or incomplete, so I couldn't read it. Please send it again."),
    "empty_file": N_("This file is empty. Please send a photo."),
    "too_many_pixels": N_(
        "This picture has too many pixels for me: I read JPEGs of up to %(jpeg_mp)d megapixels "
        "and other formats of up to %(other_mp)d. Send it as a photo instead of a file "
        "(Telegram makes it smaller), or a smaller image."
    ),
    "too_large": N_(
        "This file is larger than 20 MB, the most Telegram lets bots download. "
        "Send it as a photo instead of a file, or a smaller image."
    ),
    "bad_video": N_("I couldn't read this video. Please send it again, or send a photo."),
    "video_too_large": N_(
        "This video is too large for me: I read videos of up to %(megabytes)d MB. "
        "Send a round video message or a shorter video, or a photo."
    ),
    "video_too_long": Nn_(
        "This video is too long for me: I read videos of up to %(count)d second. "
        "Send a round video message or a shorter video, or a photo.",
        "This video is too long for me: I read videos of up to %(count)d seconds. "
        "Send a round video message or a shorter video, or a photo.",
    ),
    "download_failed": N_("I couldn't download this photo from Telegram. Please send it again."),
    "busy": N_("I'm busy with a lot of photos right now. Please try again in a moment."),
    "user_in_flight": N_("I'm still working on your previous photos. Send the next one when they're answered."),
    "user_rate": Nn_(
        "That's a lot of photos in one minute! Please try again in %(count)d second.",
        "That's a lot of photos in one minute! Please try again in %(count)d seconds.",
    ),
    "failed": N_("Something went wrong while processing this photo. Please try another one."),
    "match": N_("You look like <b>%(name)s</b>: %(percent)s, more alike than %(percent)s of people."),
    "this_is": N_("This is <b>%(name)s</b>! Not a look-alike: I know this face."),
    "also": N_("Also like: %(others)s"),
    "small_face": N_("Tip: the face is small in this photo; a closer selfie gives a surer match."),
    "group": Nn_("I found %(count)d face:", "I found %(count)d faces:"),
    "group_line": N_("%(number)d. <b>%(name)s</b>: %(percent)s"),
    "group_this_is": N_("%(number)d. This is <b>%(name)s</b>"),
    "stale_button": N_("This answer is from an older gallery. Please send your photo again."),
    "unknown_button": N_("This button isn't one of mine, so it does nothing."),
    "inline_button": N_("I can only show this photo in a chat with me: send me your selfie there."),
    "thumbnail": N_("%(name)s · %(percent)s"),
    "credit": N_("Photo: %(author)s, %(license)s"),
    "credit_author": N_("Photo: %(author)s"),
    "other_male": N_("As a man: %(name)s · %(percent)s"),
    "other_female": N_("As a woman: %(name)s · %(percent)s"),
    "language_choose": N_("Which language should I answer in?"),
    "language_chosen": N_(
        "From now on I answer in English. /language changes it again; /forget makes me follow your Telegram's language."
    ),
    "forgotten": N_("Done: I forgot your language choice and follow your Telegram's language again."),
    "command_start": N_("What this bot does"),
    "command_help": N_("How to get the best look-alike"),
    "command_language": N_("Choose the language I answer in"),
    "command_forget": N_("Forget my language choice"),
    "command_help_group": N_("How the bot answers photos in this group"),
    "description": N_(
        "Send me a selfie or a round video message and I'll tell you which celebrity you look like, "
        "how alike you are, and show your faces side by side. Group photos get a look-alike for every "
        "face. Photos and videos are processed in memory and never stored."
    ),
    "short_description": N_("Which celebrity do you look like? Send a selfie."),
    "stats_answered": N_("Photos answered: %(answered)s since the start (%(hours)s h ago), %(day)s in the last 24 h"),
    "stats_outcomes": N_("Outcomes: %(outcomes)s"),
    "stats_none": N_("none yet"),
    "stats_coverage": N_("Celebrities answered: %(answered)s of %(size)s (%(share)s of the gallery)"),
    "stats_most": N_("Most answered: %(names)s"),
    "chart_celebrities": N_("Answers per celebrity (the %(shown)s most answered of %(answered)s)"),
    "chart_coverage": N_("The gallery's coverage: %(answered)s of %(size)s celebrities answered (%(share)s)"),
    "chart_hours": N_("Photos answered in the last 24 hours, by outcome (%(day)s in all)"),
    "chart_hours_axis": N_("hours ago"),
    "chart_empty": N_("No photos answered yet"),
}


def say(lang: str, key: str, **values: object) -> str:
    """The text ``key`` in ``lang`` with ``values`` filled in (``count`` chooses the plural)."""
    message = TEXTS[key]
    translations = catalog(lang)
    if isinstance(message, tuple):
        count = values["count"]
        assert isinstance(count, int), "a plural's count is a whole number"
        text = translations.ngettext(*message, count)
    else:
        text = translations.gettext(message)
    if values:
        try:
            text = text % values
        except (KeyError, ValueError, TypeError) as exc:  # a broken translation: say it in English
            log.error("the %s translation of %r is broken (%r): said in English", lang, key, exc)
            english = message if isinstance(message, str) else message[values["count"] != 1]
            text = english % values
    if right_to_left(lang):
        text = "\n".join(RLM + line for line in text.split("\n"))
    return text
