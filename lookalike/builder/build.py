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
2. Each photo yields its main face or a reason to reject it: unreadable, no face,
   several faces with none clearly the main one (``face_workers.choose_main_face``), face too small
   (eye distance), head rolled too far.
3. Several photos of one celebrity must agree (``consensus``): the photo with the
   most others within dlib's same-person distance (0.6) anchors the set, photos
   farther than 0.6 from it are dropped as "disagrees with the other photos", and
   the set is dropped entirely unless the anchor's group is at least 2 photos and at
   least half of them. So 2 photos that disagree are both dropped: nothing says
   which one is the celebrity, and a stranger's face under a celebrity's name is a
   worse error than a missing celebrity (a third photo settles it). One photo is
   trusted as it is. The celebrity's vector is the mean of its kept photos.
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
from typing import Any

import numpy as np
from PIL import Image

from lookalike.builder import BuildError, contact_sheet, photo_analysis
from lookalike.builder.celebrity_photos import Celebrity, discover
from lookalike.builder.directory_swap import staged_directory
from lookalike.builder.photo_cache import PhotoCache, PhotoResult, settings_key
from lookalike.catalog import CelebrityRecord
from lookalike.engine import framing, gender
from lookalike.engine.calibration import MAX_CALIBRATION_SAMPLES, CalibrationPhotos
from lookalike.engine.imaging import decode_image
from lookalike.engine.index import CelebrityIndex
from lookalike.engine.ranking import first_photos, fit_ranking, reference_photos

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
SAME_PERSON_DISTANCE = 0.6
"""dlib's rule: two embeddings of the same person are usually less than 0.6 apart.
On LFW, 1.4% of same-person pairs are farther and 1% of different-person pairs nearer."""
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
    cached: int = 0  # photos answered by the cache
    computed: int = 0  # photos analysed in this run
    seconds: float = 0.0
    output: str = ""
    calibration: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- selection


def quality_reason(result: PhotoResult, min_eye_distance: float, max_roll: float) -> str | None:
    """Why this analysis cannot be used, or None if its face can."""
    if result.status != "ok":
        return result.status
    if result.eye_distance < min_eye_distance:
        return "too_small"
    if abs(result.roll) > max_roll:
        return "rolled"
    return None


def consensus(embeddings: np.ndarray, cut: float = SAME_PERSON_DISTANCE) -> np.ndarray:
    """Which of one celebrity's photos to keep: a boolean mask over ``embeddings`` (n, 128).

    The anchor is the photo with the most others within ``cut`` (ties: the smallest
    sum of distances, i.e. the medoid); the photos within ``cut`` of it are kept, if
    they are at least 2 and at least half of all. One photo is always kept; two that
    disagree are both dropped.
    """
    n = len(embeddings)
    if n <= 1:
        return np.ones(n, dtype=bool)
    vectors = np.asarray(embeddings, dtype=np.float64)
    distances = np.linalg.norm(vectors[:, None, :] - vectors[None, :, :], axis=2)
    neighbours = (distances <= cut).sum(axis=1)
    anchor = np.lexsort((distances.sum(axis=1), -neighbours))[0]
    keep = distances[anchor] <= cut
    if keep.sum() < 2 or 2 * keep.sum() < n:
        keep[:] = False
    return keep


