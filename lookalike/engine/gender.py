"""Which gender a face most likely has, for answers within the user's apparent gender.

A linear probe (Fisher's discriminant) fitted at build time on the gallery's own photo
embeddings whose celebrity the catalog labels ``female`` or ``male``; any other label,
or none, is unknown: such celebrities are never filtered out, and without enough
labelled photos of both genders there is no probe and answers ignore gender.

When the photos also carry the dedicated classifier's scores (gender_classifier.py), the
probe's score and the classifier's are fused (``Fusion``): a logistic regression over the
two scores, fitted on the same labelled photos with the probe's scores held out.
The two err on different faces, so together they are wrong less often than either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lookalike.records import CelebrityRecord

log = logging.getLogger(__name__)

FEMALE, MALE = "female", "male"
UNKNOWN = None
"""Unknown gender, in Python: a catalog's missing or other label, a face without a probe."""
GENDERS = (FEMALE, MALE)
"""The genders a probe predicts, in the order of their codes."""
CODES: dict[str | None, int] = {gender: code for code, gender in enumerate(GENDERS)}
"""Each gender's code in arrays (the probe's predictions, ``codes``): 0 female, 1 male."""
UNKNOWN_CODE = -1
"""Unknown gender in arrays of codes, where None cannot go."""
MIN_PHOTOS_PER_GENDER = 20
"""Fewer labelled photos of either gender than this and no probe is fitted."""
SHRINKAGE = 0.1
"""Share of the within-class scatter's mean eigenvalue added to its diagonal: keeps the
discriminant stable when a small gallery has fewer photos than the 128 dimensions."""
RIDGE = 1.0
"""The fusion's logistic regression's L2 penalty, against a total weight of one per photo:
nothing beside a real gallery's hundreds of photos, enough to keep the weights finite where
a small gallery's two genders separate perfectly."""


def label(value: object) -> str | None:
    """A catalog's ``gender`` value as ``female``, ``male`` or None (unknown)."""
    text = value.strip().lower() if isinstance(value, str) else None
    return text if text in CODES else UNKNOWN


def codes(celebrities: Iterable[CelebrityRecord]) -> np.ndarray:
    """Per celebrity: its gender's code, ``UNKNOWN_CODE`` when unknown (int8)."""
    return np.array([CODES.get(label(c.get("gender")), UNKNOWN_CODE) for c in celebrities], dtype=np.int8)


def of_code(code: int) -> str:
    """The gender of a probe's prediction (a code in ``CODES``)."""
    return GENDERS[code]


def other(gender: str) -> str:
    """The other of the two genders."""
    return MALE if gender == FEMALE else FEMALE


@dataclass(frozen=True)
class Fusion:
    """``male`` when ``probe_weight * probe score + classifier_weight * classifier score + bias > 0``."""

    probe_weight: float
    classifier_weight: float
    bias: float

    def score(self, probe_scores: np.ndarray, classifier_scores: np.ndarray) -> np.ndarray:
        return self.probe_weight * probe_scores + self.classifier_weight * np.asarray(classifier_scores) + self.bias

    def to_json(self) -> dict[str, Any]:
        return {"probe_weight": self.probe_weight, "classifier_weight": self.classifier_weight, "bias": self.bias}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Fusion:
        numbers = [float(value[key]) for key in ("probe_weight", "classifier_weight", "bias")]
        if not np.isfinite(numbers).all():
            raise ValueError("a gender fusion needs finite weights")
        return cls(*numbers)


@dataclass(frozen=True)
class GenderProbe:
    """``male`` when ``embedding @ weights + bias > 0``, else ``female``; with a ``fusion``
    and the classifier's scores, when the fused score is positive."""

    weights: tuple[float, ...]
    bias: float
    fusion: Fusion | None = None

    def predict(self, embeddings: np.ndarray, classifier_scores: np.ndarray | None = None) -> np.ndarray:
        """Codes (0 female, 1 male) for embeddings (m, 128) and, if given, the classifier's scores (m,)."""
        return (self.score(embeddings, classifier_scores) > 0).astype(np.int8)

    def score(self, embeddings: np.ndarray, classifier_scores: np.ndarray | None = None) -> np.ndarray:
        """How male each face (m, 128) looks: positive male, negative female. Fused with
        ``classifier_scores`` when the probe has a fusion; the probe's alone otherwise."""
        probe_scores: np.ndarray = np.asarray(embeddings, np.float64) @ np.asarray(self.weights) + self.bias
        if self.fusion is None or classifier_scores is None:
            return probe_scores
        return self.fusion.score(probe_scores, classifier_scores)

    def to_json(self) -> dict[str, Any]:
        fusion = None if self.fusion is None else self.fusion.to_json()
        return {"weights": list(self.weights), "bias": self.bias, "fusion": fusion}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> GenderProbe:
        weights = tuple(float(w) for w in value["weights"])
        if len(weights) == 0 or not np.isfinite(weights).all():
            raise ValueError("a gender probe needs finite weights")
        fusion = value.get("fusion")
        return cls(weights, float(value["bias"]), None if fusion is None else Fusion.from_json(fusion))


