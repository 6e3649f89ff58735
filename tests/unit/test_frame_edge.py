"""Faces the frame cuts: visibility, which landmarks are seen, and completing the rest (pure geometry)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facesearch.vision import frame_edge
from facesearch.vision.aligner import ARCFACE_TEMPLATE, alignment_matrix


def face(scale: float, centre: tuple[float, float], degrees: float = 0.0) -> np.ndarray:
    """The ArcFace template's 5 points, scaled, rolled and moved so the crop's centre lands on `centre`."""
    angle = math.radians(degrees)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return (ARCFACE_TEMPLATE + 0.5 - 56.0) * scale @ rotation.T + centre


def test_visible_fraction_is_the_share_of_the_box_inside_the_picture() -> None:
    assert frame_edge.visible_fraction((10, 10, 50, 50), 100, 100) == 1.0
    assert frame_edge.visible_fraction((-30, 0, 10, 40), 100, 100) == pytest.approx(0.25)
    assert frame_edge.visible_fraction((120, 0, 140, 40), 100, 100) == 0.0
    assert frame_edge.visible_fraction((5, 5, 5, 9), 100, 100) == 0.0


def test_mirror_images_beyond_the_edge_are_not_in_the_picture() -> None:
    boxes = np.array([[10, 10, 50, 50], [-45, 0, 5, 50], [-10, 0, 30, 40]])
    assert frame_edge.in_picture(boxes, 100, 100).tolist() == [True, False, True]


def test_the_box_from_landmarks_frames_the_face_as_yunet_does() -> None:
    points = face(3.0, (500.0, 400.0))
    x1, y1, x2, y2 = frame_edge.box_from_landmarks(points)
    assert (x2 - x1, y2 - y1) == pytest.approx((3 * 80.5, 3 * 108.9), rel=1e-6)
    crop = alignment_matrix(points)
    centre = crop[:2, :2] @ [(x1 + x2) / 2, (y1 + y2) / 2] + crop[:2, 2]
    np.testing.assert_allclose(centre, frame_edge.BOX_CENTRE_IN_CROP, atol=1e-6)


def test_a_face_wholly_in_the_picture_is_left_as_detected() -> None:
    points, box = face(2.0, (200.0, 200.0)), (120.0, 100.0, 280.0, 320.0)
    done = frame_edge.complete(points, box, 640, 480)
    assert done.seen.all() and done.box == box
    np.testing.assert_array_equal(done.landmarks, points)


# (face centre, picture size): the picture's edge runs through a 3x template face so that exactly these
# landmarks lie inside it (eyeLeft, eyeRight, nose, mouthLeft, mouthRight; "seen" needs 12 px of margin)
CUTS = {
    "left edge through the nose": ((10.0, 300.0), (1000, 1000), [1, 4]),
    "top edge below the nose": ((300.0, -40.0), (1000, 1000), [3, 4]),
    "bottom edge above the nose": ((300.0, 300.0), (1000, 330), [0, 1]),
    "right edge, a rolled face": ((990.0, 300.0), (1000, 1000), [0, 3]),
}


@pytest.mark.parametrize("cut", list(CUTS))
def test_a_cut_face_gets_its_unseen_landmarks_back_from_the_ones_in_the_picture(cut: str) -> None:
    """What YuNet reports beyond the edge (a mirror image, here garbage) is replaced by where the seen
    landmarks put the face's other points."""
    centre, (width, height), seen_points = CUTS[cut]
    truth = face(3.0, centre, 10.0 if "rolled" in cut else 0.0)
    reported = truth.copy()
    unseen = np.ones(5, bool)
    unseen[seen_points] = False
    reported[unseen] = [-5.0, -5.0]
    done = frame_edge.complete(reported, frame_edge.box_from_landmarks(truth), width, height)
    assert np.flatnonzero(done.seen).tolist() == seen_points
    np.testing.assert_allclose(done.landmarks, truth, atol=1e-6)
    np.testing.assert_allclose(done.box, frame_edge.box_from_landmarks(truth), atol=1e-6)
    assert frame_edge.visible_fraction(done.box, width, height) < 1.0


def test_one_seen_landmark_keeps_the_detection_s_scale_and_moves_it_onto_that_point() -> None:
    truth = face(3.0, (-38.0, 300.0))  # only eyeRight (x = 16) is in the picture
    reported = face(2.5, (-60.0, 290.0), 5.0)  # a face's shape, a mirror image's size and place
    reported[1] = truth[1]
    done = frame_edge.complete(reported, frame_edge.box_from_landmarks(truth), 1000, 1000)
    assert done.seen.tolist() == [False, True, False, False, False]
    np.testing.assert_allclose(done.landmarks[1], truth[1])
    shape = frame_edge.similarity(ARCFACE_TEMPLATE, reported)[:2, :2]
    np.testing.assert_allclose(frame_edge.similarity(ARCFACE_TEMPLATE, done.landmarks)[:2, :2], shape, atol=1e-9)


def test_a_face_cut_through_its_eye_line_is_left_as_detected() -> None:
    points, box = face(3.0, (300.0, 300.0)), (180.0, 150.0, 420.0, 480.0)
    height = int(points[:2, 1].min() - 5)  # every landmark below the picture's bottom edge
    done = frame_edge.complete(points, box, 640, height)
    assert not done.seen.any() and done.box == box


def test_the_similarity_fit_is_exact_for_two_points_and_never_mirrors() -> None:
    src = np.array([[0.0, 0.0], [10.0, 0.0]])
    dst = np.array([[5.0, 5.0], [5.0, 25.0]])  # scaled by 2, turned 90 degrees
    transform = frame_edge.similarity(src, dst)
    np.testing.assert_allclose(transform[:2, :2], [[0.0, -2.0], [2.0, 0.0]], atol=1e-9)
    np.testing.assert_allclose(src @ transform[:2, :2].T + transform[:2, 2], dst, atol=1e-9)
    assert np.linalg.det(transform[:2, :2]) > 0


def test_a_detection_that_mirrors_another_across_the_edge_is_a_mirror_image() -> None:
    close_up = [-35.0, -12.0, 629.0, 799.0]  # a face filling a 622 x 800 picture
    mirrored = [485.0, -61.0, 910.0, 846.0]  # the mirrored border's copy of it, a third in the picture
    cut = [-150.0, 300.0, 140.0, 700.0]  # a face the left edge cuts: its own mirror image is no detection
    found = frame_edge.mirror_images(np.array([close_up, mirrored, cut]), 622, 800)
    assert found.tolist() == [False, True, False]
    assert frame_edge.mirror_images(np.empty((0, 4)), 622, 800).tolist() == []


def test_only_a_weak_candidate_at_the_frame_s_edge_asks_for_the_border_pass() -> None:
    inside, at_edge, past_edge = [300.0, 300, 400, 420], [0.5, 300, 100, 420], [-40.0, 300, 60, 420]
    weak, strong = 0.6, 0.93
    for boxes, scores, wanted in [
        ([inside], [weak], False), ([at_edge], [strong], False), ([at_edge], [weak], True),
        ([past_edge], [weak], True), ([inside, at_edge], [weak, strong], False),
        ([[900.0, 0, 1024, 150]], [weak], True),
    ]:  # fmt: skip
        assert frame_edge.wants_border_pass(np.array(boxes), np.array(scores), 0.87, 1024, 768) is wanted
