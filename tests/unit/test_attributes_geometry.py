"""The crops the attribute models read, mesh points back to the image, and the gaze geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facesearch.vision.aligner import ARCFACE_TEMPLATE
from facesearch.vision.attributes import crops, gaze
from facesearch.vision.attributes.face_mesh import to_image

FACE = ARCFACE_TEMPLATE * 3 + np.array([100.0, 80.0])  # upright, ~100 px between the eyes
BOX = (160.0, 150.0, 380.0, 420.0)


def rotate(points: np.ndarray, degrees: float, centre: np.ndarray) -> np.ndarray:
    a = math.radians(degrees)
    m = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return (points - centre) @ m.T + centre


def test_mesh_crop_is_1_5_box_sides_centred_on_the_box_and_level() -> None:
    transform = crops.mesh_transform(FACE, BOX)
    centre = np.array([[(BOX[0] + BOX[2]) / 2, (BOX[1] + BOX[3]) / 2]])
    assert crops.apply(transform, centre)[0] == pytest.approx([128.0, 128.0])
    scale = math.sqrt(abs(np.linalg.det(transform[:2, :2])))
    assert scale == pytest.approx(256 / (1.5 * 270))
    eyes = crops.apply(transform, FACE[:2])
    assert eyes[0, 1] == pytest.approx(eyes[1, 1], abs=0.3)  # the template's eyes are nearly level


@pytest.mark.parametrize("roll", [-30.0, 12.0, 45.0])
def test_a_rolled_face_gives_a_level_mesh_crop(roll: float) -> None:
    centre = np.array([270.0, 285.0])
    face = rotate(FACE, roll, centre)
    eyes = crops.apply(crops.mesh_transform(face, BOX), face[:2])
    untilted = crops.apply(crops.mesh_transform(FACE, BOX), FACE[:2])
    assert eyes[1, 1] - eyes[0, 1] == pytest.approx(untilted[1, 1] - untilted[0, 1], abs=1e-6)


def test_face_chip_puts_the_landmarks_on_dlibs_padded_template() -> None:
    chip = crops.apply(crops.chip_transform(FACE, 64), FACE)
    expected = (crops.CHIP_TEMPLATE + crops.CHIP_PADDING) / (1 + 2 * crops.CHIP_PADDING) * 63 + 0.5
    assert np.abs(chip - expected).max() < 3.0  # a similarity fit: template shapes differ a little


def test_mesh_points_map_back_through_the_inverse_crop() -> None:
    transform = crops.mesh_transform(FACE, BOX)
    image_points = np.array([[200.0, 250.0], [300.0, 260.0], [270.0, 380.0]])
    crop_points = np.column_stack([crops.apply(transform, image_points), [10.0, -5.0, 0.0]])
    back = to_image(crop_points, transform)
    assert back[:, :2] == pytest.approx(image_points)
    scale = math.sqrt(abs(np.linalg.det(transform[:2, :2])))
    assert back[:, 2] == pytest.approx(np.array([10.0, -5.0, 0.0]) / scale)


def eye_mesh(iris_shift: tuple[float, float], roll: float = 0.0) -> np.ndarray:
    """478 points with just the eye corners and iris centres set (30 px wide eyes)."""
    points = np.zeros((478, 3))
    for outer, inner, iris, x0 in ((33, 133, 468, 100.0), (263, 362, 473, 200.0)):
        left, right = (x0 - 15, x0 + 15) if outer == 33 else (x0 + 15, x0 - 15)
        points[outer, :2], points[inner, :2] = (left, 100.0), (right, 100.0)
        points[iris, :2] = (x0 + iris_shift[0], 100.0 + iris_shift[1])
    points[:, :2] = rotate(points[:, :2], roll, np.array([150.0, 100.0]))
    return points


def test_a_centred_iris_looks_straight_ahead() -> None:
    offsets = gaze.iris_offsets(eye_mesh((0.0, 0.0)))
    assert offsets == pytest.approx((0.0, 0.0))
    angles = gaze.gaze_from_offsets(offsets)
    assert angles.yaw == pytest.approx(0.0) and angles.pitch == pytest.approx(0.0)


@pytest.mark.parametrize("roll", [0.0, 25.0])
def test_iris_shift_gives_yaw_and_pitch_by_the_eyeball_model_whatever_the_roll(roll: float) -> None:
    radius = gaze.EYEBALL_RADIUS_RATIO * 15
    right_and_up = gaze.gaze_from_offsets(gaze.iris_offsets(eye_mesh((0.5 * radius, -0.25 * radius), roll)))
    assert right_and_up.yaw == pytest.approx(30.0, abs=1e-6)
    assert right_and_up.pitch == pytest.approx(math.degrees(math.asin(0.25)), abs=1e-6)


def test_the_zero_offset_is_removed_before_the_angle() -> None:
    angles = gaze.gaze_from_offsets((0.3, 0.2), zero=(0.3, 0.2))
    assert angles.yaw == pytest.approx(0.0) and angles.pitch == pytest.approx(0.0)


def test_a_degenerate_mesh_gives_no_gaze_rather_than_a_made_up_one() -> None:
    assert gaze.iris_offsets(np.zeros((478, 3))) is None
