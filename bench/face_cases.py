"""Test images made from ../shared photos for bench/detection.py (in memory, never saved), and their scoring.

Every case carries the box where the face must be found (original-image px of the case image). The
reference face of a London photo is the largest face the "before" detector finds in the full photo, so the
cases do not depend on the detector under test. A face is found when a detection's centre lies in the label
box and the label's centre in the detection box (`matches`); `Tally` counts the finds per table row.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from PIL import Image

from bench.common import tables
from bench.common.revision import Face
from bench.common.sets import Box


def resize(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.asarray(Image.fromarray(pixels).resize((width, height), Image.Resampling.BILINEAR))


def close_up(
    pixels: np.ndarray, box: Box, margin: float, side: int, stretch: bool = False
) -> tuple[np.ndarray, Box]:
    """The face box grown by `margin` of its size on every side (kept inside the photo), saved with its
    longer side at `side` px; with `stretch`, saved at side x side as issue 8 describes a user doing
    with a DetectFaces box (a box taller than wide then comes out stretched sideways)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    height, width = pixels.shape[:2]
    left, top = max(0, round(x1 - margin * w)), max(0, round(y1 - margin * h))
    right, bottom = min(width, round(x2 + margin * w)), min(height, round(y2 + margin * h))
    crop = pixels[top:bottom, left:right]
    if stretch:
        sx, sy = side / crop.shape[1], side / crop.shape[0]
    else:
        sx = sy = side / max(crop.shape[:2])
    out = resize(crop, max(1, round(crop.shape[1] * sx)), max(1, round(crop.shape[0] * sy)))
    label = ((x1 - left) * sx, (y1 - top) * sy, (x2 - left) * sx, (y2 - top) * sy)
    return out, label


def cut_by_frame(pixels: np.ndarray, box: Box, side: str, visible: float) -> tuple[np.ndarray, Box]:
    """The photo cut so only `visible` of the face box remains, on the `side` given; the label is the
    visible part of the box."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    if side == "right":  # the frame's right edge cuts the face
        end = round(x1 + visible * w)
        return pixels[:, :end], (x1, y1, end, y2)
    if side == "left":
        start = round(x2 - visible * w)
        return pixels[:, start:], (0.0, y1, x2 - start, y2)
    if side == "bottom":
        end = round(y1 + visible * h)
        return pixels[:end], (x1, y1, x2, end)
    start = round(y2 - visible * h)  # top
    return pixels[start:], (x1, 0.0, x2, y2 - start)


def rolled(pixels: np.ndarray, box: Box, degrees: float) -> tuple[np.ndarray, Box]:
    """The photo rotated about the face centre (counter-clockwise for positive degrees, same size,
    black corners); the label is the axis-aligned box of the rotated face box."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    image = Image.fromarray(pixels).rotate(degrees, Image.Resampling.BILINEAR, center=(cx, cy))
    angle = math.radians(degrees)
    corners = np.array([[x1, y1], [x2, y1], [x1, y2], [x2, y2]]) - [cx, cy]
    # PIL rotates counter-clockwise on screen (y down): x' = x cos + y sin, y' = -x sin + y cos
    rotation = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    turned = corners @ rotation.T + [cx, cy]
    (x1, y1), (x2, y2) = turned.min(axis=0), turned.max(axis=0)
    return np.asarray(image), (float(x1), float(y1), float(x2), float(y2))


def occluded(pixels: np.ndarray, box: Box, part: str, patch: np.ndarray) -> np.ndarray:
    """The photo with `part` of the face box covered by `patch` (another photo's texture, resized): "mouth"
    (the lower 40 %, a hand or a phone), "eyes" (a band over the eyes, 22 % of the box from 28 %), "side"
    (the left 45 %, another person's head in front)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    region = {"mouth": (x1, y1 + 0.6 * h, x2, y2), "eyes": (x1 - 0.05 * w, y1 + 0.28 * h, x2 + 0.05 * w, y1 + 0.5 * h),
              "side": (x1 - 0.2 * w, y1 - 0.1 * h, x1 + 0.45 * w, y2 + 0.2 * h)}[part]  # fmt: skip
    height, width = pixels.shape[:2]
    left, top = max(0, round(region[0])), max(0, round(region[1]))
    right, bottom = min(width, round(region[2])), min(height, round(region[3]))
    out = pixels.copy()
    out[top:bottom, left:right] = resize(patch, right - left, bottom - top)
    return out


def cut_through(pixels: np.ndarray, box: Box, visible: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The photo cut so that `visible` of the face box stays in it, by the frame edge nearest the face (a
    face at the edge of a group photo, a selfie's arm); also the (left, top) where the cut photo starts."""
    x1, y1, x2, y2 = box
    height, width = pixels.shape[:2]
    gaps = {"left": x1, "right": width - x2, "top": y1, "bottom": height - y2}
    side = min(gaps, key=lambda key: gaps[key])
    image, _ = cut_by_frame(pixels, box, side, visible)
    left = pixels.shape[1] - image.shape[1] if side == "left" else 0
    top = pixels.shape[0] - image.shape[0] if side == "top" else 0
    return image, (left, top)


