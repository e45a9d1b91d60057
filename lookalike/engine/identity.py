"""When a face almost surely IS the celebrity it matches best: "This is X".

People try a look-alike bot on photos of celebrities; "you look 98% like X" is then the
wrong answer. A distance limit alone is weak: how near a stranger may come to a
celebrity depends on the stranger (some faces are near many) and on the celebrity (some
sit among many faces), as in speaker and face verification, where scores are normalised
on both sides. So the best match's true distance ``d1`` is measured against two
yardsticks, the geometric mean of

- ``d3``, the face's third match: how near the face comes to celebrities it is not (the
  third, not the second, as a celebrity may have a twin or a double in the gallery);
- ``tail``, the celebrity's ``TAIL_PHOTO``-th nearest photo of another person among the
  gallery's stand-in photos: how near strangers come to this celebrity (its own tail,
  fitted at build and kept per celebrity, identity.npy beside index.json);

and "this is X" when ``d1 <= limit * sqrt(d3 * tail)``.

The ``limit`` is fitted at build time on the gallery's own photos (``fit_identity_rule``):
each, its own celebrity left out, stands for a stranger (and is left out of the tail of
the celebrity it meets). Counting the ``FALSE_RATE`` share of them would rest the limit
on a handful of photos (an LFW half-gallery has ~2,000: two), so a line is fitted to the
log of the stand-ins' share under each score in the tail ``TAIL_FIT`` (a share of
strangers within a radius grows as a power of it, a line in logs) and read at
``FALSE_RATE``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lookalike.engine.hnsw import HnswParameters
from lookalike.engine.other_photos import nearest_other_photos

log = logging.getLogger(__name__)

FALSE_RATE = 0.001
"""Strangers told "this is X" on the gallery's own photos: half the issue's 0.2% target,
as the rule meets new strangers, not the photos it was fitted on."""
MIN_STRANGERS = 1000
"""Fewer stand-in strangers than this and no rule: too few in the tail to fit."""
QUERY_MATCH = 3
"""The face's match whose distance is its own yardstick (1 = the best)."""
TAIL_PHOTO = 2
"""The celebrity's nearest photo of another person that is its yardstick (1 = the nearest):
the second, so that one photo of a double does not decide."""
TAIL_FIT = (0.005, 0.1)
"""The stand-in strangers' lowest shares the tail line is fitted on."""
SCORE = "d1 / sqrt(d3 * tail)"
"""The rule's score as index.json names it: a rule of another form is not this one."""
EXACT_TAIL_LIMIT = 200_000_000
"""Above this many celebrity x stand-in pairs the tails come from an HNSW graph over the stand-ins."""
TAIL_GRAPH = HnswParameters(m=16, ef_construction=100, ef_search=48)
"""A million celebrities' queries are most of the rule's fit: at 1M (30,000 stand-ins) efSearch
48 gives 98% of the tails of efSearch 96 and the same "this is X" decisions on 99.97% of
held-out photos and strangers, in 55 s instead of 98 (bench/README.md, the tails at 1M)."""


@dataclass(frozen=True)
class IdentityRule:
    """``holds(c, d1, d3)``: the face at true distance ``d1`` from its best match,
    celebrity row ``c``, and ``d3`` from its third match is that celebrity."""

    limit: float
    tails: np.ndarray = field(repr=False)  # (n,) each celebrity's tail distance

    def holds(self, celebrity: int, nearest: float, third: float) -> bool:
        return nearest <= self.limit * math.sqrt(third * float(self.tails[celebrity]))

    def to_json(self) -> dict:
        """index.json's part; the tails go into their own file."""
        return rule_json(self.limit)


def rule_json(limit: float) -> dict:
    """The rule as index.json keeps it: its form, and the limit."""
    return {"score": SCORE, "limit": limit, "query_match": QUERY_MATCH, "tail_photo": TAIL_PHOTO}


def rule_limit(value: dict | None) -> float | None:
    """The limit of index.json's rule; None without one, or for a rule of another form (an
    index built before this one answers without "this is X" until it is rebuilt)."""
    if value is None:
        return None
    if {key: value.get(key) for key in ("score", "query_match", "tail_photo")} != {
        "score": SCORE,
        "query_match": QUERY_MATCH,
        "tail_photo": TAIL_PHOTO,
    }:
        log.warning("the index's 'this is X' rule %s is of another form: none until it is rebuilt", value)
        return None
    limit = float(value["limit"])
    if not (math.isfinite(limit) and limit > 0):
        raise ValueError(f"a malformed identity rule: {value}")
    return limit


