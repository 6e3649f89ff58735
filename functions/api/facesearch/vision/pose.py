"""Rekognition's Pose for a face, estimated from its 5 landmarks.

Pose (degrees, clamped to [-180, 180]) is an approximation from 2D points, not a fitted 3D head model:
- Roll: angle of the line from eyeLeft to eyeRight against the horizontal (positive = the face turns
  clockwise in the image, the right-of-image eye lower).
- Yaw: the nose tip sits in front of the eye/mouth plane by about half the inter-eye distance (average
  adult anthropometry), so turning the head by theta moves it sideways by ~0.5 * iod * sin(theta) while
  the eye line shrinks to iod * cos(theta): yaw = atan(offset / (0.5 * projected eye distance)), with
  offset the nose's distance from the eyes/mouth midline, measured after undoing the roll. Positive =
  nose towards the right of the image.
- Pitch: on a frontal face the nose tip lies NOSE_RATIO_FRONTAL of the way from the eye line to the
  mouth line; tilting moves it along that axis by ~depth * tan(pitch). Positive = face tilted up (the
  nose moves up towards the eyes).
On frontal studio photos this gives |yaw|, |pitch|, |roll| of a few degrees; at strong rotation it
is only as good as the landmarks of a half-profile face, which is fine for filter-style thresholds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NOSE_DEPTH_RATIO = 0.5  # nose tip depth in front of the eyes, in inter-eye distances
# nose tip between eye line (0) and mouth line (1) on a frontal face: 0.548 +- 0.028 measured by YuNet on
# 40 London neutral frontal photos
NOSE_RATIO_FRONTAL = 0.55


@dataclass(frozen=True)
class Pose:
    roll: float
    yaw: float
    pitch: float


def _clamp_angle(value: float) -> float:
    return float(min(180.0, max(-180.0, value)))


def estimate_pose(landmarks: np.ndarray) -> Pose:
    """Roll/yaw/pitch in degrees from (5, 2) landmarks in eyeLeft, eyeRight, nose, mouthLeft,
    mouthRight order (image coordinates, y down)."""
    points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    eye_left, eye_right, _nose, _mouth_left, _mouth_right = points
    eye_vector = eye_right - eye_left
    roll = math.degrees(math.atan2(eye_vector[1], eye_vector[0]))
    # undo the roll about the eye centre so "across" is x and "down the face" is y
    angle = -math.radians(roll)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    eye_centre = (eye_left + eye_right) / 2
    upright = (points - eye_centre) @ rotation.T
    eye_distance = float(np.hypot(*eye_vector))
    if eye_distance < 1e-6:
        return Pose(roll=_clamp_angle(roll), yaw=0.0, pitch=0.0)
    mouth_centre = (upright[3] + upright[4]) / 2
    nose_up = upright[2]
    midline_x = (0.0 + mouth_centre[0]) / 2  # eye centre is the origin
    depth = NOSE_DEPTH_RATIO * eye_distance
    yaw = math.degrees(math.atan2(nose_up[0] - midline_x, depth))
    eye_to_mouth = float(mouth_centre[1])
    if eye_to_mouth <= 1e-6:
        pitch = 0.0
    else:
        shift = NOSE_RATIO_FRONTAL * eye_to_mouth - float(nose_up[1])
        pitch = math.degrees(math.atan2(shift, depth))
    return Pose(roll=_clamp_angle(roll), yaw=_clamp_angle(yaw), pitch=_clamp_angle(pitch))
