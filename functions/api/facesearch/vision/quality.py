"""Rekognition's Quality for a face, measured on its aligned crop.

Quality (0-100, higher is better) is measured on the 112x112 aligned crop, so the face only:
- Brightness: mean luma (BT.601) of the crop's central face region, 0-255 mapped linearly to 0-100.
- Sharpness: variance of the 4-neighbour Laplacian of that luma, mapped by 100 * (1 - exp(-var / K)).
  K = SHARPNESS_SCALE = 240, measured on crops of 20 London studio photos: sharp originals have a median
  variance of ~600 (-> ~92), the same photos Gaussian-blurred by 1 px at 400 px scale ~110 (-> ~36), by
  2 px ~23 (-> ~9); LFW's soft 250 px photos ~130 (-> ~42).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SHARPNESS_SCALE = 240.0


@dataclass(frozen=True)
class Quality:
    brightness: float
    sharpness: float


def _luma(crop: np.ndarray) -> np.ndarray:
    rgb = np.asarray(crop, dtype=np.float64)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def measure_quality(crop: np.ndarray) -> Quality:
    """Brightness and Sharpness (0-100) of an aligned RGB face crop (HxWx3 uint8)."""
    luma = _luma(crop)
    height, width = luma.shape
    # the template puts the face in the middle; the corners are background or hair
    inner = luma[height // 6 : height - height // 12, width // 6 : width - width // 6]
    brightness = 100.0 * float(inner.mean()) / 255.0
    laplacian = (
        inner[1:-1, :-2] + inner[1:-1, 2:] + inner[:-2, 1:-1] + inner[2:, 1:-1] - 4.0 * inner[1:-1, 1:-1]
    )
    sharpness = 100.0 * (1.0 - math.exp(-float(laplacian.var()) / SHARPNESS_SCALE))
    return Quality(brightness=round(brightness, 6), sharpness=round(sharpness, 6))
