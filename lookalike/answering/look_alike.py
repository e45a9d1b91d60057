"""A photo's way from its bytes to its answer, with no front end in it: fetched (by the
caller's ``fetch``), analysed in the face pool, ranked in the index answering now, and made
into a reply; or a text saying truly why not. The Telegram handlers and any other front end
call ``answer_photo`` after ``Admission.admit`` let the photo in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from lookalike.answering import metrics, replies
from lookalike.answering.admission import Pass
from lookalike.answering.face_pool import PhotoFailed, TooLate
from lookalike.answering.outcome import Outcome
from lookalike.answering.services import Services
from lookalike.answering.texts import say
from lookalike.engine import imaging, video
from lookalike.engine.imaging import ImageError

log = logging.getLogger(__name__)

IMAGE_ERROR_TEXTS = {
    ImageError.EMPTY: "empty_file",
    ImageError.NOT_AN_IMAGE: "bad_image",
    ImageError.TRUNCATED: "damaged_image",
    ImageError.TOO_LARGE: "too_large",
    ImageError.TOO_MANY_PIXELS: "too_many_pixels",
}
"""The text that says truly why a file could not be read, by ``ImageError.reason``."""

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
"""The largest file answered: Telegram lets bots download files of at most 20 MB, and the
playground takes a photo up to the same size."""

MAX_VIDEO_BYTES = 12 * 1024 * 1024
"""The largest video read: a minute's video note is 1-8 MB; a longer or larger video is refused
before its download (Telegram says its size and duration) and its frames are never decoded."""

VIDEO_ERROR_TEXTS = {"bad_video": "bad_video", "too_long": "video_too_long", "too_large": "video_too_large"}
"""The text that says why a video was not read, by ``VideoError.reason``."""


class Declined(Exception):
    """A photo answered with a text instead of a look-alike: ``key`` in texts, ``result`` and
    ``detail`` for the outcome."""

    def __init__(self, key: str, result: str, detail: str | None = None, **values: object):
        super().__init__(result)
        self.key, self.result, self.detail, self.values = key, result, detail, values


async def answer_photo(
    services: Services,
    fetch: Callable[[], Awaitable[bytes]],
    lang: str,
    admitted: Pass,
    outcome: Outcome,
    is_video: bool = False,
) -> replies.Reply | str:
    """The photo's answer (``is_video``: a video's, from its sharpest frame): a look-alike, or
    the text that says why not. ``outcome`` gets the result and what the log and the analytics
    need. The pool's and the user's places in ``admitted`` are given back once it is analysed."""
    try:
        reply = await _look_alike(services, fetch, lang, admitted, outcome, is_video)
    except Declined as declined:
        outcome.result, outcome.detail = declined.result, declined.detail
        return say(lang, declined.key, **declined.values)
    except Exception:  # a bug must still get the user an answer
        log.exception("unexpected failure answering a photo")
        outcome.result = "error"
        return say(lang, "failed")
    outcome.result = "match"
    outcome.fields.update(top=reply.top.name, percent=replies.percent(reply.top))
    return reply


async def _look_alike(
    services: Services,
    fetch: Callable[[], Awaitable[bytes]],
    lang: str,
    admitted: Pass,
    outcome: Outcome,
    is_video: bool,
) -> replies.Reply:
    try:
        with metrics.STAGE_SECONDS.labels("download").time():
            data = await fetch()
        outcome.fields["bytes"] = len(data)
        if is_video and len(data) > MAX_VIDEO_BYTES:  # Telegram said less, or did not say
            raise Declined("video_too_large", "too_large", megabytes=MAX_VIDEO_BYTES >> 20)
        admitted.fetched()
        with metrics.STAGE_SECONDS.labels("faces").time():
            analysis = await services.pool.analyse(data, admitted.analysed_by(), video=is_video)
    except PhotoFailed as exc:
        raise Declined("failed", "failed", str(exc)) from exc
    except TooLate as exc:  # the reckoning at admission was wrong: "busy" now, not an answer too late
        raise Declined("busy", "busy", "late") from exc
    finally:
        admitted.worked()
    if is_video and analysis.error is not None:
        raise Declined(
            VIDEO_ERROR_TEXTS.get(analysis.error, "bad_video"),
            analysis.error,
            analysis.error,
            count=video.MAX_SECONDS,
            megabytes=MAX_VIDEO_BYTES >> 20,
        )
    if analysis.error is not None:
        raise Declined(
            IMAGE_ERROR_TEXTS.get(analysis.error, "bad_image"),
            "bad_image",
            analysis.error,
            jpeg_mp=imaging.MAX_JPEG_PIXELS // 1_000_000,
            other_mp=imaging.MAX_PIXELS // 1_000_000,
        )
    outcome.fields["faces"] = len(analysis.faces)
    metrics.FACES.observe(len(analysis.faces))
    if not analysis.faces:
        raise Declined("no_face_video" if is_video else "no_face", "no_face")
    build = services.reloader.current  # one build for the whole answer, even across a reload
    # what model.py prints, too
    answers = build.index.look_alikes(analysis.embeddings, k=3, gender_scores=analysis.gender_scores)
    outcome.best_matches = [answer.matches[0].name for answer in answers if answer.matches]
    if len(analysis.faces) == 1:
        answer = answers[0]
        return await asyncio.to_thread(
            replies.one_face, lang, analysis, answer.matches, build, answer.other, answer.this_is is not None
        )
    identified = [answer.this_is is not None for answer in answers]
    return replies.several_faces(lang, analysis, [answer.matches for answer in answers], build, identified)
