"""Which scaled copies of an image the face detector looks at, and how their detections become faces.

YuNet finds a face reliably only when its box is about 24 to 320 px wide in the network input
(bench/detection.py "face size sweep": 100 % of London faces at 24-384 px, 61 % at 16 px, 8 % at
512 px). One 640 x 640 letterbox therefore misses every face wider than half the image (close-ups,
selfies, ID photos) and faces under ~1/27 of the longer side. So each image gets:

- a *main* pass, scaled so the smallest face Rekognition promises to find (40 px in a 1920 x 1080
  image, proportionally larger in bigger images) is MAIN_MIN_FACE_PX wide in the input, never upscaled,
  with an edge-replicated border (a mirrored one moved the landmarks of every LFW face and cost 0.3
  points of LFW 5-fold accuracy, 99.40 -> 99.10 %);
- an *overview* pass, only when the main pass cannot hold a face as big as the image: the whole image
  shrunk to OVERVIEW_SIDE px, so a frame-filling face is ~OVERVIEW_SIDE px wide, mirrored around by
  OVERVIEW_BORDER of its side (room for the part of a big face the frame cut off);
- *border* passes, only when a weak candidate reaches the frame's edge (a face the frame may cut): the
  whole image at BORDER_FACTOR x the main scale, mirrored around (canvas.py) by BORDER_PAD of its longer
  side (room for a cut face's missing part), and at the main scale too when that is full resolution
  (half would shrink small photos' faces below YuNet's range); only faces that reach the edge count;
- a *fine* pass at twice the main scale, only when the main pass saw faces near its lower limit (a
  crowd, or faces at Rekognition's minimum): one pass instead of one refine pass per small face;
- a *refine* pass around each candidate that was weak or small in its pass: a crop where the face is
  ~REFINE_FACE_PX wide (never upscaled), which confirms or rejects it and gives sharper landmarks;
- an *upright* pass for each face whose landmarks say it is rolled: the face turned level, so its
  landmarks (and the alignment built on them) are not pulled towards upright.

Each pass keeps only faces in the size range it sees well (`Placement.valid`), and one NMS across
passes merges the rest (nms.py). Everything here is pure geometry; detector.py runs the passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from facesearch.vision.nms import Candidates

REKOGNITION_MIN_FACE_RATIO = 40 / 1080  # 40 px on the 1080 px side of a 1920 x 1080 image
STRIDE = 32  # YuNet's coarsest stride: every input side must be a multiple of it
RELIABLE_MIN_PX = 24  # smallest face (box width, input px) found in every London photo
RELIABLE_MAX_PX = 320  # largest face found with a clear margin (384 still 100 %, 448 90 %)
MAIN_MIN_FACE_PX = 16  # where the smallest promised face lands in the main pass (then refined)
MAIN_BORDER_PX = 16  # edge-replicated border (>= 32 px left and top, for the grid phase): see plan_passes
MAIN_MAX_PIXELS = 1024 * 1024  # cap on the main pass (a panorama would otherwise ask for more)
# A candidate this small in the main pass hints at a crowd of small faces: a *fine* pass at twice the
# main scale looks for them at once, instead of one refine pass per face.
FINE_TRIGGER_PX = 2 * MAIN_MIN_FACE_PX
FINE_TRIGGER_SCORE = 0.6
FINE_FACTOR = 2.0
FINE_MAX_PIXELS = 1536 * 1024
OVERVIEW_SIDE = 160  # the overview's longer side: a frame-filling face becomes ~160 px
OVERVIEW_BORDER = 0.25  # of OVERVIEW_SIDE, mirrored: 40 px
# bench/detection.py "cut by the frame": 0.5 and 0.3 beat 0.35-1.0 and 0.3-0.5 on London and LFW cuts
BORDER_FACTOR = 0.5
BORDER_PAD = 0.3
OVERVIEW_OVERLAP = 0.75  # the overview also answers for faces down to 75 % of the main pass's largest
REFINE_FACE_PX = 64  # a refined face is ~64 px wide (sharp landmarks, in YuNet's best range)
REFINE_CONTEXT = 2.5  # the refine crop is this many face widths across
# YuNet's landmarks on a rolled face lean towards upright, the more so the smaller the face (London
# photos rolled 30 degrees: Roll off by 19 degrees at a 100 px face, 7.5 at 210 px). A face whose
# landmarks say it is rolled at least UPRIGHT_MIN_ROLL is looked at again turned upright, ~96 px wide,
# up to UPRIGHT_ROUNDS times (each round leaves about a third of the error; bench/detection.py "roll").
UPRIGHT_MIN_ROLL = 8.0
UPRIGHT_ROUNDS = 2
UPRIGHT_FACE_PX = 96
_ALIGNED_FACE_PX = 80.0  # a YuNet face box is ~80 px wide in the 112 x 112 ArcFace crop


def round_up(value: float, multiple: int = STRIDE) -> int:
    return max(multiple, math.ceil(value / multiple - 1e-9) * multiple)


def min_face_size(width: int, height: int) -> float:
    """Rekognition's smallest detectable face in px: 40 px on the shorter side of 1920 x 1080, and
    proportionally larger (or smaller) with the shorter side."""
    return REKOGNITION_MIN_FACE_RATIO * min(width, height)


@dataclass(frozen=True)
class Placement:
    """A region of the original image resized into a network input of `canvas` px.

    canvas = (original - region origin) * scale + offset, per axis; pixel (i, j) covers [i, i+1).
    Faces whose box width in the canvas lies outside `valid` are left to another pass.
    """

    region: tuple[int, int, int, int]  # x0, y0, x1, y1 in original pixels, inside the image
    resized: tuple[int, int]  # width, height the region is resized to
    offset: tuple[int, int]  # where the resized region's top-left corner sits in the canvas
    canvas: tuple[int, int]  # width, height, multiples of STRIDE
    border: str = "black"  # "black", "edge" (replicate the region's outer pixels) or "mirror" (canvas.py)
    valid: tuple[float, float] = (0.0, math.inf)  # face box widths (canvas px) this pass answers for

    @property
    def scale(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.region
        return self.resized[0] / (x1 - x0), self.resized[1] / (y1 - y0)

    def _affine(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        repeat = values.shape[-1] // 2
        sx, sy = self.scale
        scale = np.tile([sx, sy], repeat)
        origin = np.tile(self.region[:2], repeat).astype(np.float64)
        offset = np.tile(self.offset, repeat).astype(np.float64)
        return scale, origin, offset

    def to_original(self, values: np.ndarray) -> np.ndarray:
        """Canvas coordinates (last axis x, y, x, y, ...) -> original-image coordinates."""
        scale, origin, offset = self._affine(values)
        mapped: np.ndarray = (np.asarray(values, np.float64) - offset) / scale + origin
        return mapped

    def to_canvas(self, values: np.ndarray) -> np.ndarray:
        scale, origin, offset = self._affine(values)
        mapped: np.ndarray = (np.asarray(values, np.float64) - origin) * scale + offset
        return mapped


def whole_image(
    width: int, height: int, scale: float, border_px: int, border: str, valid: tuple[float, float]
) -> Placement:
    """The full image at `scale` with at least `border_px` around it, its top-left corner on a multiple
    of STRIDE: YuNet's landmarks shift with the image's phase against its 32 px grid (an LFW face read
    as rolled -0.9 degrees at offset 0, 32 or 64 and 7.4 at offset 3), and offset 0 is what the
    single-letterbox pipeline (and the accuracy measured with it) used."""
    resized = (max(1, round(width * scale)), max(1, round(height * scale)))
    start = round_up(border_px) if border_px > 0 else 0
    canvas = (round_up(start + resized[0] + border_px), round_up(start + resized[1] + border_px))
    return Placement((0, 0, width, height), resized, (start, start), canvas, border, valid)


def main_scale(width: int, height: int) -> float:
    """Scale of the main pass: the smallest promised face -> MAIN_MIN_FACE_PX, never above 1, and the
    pass no bigger than MAIN_MAX_PIXELS."""
    by_face = MAIN_MIN_FACE_PX / max(min_face_size(width, height), 1e-9)
    by_cost = math.sqrt(MAIN_MAX_PIXELS / (width * height))
    return min(1.0, by_face, by_cost)


def plan_passes(width: int, height: int) -> tuple[Placement, ...]:
    """The passes every image of this size gets: main, plus the overview when the main pass is too
    big to hold a face that fills the image."""
    scale = main_scale(width, height)
    needs_overview = max(width, height) * scale > RELIABLE_MAX_PX
    main = whole_image(
        width, height, scale, MAIN_BORDER_PX, "edge",
        (0.0, RELIABLE_MAX_PX if needs_overview else math.inf),
    )  # fmt: skip
    if not needs_overview:
        return (main,)
    overview_scale = OVERVIEW_SIDE / max(width, height)
    # the overview answers only for faces the main pass cannot hold (with some overlap): its small faces
    # have coarser landmarks than the same faces in the main pass
    smallest = max(RELIABLE_MIN_PX, OVERVIEW_OVERLAP * RELIABLE_MAX_PX / scale * overview_scale)
    overview = whole_image(
        width, height, overview_scale, round(OVERVIEW_BORDER * OVERVIEW_SIDE), "mirror", (smallest, math.inf)
    )
    return (main, overview)


def overview_needed(overview: Placement, faces: np.ndarray, width: int, height: int) -> bool:
    """Whether a face only the overview can find may still be in the image, given the confident faces
    the main pass found (boxes, original px). Such a face is at least `smallest` wide (and, being a face,
    about as tall) and does not cover another face's centre, so it needs that much room beside or
    above/below every found face: a one-face portrait leaves none, and skips the overview."""
    smallest = overview.valid[0] / overview.scale[0]
    for x1, y1, x2, y2 in np.asarray(faces, np.float64).reshape(-1, 4):
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        if max(cx, width - cx) < smallest and max(cy, height - cy) < smallest:
            return False
    return True


def fine_pass(width: int, height: int, main: Placement) -> Placement | None:
    """The whole image at FINE_FACTOR x the main pass's scale (never enlarged, at most FINE_MAX_PIXELS),
    or None when that would not be finer than the main pass."""
    scale = min(1.0, FINE_FACTOR * main.scale[0], math.sqrt(FINE_MAX_PIXELS / (width * height)))
    if scale < 1.25 * main.scale[0]:
        return None
    return whole_image(width, height, scale, MAIN_BORDER_PX, "edge", (0.0, RELIABLE_MAX_PX))


def border_passes(width: int, height: int, main: Placement) -> tuple[Placement, ...]:
    """The whole image at BORDER_FACTOR x the main scale (and at the main scale itself when that is full
    resolution), mirrored around by BORDER_PAD of its longer side."""
    factors = (BORDER_FACTOR, 1.0) if main.scale[0] >= 1.0 else (BORDER_FACTOR,)
    placements = []
    for factor in factors:
        scale = factor * main.scale[0]
        pad = round(BORDER_PAD * max(width, height) * scale)
        placements.append(whole_image(width, height, scale, pad, "mirror", (0.0, math.inf)))
    return tuple(placements)


def wants_fine_pass(widths_in_pass: np.ndarray, scores: np.ndarray) -> bool:
    """Whether the main pass saw faces near its lower limit (see FINE_TRIGGER_PX)."""
    return bool(np.any((widths_in_pass < FINE_TRIGGER_PX) & (scores >= FINE_TRIGGER_SCORE)))


@dataclass(frozen=True)
class RefinePlan:
    """What the closer looks of one image are spent on (indices into the merged candidates)."""

    verify: np.ndarray  # weak candidates: a face only if the closer look confirms it
    sharpen: np.ndarray  # confident but small in their pass: the closer look's landmarks replace theirs
    keep: np.ndarray  # accepted as they are (confident and big enough, or beyond the budget)


def plan_refinement(
    widths_in_pass: np.ndarray, widths: np.ndarray, scores: np.ndarray, threshold: float, budget: int
) -> RefinePlan:
    """Closer looks go to candidates too small in their pass to judge (under RELIABLE_MIN_PX) whose
    photo holds more pixels of them (`widths`, original px, >= 1.25x the width in the pass): weak ones
    first (strongest first), then confident ones, `budget` in all. A weak candidate seen at a size YuNet
    handles well is dropped, not given a second chance at another scale: a dog's face scoring 0.848 at
    80 px read 0.88 at 64 px, the only false positive the closer looks ever made in ../shared/noface.
    Small confident faces beyond the budget are kept as they are (100 small faces must not cost 100
    passes); weak ones beyond it are dropped."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    closer = (widths_in_pass < RELIABLE_MIN_PX) & (widths >= 1.25 * widths_in_pass)
    weak = order[(scores[order] < threshold) & closer[order]]
    confident = order[scores[order] >= threshold]
    small = confident[closer[confident]]
    verify = weak[:budget]
    sharpen = small[: max(0, budget - len(verify))]
    keep = np.setdiff1d(confident, sharpen)
    return RefinePlan(verify.astype(np.int64), sharpen.astype(np.int64), keep.astype(np.int64))


