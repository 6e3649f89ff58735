"""Pose from landmarks and Quality from the aligned crop."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image, ImageFilter

from facesearch.vision.aligner import ARCFACE_TEMPLATE
from facesearch.vision.pose import estimate_pose
from facesearch.vision.quality import Quality, measure_quality

FRONTAL = ARCFACE_TEMPLATE * 3  # a frontal face about 300 px wide


def rotate(points: np.ndarray, degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    matrix = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    centre = points.mean(axis=0)
    return (points - centre) @ matrix.T + centre


def test_frontal_template_is_near_zero_pose() -> None:
    pose = estimate_pose(FRONTAL)
    assert abs(pose.roll) < 1 and abs(pose.yaw) < 3 and abs(pose.pitch) < 8


@pytest.mark.parametrize("angle", [-40.0, -10.0, 15.0, 60.0])
def test_roll_follows_in_plane_rotation_and_nothing_else_moves(angle: float) -> None:
    base, turned = estimate_pose(FRONTAL), estimate_pose(rotate(FRONTAL, angle))
    assert turned.roll == pytest.approx(base.roll + angle, abs=0.01)
    assert turned.yaw == pytest.approx(base.yaw, abs=0.01)
    assert turned.pitch == pytest.approx(base.pitch, abs=0.01)


def test_yaw_sign_follows_the_nose() -> None:
    right, left = FRONTAL.copy(), FRONTAL.copy()
    right[2, 0] += 30
    left[2, 0] -= 30
    assert estimate_pose(right).yaw > 20 and estimate_pose(left).yaw < -20


def test_pitch_sign_follows_the_nose() -> None:
    up, down = FRONTAL.copy(), FRONTAL.copy()
    up[2, 1] -= 20
    down[2, 1] += 20
    assert estimate_pose(up).pitch > estimate_pose(FRONTAL).pitch + 10
    assert estimate_pose(down).pitch < estimate_pose(FRONTAL).pitch - 10


def test_degenerate_landmarks_do_not_crash() -> None:
    pose = estimate_pose(np.zeros((5, 2)))
    assert all(-180 <= v <= 180 for v in (pose.roll, pose.yaw, pose.pitch))


def test_brightness_is_mean_luma() -> None:
    assert measure_quality(np.zeros((112, 112, 3), np.uint8)).brightness == 0
    assert measure_quality(np.full((112, 112, 3), 255, np.uint8)).brightness == pytest.approx(100)
    assert measure_quality(np.full((112, 112, 3), 128, np.uint8)).brightness == pytest.approx(50.2, abs=0.1)


def test_sharpness_drops_with_blur() -> None:
    rng = np.random.default_rng(0)
    texture = Image.fromarray(rng.integers(0, 256, (28, 28, 3), dtype=np.uint8)).resize(
        (112, 112), Image.Resampling.BICUBIC
    )
    sharp = measure_quality(np.asarray(texture)).sharpness
    blurred = measure_quality(np.asarray(texture.filter(ImageFilter.GaussianBlur(3)))).sharpness
    flat = measure_quality(np.full((112, 112, 3), 90, np.uint8)).sharpness
    assert 0 == flat < blurred < sharp <= 100


def test_quality_reads_only_the_part_of_the_crop_in_the_picture() -> None:
    """A face the frame cuts: the black beyond the edge neither darkens it nor counts as detail."""
    rng = np.random.default_rng(0)
    face = np.clip(120 + rng.normal(0, 4, (112, 112, 3)), 0, 255).astype(np.uint8)
    cut = face.copy()
    cut[:, :50] = 0
    seen = np.ones((112, 112), bool)
    seen[:, :50] = False
    whole, measured = measure_quality(face), measure_quality(cut, seen)
    assert abs(measured.brightness - whole.brightness) < 1.0
    assert abs(measured.sharpness - whole.sharpness) < 5.0
    assert measure_quality(cut).sharpness > whole.sharpness + 20  # the black edge, counted as detail
    assert measure_quality(cut, np.zeros((112, 112), bool)) == Quality(0.0, 0.0)