def fit_gender(
    samples: np.ndarray,
    sample_codes: np.ndarray,
    owners: np.ndarray | None = None,
    classifier_scores: np.ndarray | None = None,
) -> GenderProbe | None:
    """``fit_probe`` (its two folds: even and odd ``owners``, the celebrity of each photo),
    fused with the classifier's scores of the same photos when they are given
    (``fit_fusion``); None without enough labelled photos."""
    folds = None if owners is None else np.asarray(owners) % 2
    probe = fit_probe(samples, sample_codes, folds)
    if probe is None or owners is None or classifier_scores is None:
        return probe
    fusion = fit_fusion(samples, sample_codes, np.asarray(owners), classifier_scores)
    return probe if fusion is None else GenderProbe(probe.weights, probe.bias, fusion)


def fit_fusion(
    samples: np.ndarray, sample_codes: np.ndarray, owners: np.ndarray, classifier_scores: np.ndarray
) -> Fusion | None:
    """Logistic regression of the gender on (probe score, classifier score) over the labelled
    photos, its threshold at equal errors (``_equal_error_place``); None when a fold holds
    too few, or when the classifier's scores tell nothing.

    Logistic rather than Fisher's discriminant: the classifier's log-odds are far from
    normal (a heap at the +-12 bound, long tails), and a discriminant fitted to their
    spread leaned on the classifier too little. Each celebrity weighs the same however many
    photos it has, and the two genders weigh half each, as at the threshold. A score whose
    weight comes out negative tells nothing there and is left out: in a small gallery the
    held-out probe can be noise, and the classifier then decides alone.

    The probe's scores are held out: each fold's photos (even and odd ``owners``) are scored
    by a probe fitted on the other fold, as new faces will be; on its own photos the probe
    would look surer than it is and the fusion would lean on it too much. The classifier
    never saw the gallery, so its scores are out of sample already.
    """
    samples = np.asarray(samples, np.float64)
    sample_codes, owners = np.asarray(sample_codes), np.asarray(owners)
    probe_scores = np.full(len(samples), np.nan)
    for fold in (0, 1):
        train, test = owners % 2 != fold, owners % 2 == fold
        probe = fit_probe(samples[train], sample_codes[train], min_photos=MIN_PHOTOS_PER_GENDER // 2)
        if probe is None:
            log.info("no gender fusion: too few labelled photos in one half")
            return None
        probe_scores[test] = probe.score(samples[test])
    labelled = sample_codes >= 0
    scores = np.column_stack([probe_scores, np.asarray(classifier_scores, np.float64)])[labelled]
    male, owners = (sample_codes[labelled] == 1).astype(np.float64), owners[labelled]
    _, celebrity, photos = np.unique(owners, return_inverse=True, return_counts=True)
    weights = 1.0 / photos[celebrity]
    for gender_photos in (male == 0, male == 1):
        weights[gender_photos] *= len(male) / 2 / weights[gender_photos].sum()
    coefficients = _logistic(scores, male, weights)
    if coefficients[0] <= 0:  # a small gallery's held-out probe can be noise: the classifier alone
        classifier_only = _logistic(scores[:, 1:], male, weights)
        coefficients = np.array([0.0, *classifier_only])
    if coefficients[1] <= 0:
        log.info("no gender fusion: the classifier's scores do not tell the labelled photos apart")
        return None
    fused = scores @ coefficients[:2] + coefficients[2]
    place = _equal_error_place(fused[male == 0], fused[male == 1])
    fusion = Fusion(float(coefficients[0]), float(coefficients[1]), float(coefficients[2] - place))
    right = ((fusion.score(*scores.T) > 0) == (male == 1)).mean()
    log.info("gender fusion fitted: %s, %.1f%% of the labelled photos right (probe held out)", fusion, 100 * right)
    return fusion


def _logistic(features: np.ndarray, target: np.ndarray, weights: np.ndarray, iterations: int = 100) -> np.ndarray:
    """Weighted logistic regression by Newton's method: coefficients of ``features`` (n, k),
    then the intercept. A slight ridge (``RIDGE``) keeps them finite where the classes separate."""
    design = np.column_stack([features, np.ones(len(features))])
    ridge = RIDGE * np.diag([1.0] * features.shape[1] + [0.0])
    coefficients = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ coefficients, -30, 30)))
        gradient = design.T @ (weights * (p - target)) + ridge @ coefficients
        hessian = (design * (weights * p * (1 - p))[:, None]).T @ design + ridge
        step = np.linalg.solve(hessian, gradient)
        coefficients -= step
        if np.abs(step).max() < 1e-9:
            break
    return coefficients


