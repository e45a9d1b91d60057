"""A dedicated gender classifier: how male a face looks to a network trained for that alone.

Cydral's dlib gender model (CC0; models/NOTICE.md), run as ONNX by onnxruntime on one
thread. It sees a 32x32 chip aligned by the same 5 landmarks as the embedding
(``dlib.get_face_chip(image, shape, 32, padding=0.2)``), RGB less the channel means its
training used, divided by 256, NCHW; it returns the probabilities of female and male.

Each face is scored twice, as aligned and mirrored, and the two log-odds averaged: a face is
no more male mirrored, and the average is wrong less often (fused with the probe on LFW, the
best threshold's equal error 0.94% against 0.99% on average over 15 splits; bench/README.md)
for ~0.6 ms more CPU a face. Its errors are largely other faces' than the embedding's Fisher
probe (gender.py), which is why the two are fused rather than one replacing the other.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dlib
import numpy as np

MODEL_FILE = Path(__file__).parent / "models" / "gender-v1.onnx"
CHIP_SIZE = 32
CHIP_PADDING = 0.2
CHANNEL_MEANS = np.array([122.782, 117.001, 104.298], dtype=np.float32)
MAX_LOG_ODDS = 12.0
"""The score's bound: the network's float32 softmax says 1.0 (infinite log-odds) for many
clear faces; beyond ~e^12 the probabilities are rounding, not evidence."""


class GenderClassifier:
    """The ONNX session, loaded once per process (0.5 MB, a few milliseconds)."""

    def __init__(self, model_file: Path = MODEL_FILE):
        # onnxruntime 1.32 writes a device id into ~/.cache/Microsoft and starts its telemetry
        # uploader in every process that loads a model unless told not to (ORT_TELEMETRY_DISABLED
        # does not stop it); the image and the systemd unit set this too.
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        import onnxruntime  # ~0.2 s to import: only where faces are analysed

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # each face worker owns one core
        options.inter_op_num_threads = 1
        self._session: Any = onnxruntime.InferenceSession(
            str(model_file), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name

    def scores(self, image: np.ndarray, shapes: list[Any]) -> np.ndarray:
        """How male each face looks, as log-odds log(p_male / p_female) within +-``MAX_LOG_ODDS``,
        the mean of its chip's and the mirrored chip's: ``image`` the RGB array the ``shapes``
        (dlib 5-point detections) were found in."""
        if not shapes:
            return np.empty(0, np.float32)
        chips = np.stack([dlib.get_face_chip(image, shape, CHIP_SIZE, padding=CHIP_PADDING) for shape in shapes])
        both = self.chip_scores(np.concatenate([chips, chips[:, :, ::-1]]))
        return np.asarray((both[: len(chips)] + both[len(chips) :]) / 2, dtype=np.float32)

    def chip_scores(self, chips: np.ndarray) -> np.ndarray:
        """Log-odds of male for aligned uint8 RGB chips (n, 32, 32, 3)."""
        values = (chips.astype(np.float32) - CHANNEL_MEANS) / np.float32(256.0)
        batch = np.ascontiguousarray(values.transpose(0, 3, 1, 2))
        probabilities = self._session.run(None, {self._input: batch})[0].astype(np.float64)
        floor = np.exp(-MAX_LOG_ODDS)
        odds = np.log(np.maximum(probabilities[:, 1], floor)) - np.log(np.maximum(probabilities[:, 0], floor))
        return np.asarray(np.clip(odds, -MAX_LOG_ODDS, MAX_LOG_ODDS), dtype=np.float32)
