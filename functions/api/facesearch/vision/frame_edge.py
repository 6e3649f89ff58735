"""Faces the frame cuts: how much of a face is in the picture, and where its unseen landmarks and box are.

A detector pass with a mirrored border (canvas.py) finds a face the frame cuts as a symmetric face centred
on the image edge: its landmarks inside the picture are the real ones, those beyond the edge (or on it) are
mirror images. `complete` keeps the landmarks that lie inside the picture and places the others where a
frontal face with those landmarks has them (a least-squares similarity fit of the ArcFace template, the
shape every face is aligned to), then derives the face box from the completed landmarks. A face with one
landmark in the picture keeps the detection's scale and turn and is moved onto it; with none (a face cut
through its eye line shows only a forehead) the detection stays as YuNet saw it. A mirror image of a face
inside the picture lies mostly beyond the edge (`in_picture` drops it), or mirrors a detection that lies
further inside (`mirror_images` finds it).

Everything here is pure geometry in original-image pixels (continuous: pixel (i, j) covers [i, i+1)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facesearch.vision.aligner import ARCFACE_TEMPLATE, umeyama
from facesearch.vision.nms import iou

# YuNet's face box in the 112 x 112 ArcFace crop: centre and size, means over the 244 London studio faces
# (std 1.6 / 1.9 px and 2.4 / 3.0 px; LFW's medians differ by under 2.5 px).
BOX_CENTRE_IN_CROP = (56.3, 64.4)
BOX_SIZE_IN_CROP = (80.5, 108.9)
# A landmark counts as seen when it lies this far inside the picture (a share of the face box's height,
# ~0.1 of the eye-to-mouth distance): a mirrored face's nose sits on the edge itself, and is the mirror's.
SEEN_MARGIN = 0.04
# Faces less visible than this are dropped: nothing real of them is left to describe.
MIN_VISIBLE = 0.2
# A face box reaching this close to the edge (a share of its width) may be cut by the frame.
EDGE_MARGIN = 0.02


@dataclass(frozen=True)
class Completed:
    landmarks: np.ndarray  # (5, 2), seen ones unchanged
    box: tuple[float, float, float, float]
    seen: np.ndarray  # (5,) bool: the landmark lies inside the picture


def visible_fraction(box: tuple[float, float, float, float], width: int, height: int) -> float:
    """The share of the box's area inside the picture (0-1)."""
    x1, y1, x2, y2 = box
    area = max(x2 - x1, 0.0) * max(y2 - y1, 0.0)
    if area <= 0:
        return 0.0
    inside = max(min(x2, width) - max(x1, 0.0), 0.0) * max(min(y2, height) - max(y1, 0.0), 0.0)
    return float(inside / area)


def in_picture(boxes: np.ndarray, width: int, height: int, least: float = MIN_VISIBLE) -> np.ndarray:
    """(n,) bool: at least `least` of the box lies in the picture (a box in a mirrored border is a mirror
    image of something inside)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.array([visible_fraction((b[0], b[1], b[2], b[3]), width, height) >= least for b in boxes], bool)


def reflections(box: np.ndarray, width: int, height: int) -> list[np.ndarray]:
    """The box mirrored at each edge of the picture it crosses."""
    x1, y1, x2, y2 = (float(v) for v in box)
    mirrored = []
    if x1 < 0:
        mirrored.append([-x2, y1, -x1, y2])
    if x2 > width:
        mirrored.append([2 * width - x2, y1, 2 * width - x1, y2])
    if y1 < 0:
        mirrored.append([x1, -y2, x2, -y1])
    if y2 > height:
        mirrored.append([x1, 2 * height - y2, x2, 2 * height - y1])
    return [np.asarray(b) for b in mirrored]


def mirror_images(boxes: np.ndarray, width: int, height: int, min_iou: float = 0.3) -> np.ndarray:
    """(n,) bool: the box crosses an edge, and mirrored at that edge it covers another detection that lies
    further inside the picture: it is that detection's mirror image in a mirrored border."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    visible = np.array([visible_fraction((b[0], b[1], b[2], b[3]), width, height) for b in boxes])
    found = np.zeros(len(boxes), bool)
    for i, box in enumerate(boxes):
        others = np.flatnonzero(visible > visible[i])
        found[i] = any(bool(np.any(iou(m, boxes[others]) >= min_iou)) for m in reflections(box, width, height))
    return found


