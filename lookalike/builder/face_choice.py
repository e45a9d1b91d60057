"""Which face of each of a person's photos is theirs (``choose_faces``), or why none is.

A fetched person has several photos (their Wikidata image, P18, then Commons files that
depict them or are in their category): some show several people, some are the wrong file
(another person, a look-alike, a painting). The photos settle it among themselves:

- The anchor is the face that agrees (within ``cut``, dlib's same-person distance) with the
  most of the person's OTHER photos, any of whose faces may agree; ties go to the face
  nearest the other photos (the smallest sum of each other photo's nearest face). The P18
  photo's face is the anchor whenever it agrees with at least one other photo: the one file
  an editor chose as the person's. A P18 that agrees with none (a painting among real
  photos) is outvoted like any other photo. A face with a look-alike in its own photo
  (twins) is never the anchor.
- Each photo then gives the one face within ``cut`` of the anchor; a photo where none is
  "disagrees", one where several are is "ambiguous_match" (twins, or a threshold too loose:
  never guessed). So a face of someone else in a group photo is never taken for the person:
  it would have to agree with the anchor, and then the person's own face could not also.
- The quality filters (eye distance, roll) judge the chosen face; a photo with no face that
  passes them takes no part in the vote.
- The set stands if at least 2 photos are kept and at least half of those that took part.
- Where no face agrees with another photo (one photo, or photos that all disagree), there
  is nothing to anchor on: each photo's face is its main face (``face_workers.choose_main_face``,
  stored as ``PhotoResult.main``) and ``consensus`` judges those, exactly as before several
  photos a person were fetched: one photo is trusted as it is, two that disagree are both
  dropped. A person whose photos each show one face gets the same faces either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lookalike.builder.photo_cache import FaceFacts

SAME_PERSON_DISTANCE = 0.6
"""dlib's rule: two embeddings of the same person are usually less than 0.6 apart.
On LFW, 1.4% of same-person pairs are farther and 1% of different-person pairs nearer."""


@dataclass
class PersonPhoto:
    """One of a person's usable photos (status "ok"), as the choice sees it."""

    faces: list[FaceFacts]  # at least one
    main: int | None  # the main face's index (choose_main_face), None when no face is clearly it
    preferred: bool = False  # the person's Wikidata image (P18)


def face_reason(face: FaceFacts, min_eye_distance: float, max_roll: float) -> str | None:
    """Why this face cannot be used (a key of build.REASONS), or None if it can."""
    if face.eye_distance < min_eye_distance:
        return "too_small"
    if abs(face.roll) > max_roll:
        return "rolled"
    return None


def choose_faces(
    photos: list[PersonPhoto], min_eye_distance: float, max_roll: float, cut: float = SAME_PERSON_DISTANCE
) -> list[int | str]:
    """For each of one person's ``photos``: the index of the face that is theirs, or the reason
    (a key of build.REASONS) the photo is rejected."""
    usable = [
        [j for j, face in enumerate(p.faces) if face_reason(face, min_eye_distance, max_roll) is None] for p in photos
    ]
    anchor = _anchor(photos, usable, cut)
    if anchor is None:
        return _by_main_face(photos, min_eye_distance, max_roll, cut)
    chosen: list[int | str] = []
    for photo, good in zip(photos, usable):
        matches = [j for j, face in enumerate(photo.faces) if _distance(face.embedding, anchor) <= cut]
        if not good:  # nothing here could be used: say why the face that counts cannot
            shown = matches[0] if len(matches) == 1 else photo.main if photo.main is not None else 0
            chosen.append(face_reason(photo.faces[shown], min_eye_distance, max_roll) or "too_small")
        elif not matches:
            chosen.append("disagrees")
        elif len(matches) > 1:
            chosen.append("ambiguous_match")
        else:
            chosen.append(face_reason(photo.faces[matches[0]], min_eye_distance, max_roll) or matches[0])
    kept = [i for i, choice in enumerate(chosen) if isinstance(choice, int)]
    voters = sum(1 for good in usable if good)
    if len(kept) < 2 or 2 * len(kept) < voters:
        for i in kept:
            chosen[i] = "disagrees"
    return chosen


def consensus(embeddings: np.ndarray, cut: float = SAME_PERSON_DISTANCE) -> np.ndarray:
    """Which of one celebrity's photos to keep, one face each: a boolean mask over ``embeddings`` (n, 128).

    The anchor is the photo with the most others within ``cut`` (ties: the smallest
    sum of distances, i.e. the medoid); the photos within ``cut`` of it are kept, if
    they are at least 2 and at least half of all. One photo is always kept; two that
    disagree are both dropped.
    """
    n = len(embeddings)
    if n <= 1:
        return np.ones(n, dtype=bool)
    vectors = np.asarray(embeddings, dtype=np.float64)
    distances = np.stack([np.linalg.norm(vectors - vector, axis=1) for vector in vectors])
    neighbours = (distances <= cut).sum(axis=1)
    anchor = np.lexsort((distances.sum(axis=1), -neighbours))[0]
    keep = distances[anchor] <= cut
    if keep.sum() < 2 or 2 * keep.sum() < n:
        keep[:] = False
    return keep


def _anchor(photos: list[PersonPhoto], usable: list[list[int]], cut: float) -> np.ndarray | None:
    """The anchor face's embedding (float64), or None when no usable face agrees with another photo."""
    owners = np.array([i for i, good in enumerate(usable) for _ in good])
    if len(set(owners.tolist())) < 2:
        return None
    vectors = np.stack([photos[i].faces[j].embedding for i, good in enumerate(usable) for j in good]).astype(np.float64)
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])  # each voting photo's first face
    voters = owners[starts]
    best: tuple[bool, int, float] | None = None
    anchor = None
    for i, good in enumerate(usable):
        photo = photos[i]
        for j in good:
            vector = np.asarray(photo.faces[j].embedding, dtype=np.float64)
            if _has_look_alike(photo, j, vector, cut):
                continue
            nearest = np.minimum.reduceat(np.linalg.norm(vectors - vector, axis=1), starts)[voters != i]
            support = int((nearest <= cut).sum())
            key = (photo.preferred and support > 0, support, -float(nearest.sum()))
            if best is None or key > best:
                best, anchor = key, vector
    return anchor if best is not None and best[1] > 0 else None


def _has_look_alike(photo: PersonPhoto, j: int, vector: np.ndarray, cut: float) -> bool:
    """Whether another face of the same photo is within ``cut`` of face ``j``."""
    return any(_distance(face.embedding, vector) <= cut for k, face in enumerate(photo.faces) if k != j)


def _by_main_face(photos: list[PersonPhoto], min_eye_distance: float, max_roll: float, cut: float) -> list[int | str]:
    """Each photo's main face, judged by quality and ``consensus`` (nothing to anchor on)."""
    chosen: list[int | str] = []
    candidates: list[tuple[int, FaceFacts]] = []  # (photo, its main face) for the consensus
    for i, photo in enumerate(photos):
        if photo.main is None:
            chosen.append("ambiguous")
            continue
        face = photo.faces[photo.main]
        reason = face_reason(face, min_eye_distance, max_roll)
        chosen.append(photo.main if reason is None else reason)
        if reason is None:
            candidates.append((i, face))
    if candidates:
        keep = consensus(np.stack([face.embedding for _, face in candidates]), cut)
        for (i, _), kept in zip(candidates, keep):
            if not kept:
                chosen[i] = "disagrees"
    return chosen


def _distance(embedding: np.ndarray, anchor: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(embedding, dtype=np.float64) - anchor))