def refine_placement(
    box: tuple[float, float, float, float],
    width: int,
    height: int,
    face_px: float = REFINE_FACE_PX,
    context: float = REFINE_CONTEXT,
    max_scale: float = 1.0,
) -> Placement:
    """A square crop `context` face sizes across around a candidate face box (original px), where the
    face is ~`face_px` wide, or its native size if smaller (small photos are padded, not upscaled:
    `max_scale` 1)."""
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1, 1.0)
    scale = min(max_scale, face_px / side)
    half = context * side / 2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    region = (
        max(0, math.floor(cx - half)),
        max(0, math.floor(cy - half)),
        min(width, math.ceil(cx + half)),
        min(height, math.ceil(cy + half)),
    )
    region = (region[0], region[1], max(region[2], region[0] + 1), max(region[3], region[1] + 1))
    resized = (
        max(1, round((region[2] - region[0]) * scale)),
        max(1, round((region[3] - region[1]) * scale)),
    )
    # keep the face where it is relative to the crop: pad on the sides the image edge cut off
    full = round_up(2 * half * scale)
    left = max(0, round((region[0] - (cx - half)) * scale))
    top = max(0, round((region[1] - (cy - half)) * scale))
    canvas = (round_up(max(full, left + resized[0])), round_up(max(full, top + resized[1])))
    return Placement(region, resized, (left, top), canvas, "mirror")


