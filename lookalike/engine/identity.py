"""When a face almost surely IS the celebrity it matches best: "This is X".

People try a look-alike bot on photos of celebrities; "you look 98% like X" is then the
wrong answer. A distance threshold alone is weak in a large gallery (some stranger comes
close to some celebrity), but a face of the celebrity is also far more distinct: much
nearer its own celebrity than the next one. So the rule is on both, the true distance
``d1`` to the best match and its ratio to the next match's, ``d1 / d2``: "this is X"
when ``d1 <= max_distance`` and ``d1 / d2 <= max_ratio``.

Both limits are fitted at build time on the gallery's own photos (``fit_identity_rule``):
each photo, its own celebrity left out, stands for a stranger, and the limits let at most
``FALSE_RATE`` of them through; each photo of a celebrity with other photos, against the
mean of those others, stands for a photo of the celebrity, and among the limits within
that false rate the pair that tells the most of them wins.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass

import numpy as np

log = logging.getLogger(__name__)

FALSE_RATE = 0.001
"""Strangers told "this is X" on the gallery's own photos: half the issue's 0.2% target,
as the rule meets new strangers, not the photos it was fitted on."""
MIN_STRANGERS = 1000
"""Fewer stand-in strangers than this and no rule: 0.1% of them would be less than one photo."""
DISTANCE_STEPS = np.round(np.arange(0.30, 0.601, 0.02), 2)
"""The distance limits tried; 0.6 is dlib's same-person distance."""


@dataclass(frozen=True)
class IdentityRule:
    """``holds(d1, d2)``: the face at true distance ``d1`` from its best match and ``d2``
    from the next one is that celebrity."""

    max_distance: float
    max_ratio: float

    def holds(self, nearest: float, second: float) -> bool:
        return nearest <= self.max_distance and nearest <= self.max_ratio * second

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, value: dict) -> IdentityRule:
        rule = cls(float(value["max_distance"]), float(value["max_ratio"]))
        if not (math.isfinite(rule.max_distance) and 0 < rule.max_ratio <= 1):
            raise ValueError(f"a malformed identity rule: {value}")
        return rule


def fit_identity_rule(
    strangers: np.ndarray, celebrities: np.ndarray | None = None, false_rate: float = FALSE_RATE
) -> IdentityRule | None:
    """The rule from stand-in strangers' (d1, d2) pairs (s, 2) and, if any, stand-in
    celebrity photos' pairs (c, 2); None with fewer than ``MIN_STRANGERS`` strangers.

    For each distance limit of ``DISTANCE_STEPS`` the ratio limit is the largest that lets
    at most ``false_rate`` of the strangers through; the pair that tells the most
    celebrity photos wins (without any, the 0.6 limit, the loosest).
    """
    strangers = np.asarray(strangers, np.float64)
    if len(strangers) < MIN_STRANGERS:
        log.info("no 'this is X' rule: %d stand-in strangers, %d needed", len(strangers), MIN_STRANGERS)
        return None
    allowed = math.floor(false_rate * len(strangers))
    best: tuple[float, IdentityRule] | None = None
    for limit in DISTANCE_STEPS.tolist():
        rule = IdentityRule(limit, _ratio_limit(strangers, limit, allowed))
        told = _told(rule, celebrities) if celebrities is not None and len(celebrities) else limit
        if best is None or told > best[0]:
            best = (told, rule)
    assert best is not None
    told, rule = best
    log.info(
        "'this is X' rule %s: %.2f%% of %d stand-in strangers and %s of %d celebrity photos told it",
        rule,
        100 * _told(rule, strangers),
        len(strangers),
        "-" if celebrities is None or not len(celebrities) else f"{100 * told:.1f}%",
        0 if celebrities is None else len(celebrities),
    )
    return rule


def _ratio_limit(pairs: np.ndarray, limit: float, allowed: int) -> float:
    """The largest ratio limit under which at most ``allowed`` of ``pairs`` within ``limit`` pass."""
    within = pairs[pairs[:, 0] <= limit]
    ratios = np.sort(within[:, 0] / within[:, 1])
    if len(ratios) <= allowed:
        return 1.0
    return min(1.0, float(np.nextafter(ratios[allowed], 0.0)))  # just below the first one too many


def _told(rule: IdentityRule, pairs: np.ndarray) -> float:
    return float(np.mean([rule.holds(d1, d2) for d1, d2 in pairs.tolist()]))
