"""Synthetic face embeddings for the index and ranking tests."""

from __future__ import annotations

import math

import numpy as np


def faces(count: int, seed: int) -> np.ndarray:
    """Vectors spread like dlib's: norms ~1.4, people ~0.8 apart, variance falling over the principal axes.

    The spectrum matters: iid noise in 128 dimensions is far harder for HNSW than
    real embeddings (whose variance is ~80% in 32 of the 128 directions).
    """
    rng = np.random.default_rng(seed)
    centre = np.full(128, 1.3 / math.sqrt(128))
    spread = 0.2 * np.arange(1, 129) ** -0.45  # variance ~ 1 / axis^0.9
    rotation, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(128, 128)))
    return (centre + (rng.normal(size=(count, 128)) * spread) @ rotation).astype(np.float32)