def fit_probe(
    samples: np.ndarray,
    sample_codes: np.ndarray,
    folds: np.ndarray | None = None,
    min_photos: int = MIN_PHOTOS_PER_GENDER,
) -> GenderProbe | None:
    """Fisher's discriminant between the labelled photos; None without
    ``MIN_PHOTOS_PER_GENDER`` photos of each.

    The threshold is where women and men are equally often wrong (a gallery usually has
    fewer women, and a threshold that minimised the total error would give up on them
    first), measured out of sample: with ``folds`` (a 0/1 per photo, e.g. by celebrity) a
    discriminant fitted on each fold projects the other, normal fits to those held-out
    projections give the equal-error point (``_equal_error_place``), and its place between
    the two classes' projected means carries over to the discriminant fitted on all. On
    its own photos a 128-d discriminant is almost never wrong and separates the classes
    more than it will separate new faces.
    """
    samples = np.asarray(samples, np.float64)
    sample_codes = np.asarray(sample_codes)
    women, men = samples[sample_codes == 0], samples[sample_codes == 1]
    if min(len(women), len(men)) < min_photos:
        log.info("no gender probe: %d labelled photos of women, %d of men", len(women), len(men))
        return None
    axis = _discriminant(women, men)
    held_out = _held_out_places(samples, sample_codes, folds) if folds is not None else None
    # too few photos to hold some out: their places under the discriminant fitted on all of them
    women_places, men_places = held_out or (axis.places(women), axis.places(men))
    bias = -(axis.low + _equal_error_place(women_places, men_places) * (axis.high - axis.low))
    probe = GenderProbe(tuple(float(w) for w in axis.weights), bias)
    right = np.concatenate([probe.predict(women) == 0, probe.predict(men) == 1]).mean()
    log.info("gender probe fitted on %d + %d photos: %.1f%% right on them", len(women), len(men), 100 * right)
    return probe


@dataclass(frozen=True)
class _Axis:
    """Fisher's direction and where the women's (``low``) and the men's (``high``) means project on it."""

    weights: np.ndarray
    low: float
    high: float

    def places(self, photos: np.ndarray) -> np.ndarray:
        """Where ``photos`` project: 0 at the women's mean, 1 at the men's."""
        return np.asarray((photos @ self.weights - self.low) / (self.high - self.low))


def _discriminant(women: np.ndarray, men: np.ndarray) -> _Axis:
    scatter = np.cov(women, rowvar=False) * (len(women) - 1) + np.cov(men, rowvar=False) * (len(men) - 1)
    scatter /= len(women) + len(men) - 2
    scatter += SHRINKAGE * np.trace(scatter) / len(scatter) * np.eye(len(scatter))
    weights = np.linalg.solve(scatter, men.mean(axis=0) - women.mean(axis=0))
    return _Axis(weights, float(women.mean(axis=0) @ weights), float(men.mean(axis=0) @ weights))


def _held_out_places(
    samples: np.ndarray, sample_codes: np.ndarray, folds: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The women's and the men's places (``_Axis.places``) of each fold's photos under the
    discriminant fitted on the other fold; None when a fold holds too few of either."""
    folds = np.asarray(folds)
    women_places, men_places = [], []
    for fold in (0, 1):
        train, test = folds != fold, folds == fold
        women, men = samples[train & (sample_codes == 0)], samples[train & (sample_codes == 1)]
        held_women, held_men = samples[test & (sample_codes == 0)], samples[test & (sample_codes == 1)]
        if min(len(women), len(men), len(held_women), len(held_men)) < MIN_PHOTOS_PER_GENDER // 2:
            return None
        axis = _discriminant(women, men)
        women_places.append(axis.places(held_women))
        men_places.append(axis.places(held_men))
    return np.concatenate(women_places), np.concatenate(men_places)


def _equal_error_place(women: np.ndarray, men: np.ndarray) -> float:
    """The place where normal fits of the women's and the men's places are equally often on
    the wrong side: (t - mean_w) / sd_w = (mean_m - t) / sd_m.

    Fitted rather than counted: ~1% of a few hundred women are wrong, so a counted
    equal-error point rests on a handful of photos (bench/README.md, "Look-alikes for
    strangers", has the two compared).
    """
    spread_women, spread_men = women.std(), men.std()
    return float(women.mean() + (men.mean() - women.mean()) * spread_women / (spread_women + spread_men))