@dataclass
class Entry:
    """A celebrity that made it into the gallery."""

    celebrity: Celebrity
    vector: np.ndarray  # mean of the kept photos' embeddings
    embeddings: np.ndarray  # (kept, 128)
    gender_scores: np.ndarray  # (kept,) the gender classifier's, of the same photos
    best: Path  # the photo the thumbnail comes from
    best_sha256: str
    best_box: tuple[int, int, int, int]


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
        usable: list[tuple[Path, photo_analysis.Analysed]] = []
        seen: set[str] = set()
        for path in celebrity.photos:
            item = analysed[path]
            reason = quality_reason(item.result, min_eye_distance, max_roll)
            if reason is None and item.sha256 in seen:
                reason = "duplicate"
            if reason is not None:
                rejected[path] = reason
                continue
            seen.add(_usable(item)[0])
            usable.append((path, item))
        if usable:
            keep = consensus(np.stack([_usable(item)[1] for _, item in usable]), cut)
            for (path, _), kept in zip(usable, keep):
                if not kept:
                    rejected[path] = "disagrees"
            usable = [pair for pair, kept in zip(usable, keep) if kept]
        if not usable:
            skipped.append(celebrity.key)
            continue
        embeddings = np.stack([_usable(item)[1] for _, item in usable]).astype(np.float32)
        best_path, best = max(usable, key=lambda pair: pair[1].result.eye_distance)
        entries.append(
            Entry(
                celebrity=celebrity,
                vector=embeddings.mean(axis=0).astype(np.float32),
                embeddings=embeddings,
                gender_scores=np.array([item.result.gender_score for _, item in usable], dtype=np.float32),
                best=best_path,
                best_sha256=_usable(best)[0],
                best_box=_usable(best)[2],
            )
        )
    return entries, rejected, skipped


def _usable(item: photo_analysis.Analysed) -> tuple[str, np.ndarray, tuple[int, int, int, int]]:
    """A photo that ``quality_reason`` let through: its hash, embedding and face box, all set."""
    result = item.result
    assert item.sha256 is not None and result.embedding is not None and result.box is not None
    return item.sha256, result.embedding, result.box


def celebrity_record(entry: Entry) -> CelebrityRecord:
    """The celebrity's row of celebrities.json: the catalog's fields, then name, key and photo count."""
    return {
        **entry.celebrity.record,
        "name": entry.celebrity.name,
        "key": entry.celebrity.key,
        "photos": len(entry.embeddings),
    }


# ---------------------------------------------------------------- thumbnails


def thumbnail_jpeg(data: bytes, box: tuple[int, int, int, int], size: int) -> bytes:
    """A ``size`` x ``size`` JPEG of the face in ``box``, framed as the bot frames the user's face."""
    crop = framing.face_square(decode_image(data), box).resize((size, size), Image.Resampling.LANCZOS)
    return framing.jpeg(crop, quality=THUMB_QUALITY)


def write_thumbnails(directory: Path, entries: list[Entry], cache: PhotoCache, size: int) -> int:
    """Write ``directory/<i>.jpg`` for each entry; returns how many had to be made (not cached)."""
    directory.mkdir(parents=True, exist_ok=True)
    made = 0
    for i, entry in enumerate(entries):
        jpeg = cache.get_thumbnail(entry.best_sha256, size)
        if jpeg is None:
            jpeg = thumbnail_jpeg(entry.best.read_bytes(), entry.best_box, size)
            cache.put_thumbnail(entry.best_sha256, size, jpeg)
            made += 1
        (directory / f"{i}.jpg").write_bytes(jpeg)
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
            made = write_thumbnails(staging / "thumbs", entries, photo_cache, thumb_size)
            log.info("%d thumbnails, %d made anew", len(entries), made)
            _write_contact_sheets(staging, entries, rejected, photos_dir)
            report.seconds = round(time.monotonic() - started, 3)
            (staging / "build.json").write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    report.seconds = round(time.monotonic() - started, 3)
    _log_report(report)
    return report


def index_inputs(entries: list[Entry]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """The celebrities' vectors (n, 128), their kept photos' embeddings (s, 128), each photo's
    celebrity row (s,) and the celebrities' records: what an index is built and fitted from."""
    vectors = np.stack([entry.vector for entry in entries])
    samples = np.concatenate([entry.embeddings for entry in entries])
    owners = np.concatenate([np.full(len(entry.embeddings), i) for i, entry in enumerate(entries)])
    return vectors, samples, owners, [dict(celebrity_record(entry)) for entry in entries]


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
    contact_sheet.write_rejected(staging / contact_sheet.REJECTED_FILE, rejected, REASONS, photos_dir)
    thumbnails = [(staging / "thumbs" / f"{i}.jpg", entry.celebrity.name) for i, entry in enumerate(entries)]
    contact_sheet.write_gallery(staging / contact_sheet.GALLERY_FILE, thumbnails)


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