@dataclass(frozen=True)
class Tails:
    """Each celebrity's nearest stand-in photos of other people: ``rows`` (n, TAIL_PHOTO + 1)
    into the stand-ins and their true ``distances``, nearest first."""

    rows: np.ndarray
    distances: np.ndarray

    @property
    def tails(self) -> np.ndarray:
        return self.distances[:, TAIL_PHOTO - 1].astype(np.float32)

    def without(self, celebrity: int, photo: int) -> float:
        """Celebrity's tail distance with stand-in ``photo`` left out (when it is the stranger)."""
        if photo in self.rows[celebrity, :TAIL_PHOTO]:
            return float(self.distances[celebrity, TAIL_PHOTO])
        return float(self.distances[celebrity, TAIL_PHOTO - 1])


def celebrity_tails(vectors: np.ndarray, photos: np.ndarray, owners: np.ndarray) -> Tails:
    """Each celebrity's ``TAIL_PHOTO + 1`` nearest ``photos`` owned by other celebrities:
    exact up to ``EXACT_TAIL_LIMIT`` pairs, through a ``TAIL_GRAPH`` over the photos beyond."""
    wanted = TAIL_PHOTO + 1
    rows = np.empty((len(vectors), wanted), np.int64)
    distances = np.empty((len(vectors), wanted))
    for block, found, squared in nearest_other_photos(
        vectors, photos, owners, wanted, graph=TAIL_GRAPH, exact_limit=EXACT_TAIL_LIMIT
    ):
        rows[block], distances[block] = found, np.sqrt(squared)
    return Tails(rows, distances)


def stand_in_scores(matches: Sequence[Sequence[Any]], owners: np.ndarray, tails: Tails) -> np.ndarray:
    """Each stand-in photo's score ``d1 / sqrt(d3 * tail)`` as a stranger: its own celebrity
    (``owners``) left out of its best ``matches`` (each with an ``id`` and a true ``distance``)
    and out of the tail of the celebrity it then meets best; a photo with fewer than
    ``QUERY_MATCH`` others is left out."""
    scores = []
    for photo, (owner, found) in enumerate(zip(np.asarray(owners).tolist(), matches)):
        others = [match for match in found if match.id != owner]
        if len(others) < QUERY_MATCH:
            continue
        best, third = others[0], others[QUERY_MATCH - 1].distance
        yardstick = math.sqrt(third * tails.without(best.id, photo))
        scores.append(best.distance / yardstick if yardstick > 0 else math.inf)
    return np.array(scores)


def fit_identity_rule(scores: np.ndarray, tails: np.ndarray, false_rate: float = FALSE_RATE) -> IdentityRule | None:
    """The rule from stand-in strangers' scores (``d1 / sqrt(d3 * tail)``, their own
    celebrity left out) and the celebrities' ``tails``; None with fewer than
    ``MIN_STRANGERS`` or a tail that does not fall (see the module's docstring)."""
    scores = np.sort(np.asarray(scores, np.float64))
    if len(scores) < MIN_STRANGERS:
        log.info("no 'this is X' rule: %d stand-in strangers, %d needed", len(scores), MIN_STRANGERS)
        return None
    share = (np.arange(1, len(scores) + 1) - 0.5) / len(scores)
    tail = (share >= TAIL_FIT[0]) & (share <= TAIL_FIT[1]) & (scores > 0) & np.isfinite(scores)
    slope, intercept = np.polyfit(np.log(scores[tail]), np.log(share[tail]), 1)
    if not slope > 0:
        log.warning("no 'this is X' rule: the stand-in strangers' tail does not fall (slope %.3g)", slope)
        return None
    rule = IdentityRule(float(np.exp((math.log(false_rate) - intercept) / slope)), np.asarray(tails, np.float32))
    log.info(
        "'this is X' rule: %s <= %.4f (tail exponent %.1f), %.2f%% of %d stand-in strangers under it",
        SCORE,
        rule.limit,
        slope,
        100 * np.mean(scores <= rule.limit),
        len(scores),
    )
    return rule
