"""One NMS over every pass's candidates, and one `iou` for every overlap test."""

from __future__ import annotations

import numpy as np

from facesearch.vision import nms
from facesearch.vision.nms import Candidates


def test_iou_of_a_box_with_itself_a_half_overlap_and_a_disjoint_box() -> None:
    box = np.array([0, 0, 10, 10.0])
    boxes = np.array([[0, 0, 10, 10.0], [5, 0, 15, 10.0], [20, 20, 30, 30.0]])
    np.testing.assert_allclose(nms.iou(box, boxes), [1.0, 50 / 150, 0.0])


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10.5]], dtype=np.float64)
    scores = np.array([0.8, 0.95, 0.7, 0.6])
    assert nms.nms(boxes, scores, 0.3).tolist() == [1, 2]
    assert nms.nms(boxes, scores, 0.99).tolist() == [1, 0, 2, 3]
    assert nms.nms(np.empty((0, 4)), np.empty(0), 0.3).tolist() == []
    groups = nms.nms_groups(boxes, scores, 0.3)
    assert [sorted(g.tolist()) for g in groups] == [[0, 1, 3], [2]] and groups[0][0] == 1


def test_nms_keeps_touching_but_not_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [10, 0, 20, 10]], dtype=np.float64)
    assert sorted(nms.nms(boxes, np.array([0.9, 0.8]), 0.0).tolist()) == [0, 1]


def candidates(boxes: list[list[float]], scores: list[float], widths: list[float]) -> Candidates:
    landmarks = np.stack([np.full((5, 2), float(i)) for i in range(len(boxes))])
    return Candidates(np.array(boxes, np.float64), np.array(scores), landmarks, np.array(widths, np.float64))


def test_merge_takes_landmarks_from_the_pass_that_saw_the_face_largest_and_keeps_the_best_score() -> None:
    found = candidates([[100, 100, 300, 340], [102, 98, 298, 344], [600, 100, 700, 220]],
                       [0.93, 0.92, 0.90], [60.0, 200.0, 40.0])  # fmt: skip
    merged = nms.merge(found, 0.3, confident=0.87)
    assert len(merged) == 2
    assert merged.scores.tolist() == [0.93, 0.90]
    assert merged.landmarks[0, 0, 0] == 1.0  # from the 200 px detection
    assert merged.boxes[0].tolist() == [102, 98, 298, 344]


def test_merge_ignores_unconfident_detections_when_choosing_landmarks() -> None:
    found = candidates([[100, 100, 300, 340], [90, 90, 320, 360]], [0.93, 0.6], [60.0, 230.0])
    merged = nms.merge(found, 0.3, confident=0.87)
    assert len(merged) == 1 and merged.landmarks[0, 0, 0] == 0.0 and merged.scores[0] == 0.93


def test_best_match_needs_overlap() -> None:
    boxes = np.array([[0, 0, 10, 10], [50, 50, 70, 70]], np.float64)
    assert nms.best_match(np.array([51, 49, 69, 71.0]), boxes, 0.3) == 1
    assert nms.best_match(np.array([200, 200, 210, 210.0]), boxes, 0.3) is None
    assert nms.best_match(np.array([0, 0, 1, 1.0]), np.empty((0, 4)), 0.3) is None


