"""Candidate faces from the detector's passes, and how one NMS merges them: one `iou` for every overlap test.

Pure geometry on (n, 4) x1, y1, x2, y2 boxes in original-image pixels; pass_plan.py says which passes run,
detector.py runs them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one box with each of `boxes`."""
    box = np.asarray(box, np.float64)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    iw = np.maximum(0.0, np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]))
    ih = np.maximum(0.0, np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]))
    inter = iw * ih
    area = max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)
    areas = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    overlap: np.ndarray = inter / np.maximum(area + areas - inter, 1e-9)
    return overlap


@dataclass(frozen=True)
class Candidates:
    """Faces found by one or more passes, in original-image px."""

    boxes: np.ndarray  # (n, 4) x1, y1, x2, y2
    scores: np.ndarray  # (n,)
    landmarks: np.ndarray  # (n, 5, 2)
    widths_in_pass: np.ndarray  # (n,) box width in the pass that found it

    @staticmethod
    def empty() -> Candidates:
        return Candidates(np.empty((0, 4)), np.empty(0), np.empty((0, 5, 2)), np.empty(0))

    def __len__(self) -> int:
        return len(self.scores)

    def take(self, index: np.ndarray) -> Candidates:
        return Candidates(
            self.boxes[index], self.scores[index], self.landmarks[index], self.widths_in_pass[index]
        )

    @staticmethod
    def concat(parts: list[Candidates]) -> Candidates:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Candidates.empty()
        return Candidates(
            np.concatenate([p.boxes for p in parts]),
            np.concatenate([p.scores for p in parts]),
            np.concatenate([p.landmarks for p in parts]),
            np.concatenate([p.widths_in_pass for p in parts]),
        )


def nms_groups(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[np.ndarray]:
    """Greedy non-maximum suppression, keeping what each kept box suppressed: one index array per
    kept box (the kept box first), in descending score order of the kept boxes."""
    if len(boxes) == 0:
        return []
    boxes = np.asarray(boxes, np.float64)
    order = np.argsort(-np.asarray(scores), kind="stable")
    groups: list[np.ndarray] = []
    while order.size:
        i = int(order[0])
        rest = order[1:]
        overlap = iou(boxes[i], boxes[rest])
        groups.append(np.concatenate([[i], rest[overlap > iou_threshold]]).astype(np.int64))
        order = rest[overlap <= iou_threshold]
    return groups


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices in descending score order."""
    return np.asarray([group[0] for group in nms_groups(boxes, scores, iou_threshold)], dtype=np.int64)


def merge(candidates: Candidates, iou_threshold: float, confident: float) -> Candidates:
    """One NMS over the detections of every pass. Each face keeps its best score, but its box and
    landmarks come from the pass that saw it largest among its confident detections (score >=
    `confident`, or the best one if none is): YuNet's landmarks sharpen with the face's size in the
    input (a 30-degree roll read as 2 degrees at 78 px, as 22 at 295 px), while its scores from
    different scales are not comparable to the third decimal."""
    groups = nms_groups(candidates.boxes, candidates.scores, iou_threshold)
    if not groups:
        return Candidates.empty()
    chosen = []
    for group in groups:
        scores = candidates.scores[group]
        eligible = group[scores >= min(confident, float(scores.max()))]
        chosen.append(eligible[np.argmax(candidates.widths_in_pass[eligible])])
    best = np.array([candidates.scores[group].max() for group in groups])
    merged = candidates.take(np.asarray(chosen, dtype=np.int64))
    return Candidates(merged.boxes, best, merged.landmarks, merged.widths_in_pass)


def best_match(box: np.ndarray, boxes: np.ndarray, min_iou: float) -> int | None:
    """Index of the box in `boxes` overlapping `box` most (IoU >= min_iou), or None."""
    if len(boxes) == 0:
        return None
    overlap = iou(box, boxes)
    best = int(np.argmax(overlap))
    return best if overlap[best] >= min_iou else None
