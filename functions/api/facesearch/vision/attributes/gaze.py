"""EyeDirection (gaze yaw/pitch relative to the head) estimated from the mesh's iris and eye corners.

Not a trained gaze model: no shipped, permissively licensed one exists (docs/attributes.md). The
geometry: an eyeball of radius R turning by theta moves the iris centre by R * sin(theta) in the image,
measured here from the eye's centre (midpoint of its two corners) in the head's frame (roll removed).
R is taken as EYEBALL_RADIUS_RATIO of half the corner-to-corner width (adult eye ~24 mm across, visible
eye opening ~30 mm: 12 / 15 = 0.8). Yaw positive = looking towards the image right, pitch positive =
looking up, like Rekognition's Pose signs. Both eyes are averaged. Pitch is weaker: the lids cover the
iris top and bottom, so vertical iris motion is under-read; this is an estimate, documented as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EYEBALL_RADIUS_RATIO = 0.8
# (outer corner, inner corner, iris centre) for the image-left and image-right eye
EYES = ((33, 133, 468), (263, 362, 473))


@dataclass(frozen=True)
class Gaze:
    yaw: float  # degrees
    pitch: float  # degrees


def _angle(ratio: float) -> float:
    return math.degrees(math.asin(max(-1.0, min(1.0, ratio))))


def iris_offsets(mesh_points: np.ndarray) -> tuple[float, float] | None:
    """Mean iris-centre offset from the eye centre, in eyeball radii: (towards image right, upwards),
    in the head's frame (roll undone). None when the eyes have no width (a degenerate mesh): no
    estimate rather than a made-up one."""
    points = np.asarray(mesh_points, dtype=np.float64)[:, :2]
    eye_line = points[263] - points[33]
    angle = -math.atan2(eye_line[1], eye_line[0])
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    across, up = [], []
    for outer, inner, iris in EYES:
        a, b, c = (points[i] @ rotation.T for i in (outer, inner, iris))
        half_width = float(np.hypot(*(a - b))) / 2
        if half_width < 1e-6:
            continue
        radius = EYEBALL_RADIUS_RATIO * half_width
        offset = (c - (a + b) / 2) / radius
        across.append(float(offset[0]))
        up.append(float(-offset[1]))  # image y grows downwards
    if not across:
        return None
    return float(np.mean(across)), float(np.mean(up))


def gaze_from_offsets(offsets: tuple[float, float], zero: tuple[float, float] = (0.0, 0.0)) -> Gaze:
    """Angles from iris offsets, after removing the offset that camera-directed gaze shows (`zero`)."""
    return Gaze(yaw=_angle(offsets[0] - zero[0]), pitch=_angle(offsets[1] - zero[1]))
