"""Shapes shared by the layers: a face's box, as vision finds it and storage keeps it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BoundingBox:
    """Rekognition's ratios of the image size; may fall slightly outside [0, 1], like Rekognition's."""

    width: float
    height: float
    left: float
    top: float