def upright_transform(alignment: np.ndarray, face_px: float = UPRIGHT_FACE_PX) -> tuple[np.ndarray, int]:
    """(image -> canvas similarity, canvas side) that shows a face upright, centred and ~face_px wide
    (never enlarged), given its 5-point `alignment` matrix (image -> 112 x 112 ArcFace crop)."""
    crop_per_image = math.sqrt(abs(float(np.linalg.det(alignment[:2, :2]))))
    zoom = min(face_px / _ALIGNED_FACE_PX, 1.0 / max(crop_per_image, 1e-9))
    side = round_up(REFINE_CONTEXT * _ALIGNED_FACE_PX * zoom)
    centre = side / 2 - 56.0 * zoom  # the crop's centre (56, 56) goes to the canvas centre
    to_canvas = np.array([[zoom, 0.0, centre], [0.0, zoom, centre], [0.0, 0.0, 1.0]])
    return to_canvas @ alignment, side


def apply(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n, 2) points through a 3x3 homogeneous transform."""
    points = np.asarray(points, np.float64).reshape(-1, 2)
    mapped: np.ndarray = points @ transform[:2, :2].T + transform[:2, 2]
    return mapped


def in_original(
    placement: Placement, boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray
) -> Candidates:
    """Canvas detections -> Candidates in original px, keeping the sizes this placement answers for."""
    widths = boxes[:, 2] - boxes[:, 0]
    low, high = placement.valid
    keep = (widths >= low) & (widths <= high)
    return Candidates(
        placement.to_original(boxes[keep]),
        scores[keep].astype(np.float64),
        placement.to_original(landmarks[keep].reshape(-1, 10)).reshape(-1, 5, 2),
        widths[keep].astype(np.float64),
    )
