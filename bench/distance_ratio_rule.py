"""The "this is X" rule before issue 17's normalised one, kept as the bench's baseline:
``d1 <= max_distance and d1 / d2 <= max_ratio``, both limits fitted on the gallery's own
photos by counting: each photo, its own celebrity left out, a stand-in stranger; for each
distance limit the loosest ratio letting at most 0.1% of them through; of those pairs the
one telling the most stand-in photos of celebrities (each against the mean of its
celebrity's other photos) wins."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lookalike.builder import build as be
from lookalike.engine.index import CelebrityIndex, LookAlike, Match

FALSE_RATE = 0.001
DISTANCE_STEPS = np.round(np.arange(0.30, 0.601, 0.02), 2)


@dataclass(frozen=True)
class DistanceRatioRule:
    max_distance: float
    max_ratio: float

    def holds(self, nearest: float, second: float) -> bool:
        return nearest <= self.max_distance and nearest <= self.max_ratio * second

    def this_is(self, answer: LookAlike) -> Match | None:
        best, second = answer.matches[0], answer.matches[1]
        return best if self.holds(best.distance, second.distance) else None

    def __str__(self) -> str:
        return f"d1 <= {self.max_distance:.2f}, d1/d2 <= {self.max_ratio:.3f}"


def fit(index: CelebrityIndex, samples: np.ndarray, owners: np.ndarray, scores: np.ndarray) -> DistanceRatioRule:
    """The rule as make_index fitted it, on the same stand-in photos (``be.identity_photos``)."""
    rows = be.identity_photos(owners)
    samples, owners, scores = samples[rows], owners[rows], scores[rows]
    answers = index.look_alikes(samples, 3, gender_scores=scores)
    counts = index.ranking.photos[owners].astype(np.float64)
    strangers, celebrities = [], []
    for sample, owner, count, answer in zip(samples, owners.tolist(), counts, answers):
        others = [match.distance for match in answer.matches if match.id != owner]
        strangers.append((others[0], others[1]))
        if count > 1:
            vector = index.graph_parts.vectors[owner].astype(np.float64)
            held_out = (count * vector - sample) / (count - 1)
            celebrities.append((float(np.linalg.norm(sample - held_out)), others[0]))
    return _fit(np.array(strangers), np.array(celebrities))


def _fit(strangers: np.ndarray, celebrities: np.ndarray) -> DistanceRatioRule:
    allowed = math.floor(FALSE_RATE * len(strangers))
    best: tuple[float, DistanceRatioRule] | None = None
    for limit in DISTANCE_STEPS.tolist():
        within = strangers[strangers[:, 0] <= limit]
        ratios = np.sort(within[:, 0] / within[:, 1])
        ratio = 1.0 if len(ratios) <= allowed else min(1.0, float(np.nextafter(ratios[allowed], 0.0)))
        rule = DistanceRatioRule(limit, ratio)
        told = float(np.mean([rule.holds(d1, d2) for d1, d2 in celebrities.tolist()]))
        if best is None or told > best[0]:
            best = (told, rule)
    assert best is not None
    return best[1]
