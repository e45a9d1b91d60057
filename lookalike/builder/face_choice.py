"""Which face of each of a person's photos is theirs (``choose_faces``), or why none is.

A fetched person has several photos (their Wikidata image, P18, then Commons files that
depict them or are in their category): some show several people, some are the wrong file
(another person, a look-alike, a painting). The photos settle it among themselves:

- The anchor is the face that agrees (within ``cut``, dlib's same-person distance) with the
  most of the person's OTHER photos, any of whose faces may agree; ties go to the face
  nearest the other photos (the smallest sum of each other photo's nearest face). The P18
  photo's face is the anchor whenever it agrees with at least one other photo: the one file
  an editor chose as the person's. A P18 that agrees with none (a painting among real
  photos) is outvoted like any other photo.
- Each photo then gives the one face within ``cut`` of the anchor; a photo where none is
  "disagrees", one where several are is "ambiguous_match" (twins, or a threshold too loose:
  never guessed). So a face of someone else in a group photo is never taken for the person:
  it would have to agree with the anchor, and then the person's own face could not also.
- The quality filters (eye distance, roll) judge the chosen face; a photo with no face that
  passes them takes no part in the vote.
- The set stands if the P18 is in it, or if at least 2 photos are kept and at least half of
  those that took part.
- Where that leaves nothing (no face agrees with another photo, or the agreeing set is a
  minority without the P18), a usable P18 stands alone with its main face and the other
  photos disagree: the editor's choice is the surest single photo, and a celebrity left out
  of the gallery cannot be recognised at all (on LFW galleries built as fetched ones, 1.3% of
  held-out photos belonged to people whose two or three photos disagreed and were dropped).
- Without a P18 either, there is nothing to anchor on: each photo's face is its main face
  (``face_workers.choose_main_face``, stored as ``PhotoResult.main``) and ``consensus`` judges
  those, exactly as before several photos a person were fetched: one photo is trusted as it
  is, two that disagree are both dropped (a folder without a catalog says nothing of which is
  the person). A person whose photos each show one face gets the same faces either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lookalike.builder.photo_cache import FaceFacts

SAME_PERSON_DISTANCE = 0.6
"""dlib's rule: two embeddings of the same person are usually less than 0.6 apart.
On LFW, 1.4% of same-person pairs are farther and 1% of different-person pairs nearer."""
BROADCAST_ROWS = 64
"""Up to this many faces, a person's distances are computed in one numpy call (64 x 64 x 128
float64: 4 MB); more (LFW's George W. Bush has 530 photos) a row at a time."""


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
    if len(photos) < 2:
        return _by_main_face(photos, min_eye_distance, max_roll, cut)
    faces = [face for photo in photos for face in photo.faces]
    owners = np.repeat(np.arange(len(photos)), [len(photo.faces) for photo in photos])
    usable = np.array([face_reason(face, min_eye_distance, max_roll) is None for face in faces])
    distances = pairwise_distances(np.stack([face.embedding for face in faces]))
    anchor = _anchor(photos, owners, usable, distances, cut)
    if anchor is None:
        return _p18_alone(photos, min_eye_distance, max_roll) or _by_main_face(photos, min_eye_distance, max_roll, cut)
    agrees = distances[anchor] <= cut
    chosen: list[int | str] = []
    first = 0
    for photo in photos:
        matches = np.flatnonzero(agrees[first : first + len(photo.faces)]).tolist()
        if not usable[first : first + len(photo.faces)].any():  # could not take part: say why its face cannot
            shown = matches[0] if len(matches) == 1 else photo.main if photo.main is not None else 0
            chosen.append(face_reason(photo.faces[shown], min_eye_distance, max_roll) or "too_small")
        elif not matches:
            chosen.append("disagrees")
        elif len(matches) > 1:
            chosen.append("ambiguous_match")
        else:
            chosen.append(face_reason(photo.faces[matches[0]], min_eye_distance, max_roll) or matches[0])
        first += len(photo.faces)
    kept = [i for i, choice in enumerate(chosen) if isinstance(choice, int)]
    voters = len(set(owners[usable].tolist()))
    if any(photos[i].preferred for i in kept) or (len(kept) >= 2 and 2 * len(kept) >= voters):
        return chosen
    dropped: list[int | str] = ["disagrees" if i in kept else choice for i, choice in enumerate(chosen)]
    return _p18_alone(photos, min_eye_distance, max_roll) or dropped


def _p18_alone(photos: list[PersonPhoto], min_eye_distance: float, max_roll: float) -> list[int | str] | None:
    """The P18 photo's main face kept alone, every other photo "disagrees"; None without a usable P18."""
    for i, photo in enumerate(photos):
        main = photo.main
        if photo.preferred and main is not None and face_reason(photo.faces[main], min_eye_distance, max_roll) is None:
            return [main if j == i else "disagrees" for j in range(len(photos))]
    return None


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
    distances = pairwise_distances(embeddings)
    neighbours = (distances <= cut).sum(axis=1)
    anchor = np.lexsort((distances.sum(axis=1), -neighbours))[0]
    keep: np.ndarray = distances[anchor] <= cut
    if keep.sum() < 2 or 2 * keep.sum() < n:
        keep[:] = False
    return keep


def pairwise_distances(embeddings: np.ndarray) -> np.ndarray:
    """(n, n) Euclidean distances between the rows of ``embeddings``, in float64, from their
    differences (not the dot-product shortcut, whose rounding could move a pair across ``cut``);
    a row at a time past ``BROADCAST_ROWS``, where the (n, n, 128) differences would be large."""
    vectors = np.asarray(embeddings, dtype=np.float64)
    if len(vectors) <= BROADCAST_ROWS:
        return np.asarray(np.linalg.norm(vectors[:, None, :] - vectors[None, :, :], axis=2))
    return np.stack([np.linalg.norm(vectors - vector, axis=1) for vector in vectors])


def _anchor(
    photos: list[PersonPhoto], owners: np.ndarray, usable: np.ndarray, distances: np.ndarray, cut: float
) -> int | None:
    """The anchor face (its row in ``distances``), or None when no usable face agrees with another photo.

    ``owners``: each face's photo; ``usable``: the faces that pass the quality filters, the
    only ones that vote or anchor."""
    rows = np.flatnonzero(usable)
    voting = owners[rows]
    if len(rows) == 0 or voting[0] == voting[-1]:  # faces of one photo at most: nothing to agree with
        return None
    starts = np.flatnonzero(np.r_[True, voting[1:] != voting[:-1]])  # each voting photo's first usable face
    nearest = np.minimum.reduceat(distances[np.ix_(rows, rows)], starts, axis=1)  # (usable faces, voting photos)
    own = voting[:, None] == voting[starts][None, :]
    support = ((nearest <= cut) & ~own).sum(axis=1)
    spread = np.where(own, 0.0, nearest).sum(axis=1)
    preferred = np.array([photos[i].preferred for i in voting]) & (support > 0)
    best = np.lexsort((spread, -support, ~preferred))[0]
    return int(rows[best]) if support[best] > 0 else None


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