def crowd(people: list[tuple[np.ndarray, Box]], size: tuple[int, int], edge_visible: float, scale: float
          ) -> tuple[np.ndarray, list[Box]]:
    """A group selfie: `people` (photo, face box) cut out as head-and-shoulder silhouettes (an ellipse round
    the head, the shoulders below it) side by side across `size`, each later one in front of the one before
    (hair and shoulders over a neighbour's cheek), the first and last faces centred so that `edge_visible`
    of them stays in the picture; the labels are the face boxes (running past the frame for the cut ones)."""
    width, height = size
    canvas = np.full((height, width, 3), (90, 100, 110), np.uint8)
    labels = []
    for k, (pixels, (x1, y1, x2, y2)) in enumerate(people):
        w, h = (x2 - x1) * scale, (y2 - y1) * scale
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        crop_box = (cx - 1.3 * (x2 - x1), cy - 0.9 * (y2 - y1), cx + 1.3 * (x2 - x1), cy + 1.6 * (y2 - y1))
        region = [max(0, round(v)) for v in crop_box]
        crop = pixels[region[1] : region[3], region[0] : region[2]]
        small = resize(crop, max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        fx = {0: -(0.5 - edge_visible) * w, len(people) - 1: width + (0.5 - edge_visible) * w}.get(
            k, k * width / (len(people) - 1))
        fy = 0.45 * height
        left, top = round(fx - (cx - region[0]) * scale), round(fy - (cy - region[1]) * scale)
        rows, cols = np.mgrid[0 : small.shape[0], 0 : small.shape[1]]
        u, v = (cols + left - fx) / (0.62 * w), (rows + top - fy) / (0.7 * h)
        shoulders = (rows + top - fy > 0.55 * h) & (np.abs(cols + left - fx) < 1.25 * w)
        mask = (u**2 + v**2 <= 1) | shoulders
        a, b = max(0, left), max(0, top)
        c, d = min(width, left + small.shape[1]), min(height, top + small.shape[0])
        if c > a and d > b:
            part = mask[b - top : d - top, a - left : c - left]
            canvas[b:d, a:c][part] = small[b - top : d - top, a - left : c - left][part]
        labels.append((fx - w / 2, fy - h / 2, fx + w / 2, fy + h / 2))
    return canvas, labels


def small_faces_scene(
    faces: list[tuple[np.ndarray, Box]], background: np.ndarray, size: tuple[int, int], face_px: float
) -> tuple[np.ndarray, list[Box]]:
    """Photos scaled so their face is `face_px` wide, pasted in a grid on a `size` background: the
    smallest faces Rekognition promises to find, at that image size."""
    width, height = size
    canvas = resize(background, width, height).copy()
    cols = max(1, int(math.sqrt(len(faces) * width / height)))
    rows = math.ceil(len(faces) / cols)
    labels = []
    for k, (pixels, (x1, y1, x2, y2)) in enumerate(faces):
        scale = face_px / (x2 - x1)
        small = resize(pixels, max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)))
        cell_w, cell_h = width // cols, height // rows
        ox = (k % cols) * cell_w + (cell_w - small.shape[1]) // 2
        oy = (k // cols) * cell_h + (cell_h - small.shape[0]) // 2
        ox, oy = max(0, ox), max(0, oy)
        part = small[: height - oy, : width - ox]
        canvas[oy : oy + part.shape[0], ox : ox + part.shape[1]] = part
        labels.append((ox + x1 * scale, oy + y1 * scale, ox + x2 * scale, oy + y2 * scale))
    return canvas, labels


def matches(label: Box, box: Box) -> bool:
    """A detection finds a label when each box's centre lies inside the other (label and detector
    boxes frame a face differently, so IoU would mostly measure box style)."""
    lx, ly = (label[0] + label[2]) / 2, (label[1] + label[3]) / 2
    x1, y1, x2, y2 = box
    fx, fy = (x1 + x2) / 2, (y1 + y2) / 2
    return label[0] <= fx <= label[2] and label[1] <= fy <= label[3] and x1 <= lx <= x2 and y1 <= ly <= y2


def clip(box: Box, width: int, height: int) -> Box:
    return (max(0.0, box[0]), max(0.0, box[1]), min(float(width), box[2]), min(float(height), box[3]))


def found_face(faces: Sequence[Face], label: Box, width: int, height: int) -> Face | None:
    """The first (largest) face that matches the label, its box clipped to the image."""
    return next((face for face in faces if matches(label, clip(face.box, width, height))), None)


class Tally:
    """found / total per (section, row, contender), plus free-form extra columns."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        self.extra: dict[tuple[str, str, str], list[float]] = defaultdict(list)

    def add(self, section: str, row: str, who: str, hit: bool) -> None:
        cell = self.found[(section, row, who)]
        cell[0] += int(hit)
        cell[1] += 1

    def note(self, section: str, row: str, column: str, value: float) -> None:
        self.extra[(section, row, column)].append(value)

    def table(self, section: str, names: list[str], extra: Iterable[tuple[str, Callable[[list[float]], str]]] = ()
              ) -> str:
        extra = list(extra)
        body = []
        for row in dict.fromkeys(r for s, r, _ in self.found if s == section):
            cells = [row, str(self.found[(section, row, names[0])][1])]
            for who in names:
                hit, total = self.found[(section, row, who)]
                cells.append(f"{hit}/{total} = {100 * hit / max(total, 1):.1f} %")
            for column, fmt in extra:
                values = self.extra.get((section, row, column), [])
                cells.append(fmt(values) if values else "-")
            body.append(cells)
        return tables.boxed("", [section, "n", *names, *(c for c, _ in extra)], body)
