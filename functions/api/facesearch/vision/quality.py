"""Rekognition's Quality for a face, measured on its aligned crop.

Quality (0-100, higher is better) is measured on the 112x112 aligned crop, so the face only, and only on
the part of it that is in the picture (a face the frame cuts has no pixels beyond the edge: the aligner's
black fill would darken it and its edge would count as sharp detail):
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


def measure_quality(crop: np.ndarray, in_picture: np.ndarray | None = None) -> Quality:
    """Brightness and Sharpness (0-100) of an aligned RGB face crop (HxWx3 uint8), over the crop's pixels
    that `in_picture` (HxW bool, aligner.in_picture) marks, all of them by default."""
    luma = _luma(crop)
    height, width = luma.shape
    # the template puts the face in the middle; the corners are background or hair
    rows, cols = slice(height // 6, height - height // 12), slice(width // 6, width - width // 6)
    inner = luma[rows, cols]
    seen = np.ones(inner.shape, bool) if in_picture is None else np.asarray(in_picture, bool)[rows, cols]
    if not seen.any():
        return Quality(brightness=0.0, sharpness=0.0)
    brightness = 100.0 * float(inner[seen].mean()) / 255.0
    laplacian = (
        inner[1:-1, :-2] + inner[1:-1, 2:] + inner[:-2, 1:-1] + inner[2:, 1:-1] - 4.0 * inner[1:-1, 1:-1]
    )
    # a Laplacian counts where its whole 3 x 3 neighbourhood (the 4 neighbours) is in the picture
    whole = seen[1:-1, 1:-1] & seen[1:-1, :-2] & seen[1:-1, 2:] & seen[:-2, 1:-1] & seen[2:, 1:-1]
    variance = float(laplacian[whole].var()) if whole.sum() > 1 else 0.0
    sharpness = 100.0 * (1.0 - math.exp(-variance / SHARPNESS_SCALE))
    return Quality(brightness=round(brightness, 6), sharpness=round(sharpness, 6))
