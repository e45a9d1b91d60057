"""Turn a photo folder into the assets directory the bot and model.py load
(``build()``; the command line is build_embeddings.py).

PHOTOS_DIR holds ``<Name>.jpg`` (one photo of a celebrity) and/or ``<Name>/*.jpg``
(several), in any format Pillow reads; ``Tom_Cruise`` is shown as "Tom Cruise"
unless a ``catalog.json`` or ``catalog.csv`` beside the photos says otherwise
(see photos/README.md).

The steps:

1. Every photo is hashed (SHA-256). Photos whose hash is in the cache, for the same
   pipeline settings, are not analysed again; the others go to a process pool whose
   workers each load one ``FaceModel`` (``engine/face_workers.py``). No pool is started when nothing is new.
2. Each photo yields every face in it (the main one marked: ``face_workers.choose_main_face``)
   or a reason to reject it: unreadable, no face.
3. A celebrity's photos choose their faces together (``face_choice.choose_faces``): the face
   that agrees with the most of the other photos within dlib's same-person distance (0.6),
   the Wikidata image's (P18) whenever it agrees with one, anchors the set; each photo gives
   the one face within 0.6 of it, so a group photo gives the person's face and never a
   neighbour's; a photo with none is dropped as "disagrees with the other photos" (a wrong
   file, a painting), one with two as ambiguous. The chosen face must be large enough (eye
   distance) and not rolled too far, and the set is dropped entirely unless at least 2 photos
   and at least half of them agree. So 2 photos that disagree are both dropped: nothing says
   which one is the celebrity, and a stranger's face under a celebrity's name is a worse error
   than a missing celebrity (a third photo settles it). One photo is trusted as it is, with
   its main face (several faces and none clearly the main one: rejected). The celebrity's
   vector is the mean of its kept faces; its thumbnail is the P18 photo when kept, else the
   kept photo with the largest face, framed on the chosen face, and celebrities.jsonl credits
   that photo (``catalog_images``).
4. ``make_index`` fits the hub-aware ranking (``lookalike.engine.ranking``: the gallery's
   within-person spread, each celebrity's photo count and reach) and, when the catalog
   labels genders, the gender probe (``lookalike.engine.gender``) on the kept photos, then
   calibrates the percentile on the ranked distance from each kept photo to its best other
   celebrity (leave-one-out when there is one photo per celebrity).
5. The index, a thumbnail per celebrity, build.json and its contact sheets (``contact_sheet``:
   rejected.jpg, gallery.jpg) are written to a new sibling
   directory which then replaces the output atomically (``directory_swap.replace_directory``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
from PIL import Image

from lookalike import assets_layout
from lookalike.builder import BuildError, contact_sheet, photo_analysis
from lookalike.builder.catalog_images import CREDIT_FIELDS
from lookalike.builder.celebrity_photos import Celebrity, discover
from lookalike.builder.directory_swap import staged_directory
from lookalike.builder.face_choice import SAME_PERSON_DISTANCE, PersonPhoto, choose_faces
from lookalike.builder.photo_cache import FaceFacts, PhotoCache, settings_key
from lookalike.engine import framing, gender
from lookalike.engine.calibration import MAX_CALIBRATION_SAMPLES, CalibrationPhotos
from lookalike.engine.face_model import Face
from lookalike.engine.face_workers import choose_main_face
from lookalike.engine.imaging import decode_image
from lookalike.engine.index import CelebrityIndex
from lookalike.engine.ranking import first_photos, fit_ranking, reference_photos
from lookalike.records import CelebrityRecord

log = logging.getLogger("build_embeddings")

DEFAULT_JITTERS = 10
DEFAULT_MIN_EYE_DISTANCE = 20.0
"""Pixels between the eye centres. dlib's recogniser looks at a 150x150 chip in which
the eyes are ~45 px apart, so a 20 px face is already upscaled more than twice; LFW's
250x250 portraits never go below 24 (1st percentile 29, median 41)."""
DEFAULT_MAX_ROLL = 30.0
"""Degrees. dlib aligns the face before embedding, so a tilted head is harmless in
itself; beyond ~30 degrees the frontal HOG detector and the 5 landmarks are out of
their depth. LFW: 99% of faces within 9 degrees, the most tilted 23."""
DEFAULT_THUMB_SIZE = 256
IDENTITY_PHOTOS_PER_CELEBRITY = 5
"""A celebrity with hundreds of photos (LFW's George W. Bush has 530) would otherwise be
most of the stand-in strangers the "this is X" rule is fitted on, all alike."""
IDENTITY_PHOTOS = 30_000
"""Enough stand-ins for a false rate of 0.1% to rest on 30 photos; each costs a look-up."""
GENDER_PHOTOS = 200_000
"""At most this many photos fit the gender probe and its fusion: a 128-d discriminant has
~8,000 parameters, and a million celebrities' two million photos would cost ~10 GB of
float64 copies for nothing."""
THUMB_QUALITY = 90

REASONS = {
    "unreadable": "unreadable or not an image",
    "no_face": "no face found",
    "ambiguous": "several faces, none clearly the main one",
    "ambiguous_match": "several faces agree with the other photos",
    "too_small": "face too small",
    "rolled": "head rolled too far",
    "duplicate": "same file as another photo of the celebrity",
    "disagrees": "disagrees with the other photos",
    "failed": "the face pipeline failed",
}
"""Why a photo was left out: code -> what the report says."""


@dataclass
class Report:
    """What a build did; ``asdict`` gives the machine-readable summary (also in build.json)."""

    celebrities: int = 0  # indexed
    photos: int = 0  # image files found
    kept: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> photos
    rejected_photos: dict[str, str] = field(default_factory=dict)  # path relative to PHOTOS_DIR -> reason
    celebrities_skipped: list[str] = field(default_factory=list)  # keys with no usable photo
    second_look: int = 0  # photos whose face only the second look found (engine.second_look)
    second_look_kept: int = 0  # of those, kept in the gallery
    group_photos_kept: int = 0  # kept photos showing several faces, the person's chosen among them
    p18_rejected: int = 0  # Wikidata images (catalog source "P18") rejected: those celebrities are shown another photo
    cached: int = 0  # photos answered by the cache
    computed: int = 0  # photos analysed in this run
    seconds: float = 0.0
    output: str = ""
    calibration: dict[str, Any] = field(default_factory=dict[str, Any])
    settings: dict[str, Any] = field(default_factory=dict[str, Any])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- selection


@dataclass
class Entry:
    """A celebrity that made it into the gallery."""

    celebrity: Celebrity
    vector: np.ndarray  # mean of the kept photos' embeddings
    embeddings: np.ndarray  # (kept, 128)
    gender_scores: np.ndarray  # (kept,) the gender classifier's, of the same photos
    best: Path  # the photo the thumbnail comes from
    best_sha256: str
    best_box: tuple[int, int, int, int]  # the chosen face's, in that photo
    group_photos: int = 0  # kept photos with several faces
    best_others: tuple[tuple[int, int, int, int], ...] = ()  # the boxes of the other faces in that photo


def select(
    celebrities: list[Celebrity],
    analysed: dict[Path, photo_analysis.Analysed],
    min_eye_distance: float,
    max_roll: float,
    cut: float = SAME_PERSON_DISTANCE,
) -> tuple[list[Entry], dict[Path, str], list[str]]:
    """The gallery entries, each rejected photo's reason, and the celebrities left without a photo."""
    entries: list[Entry] = []
    rejected: dict[Path, str] = {}
    skipped: list[str] = []
    for celebrity in celebrities:
        images = celebrity.images or {}
        usable: list[tuple[Path, str, PersonPhoto]] = []  # path, sha256, faces
        seen: set[str] = set()
        for path in celebrity.photos:
            item = analysed[path]
            if item.result.status != "ok" or item.sha256 is None:
                rejected[path] = item.result.status
            elif item.sha256 in seen:
                rejected[path] = "duplicate"
            else:
                seen.add(item.sha256)
                p18 = path in images and images[path].is_p18
                usable.append((path, item.sha256, PersonPhoto(item.result.faces, item.result.main, p18)))
        choices = choose_faces([photo for _, _, photo in usable], min_eye_distance, max_roll, cut)
        kept: list[tuple[Path, str, PersonPhoto, FaceFacts]] = []  # path, sha256, faces, the chosen face
        for (path, sha256, photo), choice in zip(usable, choices):
            if isinstance(choice, str):
                rejected[path] = choice
            else:
                kept.append((path, sha256, photo, photo.faces[choice]))
        if not kept:
            skipped.append(celebrity.key)
            continue
        embeddings = np.stack([face.embedding for _, _, _, face in kept]).astype(np.float32)
        shown_path, shown_sha256, shown, shown_face = max(kept, key=lambda k: (k[2].preferred, k[3].eye_distance))
        entries.append(
            Entry(
                celebrity=celebrity,
                vector=embeddings.mean(axis=0).astype(np.float32),
                embeddings=embeddings,
                gender_scores=np.array([face.gender_score for _, _, _, face in kept], dtype=np.float32),
                best=shown_path,
                best_sha256=shown_sha256,
                best_box=shown_face.box,
                group_photos=sum(len(photo.faces) > 1 for _, _, photo, _ in kept),
                best_others=tuple(face.box for face in shown.faces if face is not shown_face),
            )
        )
    return entries, rejected, skipped


def celebrity_record(entry: Entry) -> CelebrityRecord:
    """The celebrity's record in celebrities.jsonl: the catalog's fields, then name, key and photo count.

    With per-photo entries in the catalog (``images``), the credit fields are those of the photo
    shown (the thumbnail's), and only those: a field its entry lacks is left out, never taken
    from another photo. An older catalog's fields describe the person's photo as they are."""
    record = dict(entry.celebrity.record)
    images = entry.celebrity.images
    if images is not None:
        for name in CREDIT_FIELDS:
            record.pop(name, None)
        shown = images.get(entry.best)
        if shown is not None:
            record.update(shown.credit)
    return cast(
        CelebrityRecord,
        {**record, "name": entry.celebrity.name, "key": entry.celebrity.key, "photos": len(entry.embeddings)},
    )


# ---------------------------------------------------------------- thumbnails


def thumbnail_jpeg(
    data: bytes, box: tuple[int, int, int, int], size: int, others: tuple[tuple[int, int, int, int], ...] = ()
) -> bytes:
    """A ``size`` x ``size`` JPEG of the face in ``box``, framed as the bot frames the user's face,
    or tighter where that frame would show much of another face of the photo (``others``)."""
    image = decode_image(data)
    margin = clear_margin(image.shape[1], image.shape[0], box, others)
    crop = framing.face_square(image, box, margin).resize((size, size), Image.Resampling.LANCZOS)
    return framing.jpeg(crop, quality=THUMB_QUALITY)


def clear_margin(
    width: int, height: int, box: tuple[int, int, int, int], others: tuple[tuple[int, int, int, int], ...]
) -> float:
    """The widest framing, from ``framing.FACE_MARGIN`` down to the face box itself, whose
    main face (``face_workers.choose_main_face`` over the faces as the square shows them) is
    the face in ``box``: in a group photo, a face near the edge would otherwise be framed
    around its neighbour, the face a viewer takes for the person named."""
    if not others:
        return framing.FACE_MARGIN
    for margin in np.linspace(framing.FACE_MARGIN, 1.0, 11):
        x0, y0, side = framing.square_bounds(width, height, box, float(margin))
        shown = [_face_in_square(face, x0, y0, side) for face in (box, *others)]
        seen = [face for face in shown if face is not None]
        if shown[0] is not None and choose_main_face(seen, side, side) is shown[0]:
            return float(margin)
    return 1.0


def _face_in_square(box: tuple[int, int, int, int], x0: int, y0: int, side: int) -> Face | None:
    """The part of the face at ``box`` inside the square, in the square's pixels (all that
    ``choose_main_face`` reads of a face), or None when none of it is."""
    left, top = max(box[0] - x0, 0), max(box[1] - y0, 0)
    right, bottom = min(box[2] - x0, side), min(box[3] - y0, side)
    if right <= left or bottom <= top:
        return None
    return Face(box=(left, top, right, bottom), score=0.0, landmarks=np.zeros((5, 2)), embedding=np.zeros(0))


def write_thumbnails(assets_dir: Path, entries: list[Entry], cache: PhotoCache, size: int) -> int:
    """Write each entry's thumbnail into ``assets_dir`` (``assets_layout.thumbnail``); returns how
    many had to be made (not cached)."""
    (assets_dir / assets_layout.THUMBS_DIR).mkdir(parents=True, exist_ok=True)
    made = 0
    for i, entry in enumerate(entries):
        jpeg = cache.get_thumbnail(entry.best_sha256, entry.best_box, size)
        if jpeg is None:
            jpeg = thumbnail_jpeg(entry.best.read_bytes(), entry.best_box, size, entry.best_others)
            cache.put_thumbnail(entry.best_sha256, entry.best_box, size, jpeg)
            made += 1
        assets_layout.thumbnail_path(assets_dir, i).write_bytes(jpeg)
    cache.commit()
    return made


# ---------------------------------------------------------------- the build


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_cache_path(out: Path | str) -> Path:
    """``assets`` -> ``assets.cache.sqlite``, beside (never inside) the output it serves."""
    out = Path(out)
    return out.with_name(out.name + ".cache.sqlite")


def build(
    photos_dir: Path | str,
    out: Path | str = "assets",
    *,
    workers: int | None = None,
    jitters: int = DEFAULT_JITTERS,
    min_eye_distance: float = DEFAULT_MIN_EYE_DISTANCE,
    max_roll: float = DEFAULT_MAX_ROLL,
    cache: Path | str | None = None,
    thumb_size: int = DEFAULT_THUMB_SIZE,
    progress: bool | None = None,
    scheduler: str | None = None,
    send_photos: bool = False,
) -> Report:
    """Build the assets directory ``out`` from the photo folder ``photos_dir`` and return the report.

    The photos are analysed by a local process pool of ``workers``, or on the Dask cluster
    at ``scheduler`` (``tcp://HOST:8786``, or ``local`` for a LocalCluster of ``workers``);
    ``send_photos`` sends the workers the photos' bytes instead of their paths.

    Raises BuildError (leaving ``out`` as it was) when fewer than 2 celebrities have a usable photo.
    """
    started = time.monotonic()
    if jitters < 1 or thumb_size < 16 or (workers is not None and workers < 1):
        raise BuildError("jitters and workers must be at least 1, thumb_size at least 16")
    workers = workers or default_workers()
    photos_dir = Path(photos_dir)
    out = Path(out).absolute()
    cache_path = Path(cache) if cache is not None else default_cache_path(out)
    if out.is_symlink():
        out = Path(os.path.realpath(out))  # replace the directory it points to, beside it
    celebrities = discover(photos_dir)
    if len(celebrities) < 2:
        raise BuildError(f"{photos_dir} holds {len(celebrities)} celebrities; an index needs at least 2")
    settings_digest, settings = settings_key(jitters)
    report = Report(
        photos=sum(len(c.photos) for c in celebrities),
        output=str(out),
        settings={**settings, "min_eye_distance": min_eye_distance, "max_roll": max_roll, "thumb_size": thumb_size},
    )
    with PhotoCache(cache_path, settings_digest) as photo_cache:
        paths = [path for celebrity in celebrities for path in celebrity.photos]
        analysed = photo_analysis.analyse_photos(paths, photo_cache, workers, jitters, progress, scheduler, send_photos)
        report.cached = sum(item.cached for item in analysed.values())
        report.computed = len(analysed) - report.cached
        entries, rejected, skipped = select(celebrities, analysed, min_eye_distance, max_roll)
        report.rejected = dict(Counter(rejected.values()).most_common())
        report.rejected_photos = {_relative(path, photos_dir): reason for path, reason in rejected.items()}
        report.celebrities_skipped = skipped
        report.kept = sum(len(entry.embeddings) for entry in entries)
        report.group_photos_kept = sum(entry.group_photos for entry in entries)
        report.p18_rejected = sum(
            path in rejected for c in celebrities if c.images for path, image in c.images.items() if image.is_p18
        )
        recovered = [path for path, item in analysed.items() if item.result.second_look]
        report.second_look = len(recovered)
        report.second_look_kept = sum(path not in rejected for path in recovered)
        report.celebrities = len(entries)
        del analysed  # ~1.6 KB a photo (embedding, box, hash): GBs at a million celebrities, none needed now
        if len(entries) < 2:
            _log_report(report)
            raise BuildError(f"only {len(entries)} celebrities have a usable photo; an index needs at least 2")
        index = make_index(entries)
        report.calibration = asdict(index.calibration)
        with staged_directory(out) as staging:
            index.save(staging)
            made = write_thumbnails(staging, entries, photo_cache, thumb_size)
            log.info("%d thumbnails, %d made anew", len(entries), made)
            _write_contact_sheets(staging, entries, rejected, photos_dir)
            report.seconds = round(time.monotonic() - started, 3)
            report_json = json.dumps(report.to_dict(), ensure_ascii=False, indent=1)
            (staging / assets_layout.BUILD_REPORT_FILE).write_text(report_json, encoding="utf-8")
    report.seconds = round(time.monotonic() - started, 3)
    _log_report(report)
    return report


def index_inputs(entries: list[Entry]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[CelebrityRecord]]:
    """The celebrities' vectors (n, 128), their kept photos' embeddings (s, 128), each photo's
    celebrity row (s,) and the celebrities' records: what an index is built and fitted from."""
    vectors = np.stack([entry.vector for entry in entries])
    samples = np.concatenate([entry.embeddings for entry in entries])
    owners = np.concatenate([np.full(len(entry.embeddings), i) for i, entry in enumerate(entries)])
    return vectors, samples, owners, [celebrity_record(entry) for entry in entries]


def make_index(entries: list[Entry], **ranking_parameters: Any) -> CelebrityIndex:
    """The index of ``entries`` with its ranking, gender probe, calibration and "this is X"
    rule fitted on their kept photos. Its graphs are built, and the fits search them, on
    every core this process may use (the bot loads the saved index with its own threads)."""
    vectors, samples, owners, records = index_inputs(entries)
    ranking = fit_ranking(vectors, samples, owners, **ranking_parameters)
    counted = first_photos(owners)  # people count, not photos
    scores = np.concatenate([entry.gender_scores for entry in entries])
    gendering = evenly(counted, GENDER_PHOTOS)
    probe = gender.fit_gender(
        samples[gendering], gender.codes(records)[owners[gendering]], owners[gendering], scores[gendering]
    )
    calibrating = counted & ~reference_photos(owners)  # photos that did not shape the reach
    if calibrating.sum() < 2:
        calibrating = counted
    calibrating = evenly(calibrating, MAX_CALIBRATION_SAMPLES)  # as many as the fit takes
    photos = CalibrationPhotos(samples[calibrating], owners[calibrating])
    identifying = identity_photos(owners)
    stand_ins = CalibrationPhotos(samples[identifying], owners[identifying])
    del samples  # the graphs need none of them: a million celebrities' photos are 1 GB beside the graphs
    index = CelebrityIndex.build(vectors, records, photos, ranking=ranking, probe=probe, num_threads=default_workers())
    index.identity = index.fit_identity(stand_ins, scores[identifying])
    return index


def identity_photos(owners: np.ndarray) -> np.ndarray:
    """The kept photos (their rows) the "this is X" rule is fitted on: at most
    ``IDENTITY_PHOTOS_PER_CELEBRITY`` of each, at most ``IDENTITY_PHOTOS`` spread evenly."""
    return evenly(first_photos(owners, IDENTITY_PHOTOS_PER_CELEBRITY), IDENTITY_PHOTOS)


def evenly(chosen: np.ndarray, at_most: int) -> np.ndarray:
    """The rows of the mask ``chosen``, or ``at_most`` of them spread evenly over it."""
    rows = np.flatnonzero(chosen)
    return rows[np.linspace(0, len(rows) - 1, min(len(rows), at_most)).astype(np.int64)]


def _write_contact_sheets(staging: Path, entries: list[Entry], rejected: dict[Path, str], photos_dir: Path) -> None:
    """rejected.jpg and gallery.jpg beside build.json: the report to look at (contact_sheet)."""
    contact_sheet.write_rejected(staging / assets_layout.REJECTED_SHEET_FILE, rejected, REASONS, photos_dir)
    thumbnails = [(assets_layout.thumbnail_path(staging, i), entry.celebrity.name) for i, entry in enumerate(entries)]
    contact_sheet.write_gallery(staging / assets_layout.GALLERY_SHEET_FILE, thumbnails)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _log_report(report: Report) -> None:
    log.info(
        "%d celebrities indexed from %d photos (%d kept) in %.1f s; %d from the cache, %d analysed",
        report.celebrities,
        report.photos,
        report.kept,
        report.seconds,
        report.cached,
        report.computed,
    )
    if report.second_look:
        log.info(
            "%d photos' faces found by the second look (rolled or dark), %d of them kept",
            report.second_look,
            report.second_look_kept,
        )
    if report.group_photos_kept:
        log.info("%d photos of several people kept with the celebrity's own face", report.group_photos_kept)
    if report.p18_rejected:
        log.info("%d Wikidata images (P18) rejected: those celebrities are shown another photo", report.p18_rejected)
    for reason, count in report.rejected.items():
        log.info("rejected %d: %s", count, REASONS.get(reason, reason))
    if report.celebrities_skipped:
        shown = ", ".join(report.celebrities_skipped[:20])
        more = len(report.celebrities_skipped) - 20
        log.info(
            "%d celebrities without a usable photo: %s%s",
            len(report.celebrities_skipped),
            shown,
            f" and {more} more" if more > 0 else "",
        )
