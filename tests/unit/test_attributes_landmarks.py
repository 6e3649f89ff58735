"""The 30 Rekognition landmark types from mesh indices."""

from __future__ import annotations

import botocore.session
import numpy as np
import pytest

from facesearch.vision.attributes import landmarks
from facesearch.vision.attributes.face_mesh import BLENDSHAPE_NAMES, BLENDSHAPE_SUBSET, MESH_POINTS

LANDMARK_TYPES = (
    botocore.session.get_session().get_service_model("rekognition").shape_for("LandmarkType").enum
)


def test_every_rekognition_landmark_type_has_mesh_indices_in_botocores_order() -> None:
    assert list(landmarks.LANDMARK_MESH_INDICES) == list(LANDMARK_TYPES)
    assert len(LANDMARK_TYPES) == 30
    for indices in landmarks.LANDMARK_MESH_INDICES.values():
        assert indices and all(0 <= i < MESH_POINTS for i in indices)


def test_pupils_are_the_iris_centres_and_eye_corners_build_the_eye_centres() -> None:
    mapping = landmarks.LANDMARK_MESH_INDICES
    assert mapping["leftPupil"] == (468,) and mapping["rightPupil"] == (473,)
    assert set(mapping["eyeLeft"]) == set(mapping["leftEyeLeft"] + mapping["leftEyeRight"])
    assert set(mapping["eyeRight"]) == set(mapping["rightEyeLeft"] + mapping["rightEyeRight"])


def test_a_type_of_several_indices_is_their_mean_and_ratios_divide_by_the_image_size() -> None:
    mesh = np.zeros((MESH_POINTS, 3))
    mesh[:, 0] = np.arange(MESH_POINTS)  # x = index, y = 2 * index
    mesh[:, 1] = 2 * np.arange(MESH_POINTS)
    points = landmarks.landmark_points(mesh)
    assert points["eyeLeft"] == pytest.approx(((33 + 133) / 2, 33 + 133))
    assert points["chinBottom"] == pytest.approx((152.0, 304.0))
    ratios = landmarks.as_ratios(points, width=200, height=400)
    assert ratios["chinBottom"] == pytest.approx((0.76, 0.76))
    assert list(ratios) == list(LANDMARK_TYPES)


def test_blendshape_tables_match_mediapipes_sizes() -> None:
    assert len(BLENDSHAPE_SUBSET) == 146 and len(set(BLENDSHAPE_SUBSET)) == 146
    assert list(BLENDSHAPE_SUBSET) == sorted(BLENDSHAPE_SUBSET) and max(BLENDSHAPE_SUBSET) == 477
    assert len(BLENDSHAPE_NAMES) == 52 and BLENDSHAPE_NAMES[9] == "eyeBlinkLeft"
    assert BLENDSHAPE_NAMES[25] == "jawOpen" and BLENDSHAPE_NAMES[44] == "mouthSmileLeft"
