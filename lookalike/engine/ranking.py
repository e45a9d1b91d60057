"""Hub-aware ranking: who a stranger looks like, spread fairly over the whole gallery.

Plain nearest-mean-vector search answers most strangers with a few "hub" celebrities:
a mean of n photos has 1/n of one photo's noise, so it sits closer to everybody than
any single photo of a face can, and some faces are simply central in the embedding
space. The rule here ranks celebrity c for a face q by

    score(q, c) = |q - m_c|^2 + b_c,   b_c = a * s2 * (1 - 1/n_c) - w * r_c

- ``a * s2 * (1 - 1/n_c)``: compares q with c as if c were one photo (s2 is the
  gallery's within-person spread: the mean squared distance of a photo to its
  person's true mean; n_c the celebrity's kept photos). Zero for one photo.
- ``- w * r_c``: local scaling against the gallery itself (CSLS-style): r_c is the mean
  of |x - m_c|^2 + a * s2 * (1 - 1/n_c) over the K reference photos x of *other* people
  nearest to c. A hub is near everybody (small r_c) and is held back; works for one
  photo per celebrity too. The reference photos are those of every other celebrity
  (``reference_photos``); the rest calibrate the percentile, because a photo that
  shaped its neighbours' r_c would look farther from them than a stranger does.

s2, n_c and r_c are measured on the gallery being built and saved with the index;
only a, K and w are the method's hyper-parameters (chosen with bench/lookalike_quality.py).

Because the rule only adds a per-celebrity constant to the squared distance, it is an
exact Euclidean distance in 129 dimensions: celebrity c becomes ``[m_c, lift_c]`` with
``lift_c = sqrt(b_c - min b)`` and a face ``[q, 0]``. The HNSW graph is built over those
lifted vectors, so its candidates come in the rule's own order (see search.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from lookalike.engine.hnsw import HnswParameters
from lookalike.engine.other_photos import nearest_other_photos

log = logging.getLogger(__name__)

DEFAULT_SPREAD_WEIGHT = 0.5
DEFAULT_REACH_NEIGHBOURS = 50
DEFAULT_REACH_WEIGHT = 0.5

EXACT_REACH_LIMIT = 1_000_000_000
"""Above this many celebrity x reference-photo pairs the reach is measured through an HNSW
graph over the reference photos instead of against every one: the exact reach grows with
n^2 (82 s at 100k celebrities, 5e9 pairs, on one core; ~2-3 h at 1M). LFW's ~2,900
celebrities x ~2,000 reference photos (6e6 pairs) stay exact."""

REACH_GRAPH = HnswParameters(m=16, ef_construction=30, ef_search=64)
"""The reach graph is searched for K + PHOTOS_PER_PERSON neighbours and averages K of them,
so a missed true neighbour moves r_c by a fraction of one neighbour's share: a graph far
smaller than the index's does. At 100k (bench/fit_scaling.py) this one's reach is off the
exact one by 0.7% at the median and 6.6% at the 99th percentile, against 3.2% and 19% for
the exact reach measured on the other half of the gallery's photos (an equally valid fit:
the fit's own noise), with the same coverage, hubs' share, KS and identification, at 0.43x
the CPU of efConstruction 100, efSearch 96 (0.09% / 1.5%)."""


@dataclass(frozen=True)
class Ranking:
    """The fitted rule: hyper-parameters, the gallery's spread, and per-celebrity statistics."""

    photos: np.ndarray  # (n,) kept photos per celebrity
    reach: np.ndarray  # (n,) r_c
    spread: float  # s2
    spread_weight: float = DEFAULT_SPREAD_WEIGHT  # a
    reach_neighbours: int = DEFAULT_REACH_NEIGHBOURS  # K
    reach_weight: float = DEFAULT_REACH_WEIGHT  # w

    @classmethod
    def plain(cls, count: int) -> Ranking:
        """Plain nearest-vector search: every offset zero."""
        return cls(np.ones(count, np.int64), np.zeros(count), 0.0, 0.0, 0, 0.0)

    @property
    def offsets(self) -> np.ndarray:
        """b_c for every celebrity, float64."""
        return self._mean_penalty() - self.reach_weight * np.asarray(self.reach, np.float64)

    @property
    def lifts(self) -> np.ndarray:
        """The 129th coordinate of each celebrity: ``sqrt(b_c - min b)``, float32."""
        offsets = self.offsets
        return np.asarray(np.sqrt(offsets - offsets.min()), dtype=np.float32)

    def parameters(self) -> dict[str, Any]:
        """The scalars, for index.json."""
        return {
            "spread": self.spread,
            "spread_weight": self.spread_weight,
            "reach_neighbours": self.reach_neighbours,
            "reach_weight": self.reach_weight,
        }

    def _mean_penalty(self) -> np.ndarray:
        photos = np.asarray(self.photos, np.float64)
        return self.spread_weight * self.spread * (1.0 - 1.0 / photos)


PHOTOS_PER_PERSON = 3
"""Photos of one celebrity that count in the reach, the calibration and the gender probe:
people should count, not photos; a news gallery has people with hundreds of photos
(LFW: G. W. Bush 530), whose photos would otherwise be the reference, the calibration
and the probe's training set of their whole neighbourhood."""