def reaches_edge(boxes: np.ndarray, width: int, height: int, margin: float = EDGE_MARGIN) -> np.ndarray:
    """(n,) bool: the box comes within `margin` of its width of the picture's edge, or crosses it."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    pad = margin * (boxes[:, 2] - boxes[:, 0])
    return (
        (boxes[:, 0] < pad) | (boxes[:, 1] < pad) | (boxes[:, 2] > width - pad) | (boxes[:, 3] > height - pad)
    )


def seen_landmarks(
    landmarks: np.ndarray, box: tuple[float, float, float, float], width: int, height: int
) -> np.ndarray:
    """(5,) bool: each landmark lies inside the picture by at least SEEN_MARGIN of the box's height."""
    points = np.asarray(landmarks, np.float64).reshape(5, 2)
    margin = SEEN_MARGIN * max(box[3] - box[1], 0.0)
    x, y = points[:, 0], points[:, 1]
    seen: np.ndarray = (x >= margin) & (y >= margin) & (x <= width - margin) & (y <= height - margin)
    return seen


def box_from_landmarks(landmarks: np.ndarray) -> tuple[float, float, float, float]:
    """The YuNet-style box of a face with these landmarks (its alignment's inverse, level)."""
    forward = umeyama(np.asarray(landmarks, np.float64).reshape(5, 2), ARCFACE_TEMPLATE + 0.5)
    inverse = np.linalg.inv(forward)
    centre = inverse[:2, :2] @ np.asarray(BOX_CENTRE_IN_CROP) + inverse[:2, 2]
    scale = float(np.sqrt(abs(np.linalg.det(inverse[:2, :2]))))
    half_w, half_h = BOX_SIZE_IN_CROP[0] * scale / 2, BOX_SIZE_IN_CROP[1] * scale / 2
    return (float(centre[0] - half_w), float(centre[1] - half_h), float(centre[0] + half_w),
            float(centre[1] + half_h))  # fmt: skip


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 least-squares similarity (scale, rotation, translation; never a reflection) taking src to dst,
    exact for two points (aligner.umeyama may reflect a two-point fit, whose covariance is singular)."""
    src, dst = np.asarray(src, np.float64).reshape(-1, 2), np.asarray(dst, np.float64).reshape(-1, 2)
    rows = np.zeros((2 * len(src), 4))
    rows[0::2] = np.column_stack([src[:, 0], -src[:, 1], np.ones(len(src)), np.zeros(len(src))])
    rows[1::2] = np.column_stack([src[:, 1], src[:, 0], np.zeros(len(src)), np.ones(len(src))])
    (a, b, tx, ty), *_ = np.linalg.lstsq(rows, dst.reshape(-1), rcond=None)
    return np.array([[a, -b, tx], [b, a, ty], [0.0, 0.0, 1.0]])


def complete(
    landmarks: np.ndarray, box: tuple[float, float, float, float], width: int, height: int
) -> Completed:
    """The face with its unseen landmarks and its box completed (see the module's docstring); the
    detection unchanged when all five landmarks are seen, or none."""
    points = np.asarray(landmarks, np.float64).reshape(5, 2)
    seen = seen_landmarks(points, box, width, height)
    if seen.all():
        return Completed(points, box, seen)
    if not seen.any():
        return Completed(points, box, seen)
    template = ARCFACE_TEMPLATE + 0.5
    if seen.sum() >= 2:
        to_image = similarity(template[seen], points[seen])
    else:  # one point: the detection's own scale and turn, moved onto the point it saw
        to_image = similarity(template, points)
        k = int(np.flatnonzero(seen)[0])
        to_image[:2, 2] += points[k] - (to_image[:2, :2] @ template[k] + to_image[:2, 2])
    predicted = template @ to_image[:2, :2].T + to_image[:2, 2]
    completed = np.where(seen[:, None], points, predicted)
    return Completed(completed, box_from_landmarks(completed), seen)


def wants_border_pass(boxes: np.ndarray, scores: np.ndarray, threshold: float, width: int, height: int) -> bool:
    """Whether a candidate too weak to be a face reaches the frame's edge: maybe a face the frame cuts, for
    pass_plan.border_passes to look at."""
    weak = np.asarray(scores) < threshold
    return bool(np.any(weak & reaches_edge(boxes, width, height)))
