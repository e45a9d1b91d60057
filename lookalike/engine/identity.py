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

and "this is X" when ``d1 <= limit * sqrt(d3 * tail)``. ``d1`` and ``d3`` are true distances
in the order of true distance among the face's candidates (``index.LEAD_CANDIDATES`` of the ranked
search): the question is whether the face IS someone, which the hub-aware ranking's offsets
(ranking.py) have nothing to say about.

The same score, at the looser ``lead_limit``, puts the truly nearest celebrity first in the
answer: a face much nearer to one celebrity than to the others (and than strangers come to it)
gets that celebrity first, whatever the ranking, which otherwise holds back celebrities near
many faces and so demotes some of them below a look-alike for a photo of themselves. The
ranking is for faces near nobody in particular, where hubs would win; a stranger the lead
lets through (``LEAD_RATE`` of them) is answered with its truly nearest celebrity, a good
look-alike too.

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
LEAD_RATE = 0.2
"""Stand-in strangers whose truly nearest celebrity is put first (``lead_limit``), counted (a
fifth of them rests on hundreds of scores, no line needed): the most that leaves the spread of
strangers' answers as it is. On LFW galleries of up to 5 photos a person (bench/gallery_photos.py)
the share of the gallery answered and the 1% most-answered celebrities' share are those of
the ranking alone up to 0.2 (0.287 / 9.2%), and give way beyond (0.5: 0.285 / 9.6%; always: 0.280 /
10.1%), while held-out photos of gallery people get their own celebrity first more often as it
rises (96.6% at 0.01, 97.5% at 0.2, of 97.8% truly nearest)."""
MIN_STRANGERS = 1000
"""Fewer stand-in strangers than this and the tail's slope is not fitted but carried from
the reference fit (``REFERENCE_SLOPE``): too few in the tail to fit it."""
REFERENCE_SLOPE = 30.0
"""The tail exponent fitted on the whole of LFW as a gallery of up to 5 photos a person (30.1;
27-35 on random 80% galleries of one photo or up to 5, bench/README.md): how fast strangers
thin out as the score falls, a property of the embedding more than of the gallery. A small
gallery measures only where its own line lies (``REFERENCE_FIT``)."""
REFERENCE_FIT = (0.02, 0.3)
"""The stand-in shares a small gallery places the reference line on: its lowest 2-30%, enough
photos even in a gallery of a few dozen, reached down to the limit along the reference slope."""
MIN_REFERENCE_STRANGERS = 20
"""Fewer stand-in strangers than this (a gallery of a dozen photos) and no rule: a handful of
scores cannot place the line."""
QUERY_MATCH = 3
"""The face's match whose distance is its own yardstick (1 = the best)."""
TAIL_PHOTO = 2
"""The celebrity's nearest photo of another person that is its yardstick (1 = the nearest):
the second, so that one photo of a double does not decide."""
TAIL_FIT = (0.005, 0.1)
"""The stand-in strangers' lowest shares the tail line is fitted on."""
SCORE = "d1 / sqrt(d3 * tail), nearest first"
"""The rule's score as index.json names it: a rule of another form is not this one."""
EXACT_TAIL_LIMIT = 200_000_000
"""Above this many celebrity x stand-in pairs the tails come from an HNSW graph over the stand-ins."""
TAIL_GRAPH = HnswParameters(m=16, ef_construction=100, ef_search=48)
"""A million celebrities' queries are most of the rule's fit: at 1M (30,000 stand-ins) efSearch
48 gives 98% of the tails of efSearch 96 and the same "this is X" decisions on 99.97% of
held-out photos and strangers, in 55 s instead of 98 (bench/README.md, the tails at 1M)."""


@dataclass(frozen=True)
class Limits:
    """The rule's limits on the score: "this is X" at ``limit``, the nearest celebrity first
    at ``lead_limit`` (never below ``limit``); ``reference``: carried from the reference fit
    (``REFERENCE``) for a gallery too small to fit its own."""

    limit: float
    lead_limit: float
    reference: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.limit) and self.limit > 0 and math.isfinite(self.lead_limit)):
            raise ValueError(f"malformed 'this is X' limits: {self}")
        if self.lead_limit < self.limit:
            raise ValueError(f"the lead limit {self.lead_limit} is below the 'this is X' limit {self.limit}")


@dataclass(frozen=True)
class IdentityRule:
    """``score(c, d1, d3)``: the face at true distance ``d1`` from its truly nearest
    celebrity, row ``c``, and ``d3`` from its third nearest, against the celebrity's tail;
    ``holds`` (the face is that celebrity) and ``leads`` (that celebrity comes first)."""

    limits: Limits
    tails: np.ndarray = field(repr=False)  # (n,) each celebrity's tail distance

    @property
    def limit(self) -> float:
        return self.limits.limit

    def score(self, celebrity: int, nearest: float, third: float) -> float:
        yardstick = math.sqrt(third * float(self.tails[celebrity]))
        return nearest / yardstick if yardstick > 0 else math.inf

    def holds(self, celebrity: int, nearest: float, third: float) -> bool:
        return self.score(celebrity, nearest, third) <= self.limits.limit

    def leads(self, celebrity: int, nearest: float, third: float) -> bool:
        return self.score(celebrity, nearest, third) <= self.limits.lead_limit

    def to_json(self) -> dict[str, Any]:
        """index.json's part; the tails go into their own file."""
        return rule_json(self.limits)


