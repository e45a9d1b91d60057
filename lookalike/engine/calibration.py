"""The percentile: how a ranked distance reads as "more alike than X% of people", and its fit.

The fit measures, for photos of the gallery's own people (or of nobody in it), the ranked
distance to the best celebrity who is not that person, searched as a face is answered
(within its predicted gender); a distance then reads as the share of those that are larger.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass

import numpy as np

from lookalike.engine.exact import query_array
from lookalike.engine.search import GraphParts, Rows

log = logging.getLogger(__name__)

DEFAULT_MIN_SIMILARITY = 0.01
"""The floor of the percentile: a face ~2.3 standard deviations beyond the typical
nearest-other distance is still shown as "more alike than 1% of people", never 0%,
which would read as a broken result rather than a weak one."""

EXACT_CALIBRATION_LIMIT = 200_000_000
"""Above this many sample x celebrity pairs the fit asks the graphs for the two best
instead of ranking every pair; real galleries stay below it and are calibrated exactly,
free of HNSW's misses (bench/README.md, "Calibration")."""

CALIBRATION_QUANTILES = 201
"""Measured ranked distances kept for the percentile: every half percent."""

MAX_CALIBRATION_SAMPLES = 20_000
"""Plenty for 201 quantiles (each within ~0.4 points of its share); more cost fitting
time for nothing (bench/README.md, "Calibration")."""

MIN_EMPIRICAL_SAMPLES = 200
"""Fewer calibration samples than this (a toy gallery) and the normal fit is used: a
handful of measured distances would make a staircase of the percentile."""


@dataclass(frozen=True)
class Calibration:
    """How far a face typically is from its nearest celebrity who is not that person,
    measured in the distance the index ranks by (the plain distance for a plain index).

    ``similarity(d)`` is the share of such nearest-other distances that are larger
    than ``d``: "more alike than X% of people". With ``quantiles`` (the measured
    distances at evenly spaced shares 0, ..., 1) it is read off them, otherwise off a
    normal fit. It never rises as ``d`` grows, so an answer's percentages never rise
    down the list.
    """

    mean: float
    std: float
    min_similarity: float = DEFAULT_MIN_SIMILARITY
    quantiles: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and math.isfinite(self.std) and self.std > 0):
            raise ValueError(f"calibration needs a finite mean and a positive std, got {self.mean}, {self.std}")
        if not 0.0 <= self.min_similarity <= 1.0:
            raise ValueError(f"min_similarity must be within [0, 1], got {self.min_similarity}")
        quantiles = tuple(float(q) for q in self.quantiles)
        if quantiles and (len(quantiles) < 2 or not np.isfinite(quantiles).all() or np.any(np.diff(quantiles) < 0)):
            raise ValueError("quantiles must be at least two finite, non-decreasing distances")
        object.__setattr__(self, "quantiles", quantiles)

    def similarity(self, distances: np.ndarray | float) -> np.ndarray:
        """The share of measured distances above each of ``distances``, clamped to [min_similarity, 1]."""
        if self.quantiles:
            below = np.interp(np.asarray(distances, dtype=np.float64), self.quantiles, _shares(len(self.quantiles)))
            return np.asarray(np.clip(1.0 - below, self.min_similarity, 1.0))
        z = (np.asarray(distances, dtype=np.float64) - self.mean) / (self.std * math.sqrt(2.0))
        # 0.5 * erfc(z) equals 1 - 0.5 * (1 + erf(z)) without the cancellation in the tail.
        # numpy has no erfc; a query brings a handful of distances, so a loop is cheapest.
        erfc = np.array([math.erfc(value) for value in z.ravel().tolist()]).reshape(z.shape)
        return np.clip(0.5 * erfc, self.min_similarity, 1.0)


@functools.cache
def _shares(count: int) -> np.ndarray:
    """The shares 0, ..., 1 of ``count`` quantiles (made once: ~10 us, twice a face)."""
    return np.linspace(0.0, 1.0, count)


@dataclass(frozen=True)
class CalibrationPhotos:
    """What a calibration is fitted on: photo embeddings ``samples`` (s, 128) and each one's
    person as a gallery row in ``owners`` (s,), -1 for nobody in the gallery."""

    samples: np.ndarray
    owners: np.ndarray
    min_similarity: float = DEFAULT_MIN_SIMILARITY
    exact_limit: int = EXACT_CALIBRATION_LIMIT
    """Exact up to this many sample x celebrity pairs, by the graphs beyond."""


def fit_calibration(graph_parts: GraphParts, photos: CalibrationPhotos) -> Calibration:
    """Fit the ranked distance from each photo to the best celebrity (for its predicted
    gender) who is not its owner. At most ``MAX_CALIBRATION_SAMPLES`` photos, evenly
    spread, are used."""
    samples = query_array(photos.samples)
    owners = np.asarray(photos.owners)
    if owners.shape != (len(samples),):
        raise ValueError(f"owners must have shape ({len(samples)},), got {owners.shape}")
    if len(samples) > MAX_CALIBRATION_SAMPLES:
        kept = np.linspace(0, len(samples) - 1, MAX_CALIBRATION_SAMPLES).astype(np.int64)
        samples, owners = samples[kept], owners[kept]
    if len(graph_parts) < 2 or len(samples) < 2:
        raise ValueError("calibration needs at least two celebrities and two samples")
    found = graph_parts.search(samples, 2, len(samples) * len(graph_parts) <= photos.exact_limit)
    others = np.array([_other_than(owner, row.best) for row, owner in zip(found, owners.tolist())])
    calibration = Calibration(
        mean=float(others.mean()),
        std=float(others.std(ddof=1)),
        min_similarity=photos.min_similarity,
        quantiles=tuple(np.quantile(others, np.linspace(0.0, 1.0, CALIBRATION_QUANTILES)).tolist())
        if len(others) >= MIN_EMPIRICAL_SAMPLES
        else (),
    )
    log.info("calibrated on %d samples: %s", len(others), calibration)
    return calibration


def _other_than(owner: int, best: Rows) -> float:
    """The ranked distance of the best of ``best``'s rows that is not ``owner``."""
    ids, ranked, _ = best
    return float(ranked[1] if ids[0] == owner and len(ids) > 1 else ranked[0])