def first_photos(owners: np.ndarray, per_person: int = PHOTOS_PER_PERSON) -> np.ndarray:
    """A mask of each owner's first ``per_person`` photos (in the order given)."""
    owners = np.asarray(owners)
    order = np.argsort(owners, kind="stable")
    sorted_owners = owners[order]
    starts = np.searchsorted(sorted_owners, sorted_owners, side="left")
    rank = np.empty(len(owners), np.int64)
    rank[order] = np.arange(len(owners)) - starts
    return rank < per_person


def reference_photos(owners: np.ndarray) -> np.ndarray:
    """Which photos measure the reach: the first ``PHOTOS_PER_PERSON`` of the celebrities in even rows."""
    return np.asarray((np.asarray(owners) % 2 == 0) & first_photos(owners))


def within_spread(samples: np.ndarray, owners: np.ndarray) -> float:
    """s2: mean squared distance of a photo to its person's true mean, from people with 2+ photos.

    Each person's sum of squares about their sample mean has n - 1 degrees of freedom.
    0.0 when nobody has two photos (then no celebrity's vector is a mean either). Measured
    ``_SPREAD_BLOCK`` people at a time: float64 copies of a million celebrities' photos
    would take gigabytes.
    """
    samples = np.asarray(samples)
    order = np.argsort(np.asarray(owners), kind="stable")
    counts = np.bincount(np.asarray(owners))
    counts = counts[counts > 0]  # the people, in the order of ``order``
    ends = np.cumsum(counts)
    squares = 0.0
    for first in range(0, len(counts), _SPREAD_BLOCK):
        people = counts[first : first + _SPREAD_BLOCK]
        start = int(ends[first] - counts[first])
        photos = samples[order[start : ends[first + len(people) - 1]]].astype(np.float64)
        means = np.add.reduceat(photos, ends[first : first + len(people)] - people - start) / people[:, None]
        deviations = photos - np.repeat(means, people, axis=0)
        squares += float(np.einsum("ij,ij->i", deviations, deviations)[np.repeat(people >= 2, people)].sum())
    freedom = int((counts[counts >= 2] - 1).sum())
    return squares / freedom if freedom else 0.0


_SPREAD_BLOCK = 100_000
"""People per block of ``within_spread``: ~200 MB of float64 photos."""


def fit_ranking(
    vectors: np.ndarray,
    samples: np.ndarray,
    owners: np.ndarray,
    *,
    spread_weight: float = DEFAULT_SPREAD_WEIGHT,
    reach_neighbours: int = DEFAULT_REACH_NEIGHBOURS,
    reach_weight: float = DEFAULT_REACH_WEIGHT,
    exact_limit: int = EXACT_REACH_LIMIT,
) -> Ranking:
    """Measure the rule's statistics on a gallery: ``vectors`` (n, 128) the celebrities,
    ``samples`` (s, 128) their kept photos and ``owners`` (s,) each photo's celebrity row.
    The reach is exact up to ``exact_limit`` celebrity x reference-photo pairs, by a graph beyond."""
    owners = np.asarray(owners, np.int64)
    samples = np.asarray(samples)
    photos = np.bincount(owners, minlength=len(vectors))
    if (photos < 1).any():
        raise ValueError("every celebrity needs at least one photo among the samples")
    spread = within_spread(samples, owners)
    penalty = spread_weight * spread * (1.0 - 1.0 / photos)
    reference = reference_photos(owners)
    neighbours = reach_size(reach_neighbours, int(reference.sum()), len(np.unique(owners[reference])))
    if neighbours:
        reach = reach_of(vectors, samples[reference], owners[reference], neighbours, exact_limit) + penalty
    else:
        reach = np.zeros(len(vectors))
    ranking = Ranking(photos, reach, spread, spread_weight, neighbours, reach_weight)
    log.info(
        "ranking fitted: spread %.4f, reach over %d photos %.3f-%.3f, offsets %.3f-%.3f",
        spread,
        neighbours,
        reach.min(),
        reach.max(),
        ranking.offsets.min(),
        ranking.offsets.max(),
    )
    return ranking


def reach_size(neighbours: int, photos: int, people: int) -> int:
    """K for a gallery whose reference photos are ``photos`` of ``people``: at most half of the
    other people's photos. A reach over (nearly) all of them, as K = 50 would be in a gallery of a
    few dozen, measures how central a celebrity is in the whole gallery, not how crowded its
    neighbourhood is, and holds back whoever sits in the middle of a small gallery."""
    others = photos * (people - 1) // max(people, 1)  # the reference photos of the people a celebrity is not
    return max(0, min(neighbours, others // 2, photos - PHOTOS_PER_PERSON))


def reach_of(vectors: np.ndarray, samples: np.ndarray, owners: np.ndarray, k: int, exact_limit: int) -> np.ndarray:
    """Mean squared distance from each celebrity to its ``k`` nearest photos of other people
    among ``samples``: exact up to ``exact_limit`` pairs, through the ``REACH_GRAPH`` beyond."""
    reach = np.empty(len(vectors))
    for rows, _, squared in nearest_other_photos(
        vectors, samples, owners, k, graph=REACH_GRAPH, exact_limit=exact_limit
    ):
        reach[rows] = squared.mean(axis=1)
    return reach