def rule_json(limits: Limits) -> dict[str, Any]:
    """The rule as index.json keeps it: its form, and the limits."""
    return {
        "score": SCORE,
        "limit": limits.limit,
        "lead_limit": limits.lead_limit,
        "reference": limits.reference,
        "query_match": QUERY_MATCH,
        "tail_photo": TAIL_PHOTO,
    }


def rule_limits(value: dict[str, Any] | None) -> Limits | None:
    """The limits of index.json's rule; None without one, or for a rule of another form (an
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
    return Limits(float(value["limit"]), float(value["lead_limit"]), bool(value.get("reference", False)))


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
    (``owners``) left out of its candidate ``matches`` (each with an ``id`` and a true
    ``distance``), the others taken nearest first, and left out of the tail of the celebrity
    it then meets nearest; a photo with fewer than ``QUERY_MATCH`` others is left out."""
    scores = []
    for photo, (owner, found) in enumerate(zip(np.asarray(owners).tolist(), matches)):
        others = sorted((match for match in found if match.id != owner), key=lambda match: match.distance)
        if len(others) < QUERY_MATCH:
            continue
        best, third = others[0], others[QUERY_MATCH - 1].distance
        yardstick = math.sqrt(third * tails.without(best.id, photo))
        scores.append(best.distance / yardstick if yardstick > 0 else math.inf)
    return np.array(scores)


@dataclass(frozen=True)
class TailLine:
    """The stand-in strangers' lowest scores as a line in logs: ``log(share) = slope * log(score) + intercept``."""

    slope: float
    intercept: float

    def limit_at(self, share: float) -> float:
        """The score under which ``share`` of strangers fall."""
        return math.exp((math.log(share) - self.intercept) / self.slope)

    @classmethod
    def fit(cls, scores: np.ndarray) -> TailLine | None:
        """The line through the sorted ``scores`` whose shares lie within ``TAIL_FIT``; None when it does not fall."""
        logs, shares = _tail(scores, TAIL_FIT)
        if len(logs) < 2:
            return None
        slope, intercept = np.polyfit(logs, shares, 1)
        return cls(float(slope), float(intercept)) if slope > 0 else None

    @classmethod
    def carried(cls, scores: np.ndarray) -> TailLine | None:
        """The reference line (``REFERENCE_SLOPE``) placed through the sorted ``scores`` whose
        shares lie within ``REFERENCE_FIT``; None with fewer than ``MIN_REFERENCE_STRANGERS`` scores."""
        logs, shares = _tail(scores, REFERENCE_FIT)
        if len(scores) < MIN_REFERENCE_STRANGERS or not len(logs):
            return None
        return cls(REFERENCE_SLOPE, float(np.mean(shares - REFERENCE_SLOPE * logs)))


def _tail(scores: np.ndarray, within: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The logs of the sorted ``scores`` whose shares lie ``within``, and the logs of those shares."""
    share = (np.arange(1, len(scores) + 1) - 0.5) / len(scores)
    tail = (share >= within[0]) & (share <= within[1]) & (scores > 0) & np.isfinite(scores)
    return np.log(scores[tail]), np.log(share[tail])


def fit_identity_rule(
    scores: np.ndarray, tails: np.ndarray, false_rate: float = FALSE_RATE, lead_rate: float = LEAD_RATE
) -> IdentityRule | None:
    """The rule from stand-in strangers' scores (``d1 / sqrt(d3 * tail)``, their own
    celebrity left out) and the celebrities' ``tails``: the line fitted to their tail, or
    with fewer than ``MIN_STRANGERS`` the reference line placed through their lowest; None
    when the tail does not fall or there are too few (see the module's docstring)."""
    scores = np.sort(np.asarray(scores, np.float64))
    reference = len(scores) < MIN_STRANGERS
    line = TailLine.carried(scores) if reference else TailLine.fit(scores)
    if line is None:
        log.warning("no 'this is X' rule: %d stand-in strangers, whose tail does not fall or is too short", len(scores))
        return None
    limit = line.limit_at(false_rate)
    limits = Limits(limit, max(limit, float(np.quantile(scores, lead_rate))), reference)
    log.info(
        "'this is X' rule: %s <= %.4f, the nearest first <= %.4f (tail exponent %.1f%s); %.2f%% and %.2f%% of %d "
        "stand-in strangers under them",
        SCORE,
        limits.limit,
        limits.lead_limit,
        line.slope,
        ", the reference's" if reference else "",
        100 * np.mean(scores <= limits.limit),
        100 * np.mean(scores <= limits.lead_limit),
        len(scores),
    )
    return IdentityRule(limits, np.asarray(tails, np.float32))
