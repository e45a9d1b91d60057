"""Dark photos: the pipeline looks at a cleaned copy of a dark, noisy photo.

A phone in a dim room sends a dark photo with its sensor's noise in it. dlib's HOG detector
finds such faces less often, and the recogniser's embedding of those it finds is further
from the person's: on 200 held-out LFW photos at a fifth of the light with sensor noise
(bench/selfie_robustness.py's dark variant) the first look found 81.5% of the faces and
the whole pipeline 95.5%, top-1 75% against 96% for the same photos as taken. Smoothed
(``SMOOTHING``) and stretched to full contrast (``STRETCH``), the same photos gave faces in
97.5% and top-1 87.5%, nearly all from the first look (bench/README.md). Smoothing is what
helps the embedding: the stretch alone found more faces and identified fewer.

Only a photo both dark (``DARK_MEAN``) and noisy for its contrast (``NOISE_SHARE``) is
cleaned. A dark photo without noise (a stage shot) loses detail to the smoothing and gains
nothing: cleaning LFW's 48 darkest photos moved 26 of 33 further from their person's other
photos. Any photo in normal light pays one mean over a sparse grid of its pixels (~0.1 ms)
and is looked at exactly as before.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

DARK_MEAN = 40.0
"""Mean luminance (0-255) under which a photo may be cleaned: the dark variant's photos average
~19 (at most 38), LFW's news photos ~93 (0.7% under 40, the darkest stage shots)."""

NOISE_SHARE = 0.012
"""The noise's spread (from neighbouring pixels' differences) as a share of the photo's contrast
(``STRETCH``'s range), above which a dark photo is cleaned: 0.021-0.076 in the dark variant,
at most 0.006 in LFW's dark photos and 0.016 in LFW's photos as taken."""

SMOOTHING = 1.5
"""Gaussian radius in pixels against the sensor's noise: 1.25-1.75 gave the same top-1 within a
photo or two on the dark variant; 1.0 left the noise (82.5%), 3.0 took the face's detail (66%)."""

STRETCH = (1.0, 99.5)
"""Percentiles of the smoothed copy's values mapped to black and white (all channels alike,
so colours keep their balance)."""

_LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_GRID = 8  # every 8th pixel each way: plenty for a mean


def needs_cleaning(image: np.ndarray) -> bool:
    """Whether the RGB ``image`` is too dark and noisy to look at as it is."""
    return is_dark(image) and noise_share(image) > NOISE_SHARE


def is_dark(image: np.ndarray) -> bool:
    """Whether the RGB ``image``'s mean luminance is under ``DARK_MEAN``."""
    sample = np.asarray(image[::_GRID, ::_GRID], dtype=np.float32)
    return bool(sample.size) and float((sample @ _LUMINANCE).mean()) < DARK_MEAN


def noise_share(image: np.ndarray) -> float:
    """The RGB ``image``'s noise, as a share of its contrast: the spread of differences between
    neighbouring pixels (a robust one: edges are few) against the luminance's ``STRETCH`` range."""
    gray = np.asarray(image, dtype=np.float32) @ _LUMINANCE
    steps = np.diff(gray, axis=1)
    spread = 1.4826 * float(np.median(np.abs(steps - np.median(steps)))) / np.sqrt(2.0)
    low, high = np.percentile(gray, STRETCH)
    return float(spread / max(float(high - low), 1.0))


def cleaned(image: np.ndarray) -> np.ndarray:
    """The RGB ``image`` smoothed and stretched to full contrast: same size, same geometry."""
    smooth = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(SMOOTHING)), dtype=np.float32)
    low, high = np.percentile(smooth, STRETCH)
    stretched = (smooth - low) * (255.0 / max(float(high - low), 1.0))
    return np.asarray(np.clip(stretched, 0, 255), dtype=np.uint8)
