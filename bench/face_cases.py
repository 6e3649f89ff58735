"""Test images made from ../shared photos for the detection and speed benches (in memory, never saved).

Every case carries the box where the face must be found (original-image px of the case image). The
reference face of a London photo is the largest face the *baseline* detector finds in the full photo,
so the cases do not depend on the detector under test.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

Box = tuple[float, float, float, float]  # x1, y1, x2, y2


@dataclass(frozen=True)
class Case:
    kind: str  # table row group, e.g. "close-up"
    variant: str  # e.g. "margin 10 %, 800 px"
    source: str  # photo file name
    pixels: np.ndarray
    label: Box  # where the face is


def london_photos(shared: Path, step: int = 1) -> list[Path]:
    """neutral_front, smiling_front and canada: 244 one-face studio photos (CC-BY 4.0)."""
    london = shared / "faces" / "london"
    paths = [
        *sorted((london / "neutral_front").glob("*.jpg")),
        *sorted((london / "smiling_front").glob("*.jpg")),
        *sorted((london / "canada").glob("*.jpg")),
    ]
    return paths[::step]


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
    return np.asarray(image), (*turned.min(axis=0), *turned.max(axis=0))  # type: ignore[return-value]


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


@dataclass(frozen=True)
class LabelledFace:
    box: Box
    yaw: float | None  # from the 68-point landmarks when the file has them (degrees, |.| = turn)


def group_labels(groups: Path) -> dict[str, list[LabelledFace]]:
    """Face boxes of ../shared/faces/groups (dlib imglab XML), with a yaw estimated from the
    *_with_face_landmarks.xml 68-point landmarks (dlib's predictor) where present."""
    from facesearch.vision.pose import estimate_pose

    points: dict[tuple[str, int, int], np.ndarray] = {}
    for name in ("training_with_face_landmarks.xml", "testing_with_face_landmarks.xml"):
        path = groups / name
        if not path.is_file():
            continue
        for image in ET.parse(path).getroot().iter("image"):
            for box in image.iter("box"):
                parts = {int(p.get("name", "0")): (float(p.get("x", 0)), float(p.get("y", 0)))
                         for p in box.iter("part")}  # fmt: skip
                if len(parts) == 68:
                    p = np.array([parts[i] for i in range(68)])
                    five = np.array([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])
                    key = (image.get("file", ""), int(box.get("left", 0)), int(box.get("top", 0)))
                    points[key] = five
    labels: dict[str, list[LabelledFace]] = {}
    for name in ("training.xml", "testing.xml"):
        for image in ET.parse(groups / name).getroot().iter("image"):
            file = image.get("file", "")
            faces = labels.setdefault(file, [])
            for box in image.iter("box"):
                if box.get("ignore") == "1":
                    continue
                left, top = float(box.get("left", 0)), float(box.get("top", 0))
                width, height = float(box.get("width", 0)), float(box.get("height", 0))
                five = points.get((file, int(left), int(top)))
                yaw = None if five is None else estimate_pose(five).yaw
                faces.append(LabelledFace((left, top, left + width, top + height), yaw))
    return labels


def matches(label: Box, box: Box) -> bool:
    """A detection finds a label when each box's centre lies inside the other (label and detector
    boxes frame a face differently, so IoU would mostly measure box style)."""
    lx, ly = (label[0] + label[2]) / 2, (label[1] + label[3]) / 2
    x1, y1, x2, y2 = box
    fx, fy = (x1 + x2) / 2, (y1 + y2) / 2
    return label[0] <= fx <= label[2] and label[1] <= fy <= label[3] and x1 <= lx <= x2 and y1 <= ly <= y2


def clip(box: Box, width: int, height: int) -> Box:
    return (max(0.0, box[0]), max(0.0, box[1]), min(float(width), box[2]), min(float(height), box[3]))


def photos(folder: Path) -> Iterator[Path]:
    yield from sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
