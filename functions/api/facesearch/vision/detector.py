"""YuNet 2023mar face detector on onnxruntime: pre-process, forward, post-process.

The ONNX graph takes a fixed 1x3x640x640 float tensor in BGR order (0-255) and returns, per stride
8/16/32, four anchor-free grids: cls and obj (already sigmoid-ed), bbox (dx, dy, log w, log h in stride
units from the cell's corner) and kps (5 landmarks, dx/dy in stride units). The decoder below is the
one OpenCV's FaceDetectorYN uses (score = sqrt(cls * obj)), rebuilt in numpy.

Landmark order: YuNet emits the subject's right eye, left eye, nose tip, right and left mouth corners,
i.e. for an upright face the eye and mouth corner on the *left of the image* come first. That is already
Rekognition's order eyeLeft, eyeRight, nose, mouthLeft, mouthRight (Rekognition's eyeLeft is the eye
with the smaller X), so the rows of `Detection.landmarks` are in LANDMARK_TYPES order unchanged.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import onnxruntime as ort

LANDMARK_TYPES: tuple[str, ...] = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")

# Measured with bench/detection.py on ../shared/faces (fp32 / int8 YuNet): the strongest candidate in the
# 25 no-face photos scores 0.856 / 0.849 (a dog), the weakest labelled group face >= 40 px scores
# 0.893 / 0.888, real faces mostly 0.90-0.95. OpenCV's default 0.9 misses 2-3 of those 21 faces; 0.87
# sits in the gap for both variants.
DEFAULT_SCORE_THRESHOLD = 0.87
DEFAULT_NMS_THRESHOLD = 0.3  # OpenCV FaceDetectorYN's default IoU for suppression
MAX_FACES = 100  # Rekognition returns at most 100 faces per image, largest first
_PRE_NMS_TOP_K = 5000


@dataclass(frozen=True)
class Detection:
    """One face in original-image pixel coordinates (continuous: pixel (i, j) covers [i, i+1) x [j, j+1))."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float  # 0..1
    landmarks: np.ndarray  # (5, 2) x, y in LANDMARK_TYPES order

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)


@dataclass(frozen=True)
class Letterbox:
    """How an image was placed in the network input: input = original * scale (top-left aligned).

    x and y scales are kept apart: rounding the resized size makes them differ by up to half a pixel.
    """

    scale_x: float
    scale_y: float
    width: int  # of the resized image inside the canvas
    height: int

    def _factors(self, values: np.ndarray) -> np.ndarray:
        return np.tile(np.array([self.scale_x, self.scale_y]), values.shape[-1] // 2)

    def to_original(self, values: np.ndarray) -> np.ndarray:
        """Map network-input coordinates (last axis x, y, x, y, ...) back to the original image."""
        mapped: np.ndarray = values / self._factors(values)
        return mapped

    def to_input(self, values: np.ndarray) -> np.ndarray:
        mapped: np.ndarray = values * self._factors(values)
        return mapped


def letterbox_scale(width: int, height: int, size: int) -> float:
    """Shrink so the longer side fits `size`; never enlarge (small photos are padded, not upscaled:
    upscaling 250 px LFW photos cost accuracy in an earlier measurement here)."""
    return min(1.0, size / max(width, height))


def letterbox(pixels: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """Resize (antialiased) RGB `pixels` to fit `size` and pad bottom/right with black to size x size."""
    height, width = pixels.shape[:2]
    scale = letterbox_scale(width, height, size)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    if (new_w, new_h) != (width, height):
        resized = np.asarray(Image.fromarray(pixels).resize((new_w, new_h), Image.Resampling.BILINEAR))
    else:
        resized = pixels
    canvas = np.zeros((size, size, 3), dtype=np.uint8)
    canvas[:new_h, :new_w] = resized
    return canvas, Letterbox(scale_x=new_w / width, scale_y=new_h / height, width=new_w, height=new_h)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices in descending score order."""
    if len(boxes) == 0:
        return np.empty(0, dtype=np.int64)
    x1, y1, x2, y2 = boxes.T
    areas = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        iw = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        ih = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = iw * ih
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


@functools.lru_cache(maxsize=8)
def _grid(size: int, stride: int) -> np.ndarray:
    """(cells, 2) column/row index of each cell of a stride's output grid, row-major like the model."""
    cells = size // stride
    rows, cols = np.mgrid[0:cells, 0:cells]
    return np.stack([cols.ravel(), rows.ravel()], axis=1).astype(np.float32)


def decode(
    outputs: dict[str, np.ndarray], size: int, strides: tuple[int, ...], score_threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-stride grids -> boxes (n,4 x1y1x2y2), scores (n,), landmarks (n,5,2), in network pixels."""
    all_boxes, all_scores, all_kps = [], [], []
    for stride in strides:
        cls = outputs[f"cls_{stride}"].reshape(-1)
        obj = outputs[f"obj_{stride}"].reshape(-1)
        score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
        hit = score >= score_threshold
        if not hit.any():
            continue
        cell = _grid(size, stride)[hit]
        bbox = outputs[f"bbox_{stride}"].reshape(-1, 4)[hit]
        kps = outputs[f"kps_{stride}"].reshape(-1, 5, 2)[hit]
        centre = (cell + bbox[:, :2]) * stride
        wh = np.exp(bbox[:, 2:]) * stride
        all_boxes.append(np.concatenate([centre - wh / 2, centre + wh / 2], axis=1))
        all_scores.append(score[hit])
        all_kps.append((kps + cell[:, None, :]) * stride)
    if not all_boxes:
        return np.empty((0, 4), np.float32), np.empty(0, np.float32), np.empty((0, 5, 2), np.float32)
    return np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_kps)


class Detector:
    """Finds faces and their 5 landmarks; `detect(rgb)` -> Detections, largest first."""

    def __init__(
        self,
        session: ort.InferenceSession,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        nms_threshold: float = DEFAULT_NMS_THRESHOLD,
        max_faces: int = MAX_FACES,
    ) -> None:
        self._session = session
        model_input = session.get_inputs()[0]
        self._input_name = model_input.name
        height, width = model_input.shape[2], model_input.shape[3]
        if not (isinstance(height, int) and height == width):
            raise ValueError(f"expected a fixed square detector input, got {model_input.shape}")
        self.input_size: int = height
        self._output_names = [o.name for o in session.get_outputs()]
        strides = sorted(
            {int(m.group(1)) for n in self._output_names if (m := re.fullmatch(r"cls_(\d+)", n))}
        )
        if not strides:
            raise ValueError(f"not a YuNet 2023mar graph: outputs {self._output_names}")
        self.strides = tuple(strides)
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.max_faces = max_faces

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        # Preprocess
        blob, box = self._preprocess(rgb)
        # Forward
        outputs = self._forward(blob)
        # Postprocess
        return self._postprocess(outputs, box)

    def _preprocess(self, rgb: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        canvas, box = letterbox(rgb, self.input_size)
        blob = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)  # RGB -> BGR, NCHW, 0-255
        return np.ascontiguousarray(blob), box

    def _forward(self, blob: np.ndarray) -> dict[str, np.ndarray]:
        values = self._session.run(self._output_names, {self._input_name: blob})
        return dict(zip(self._output_names, values, strict=True))

    def _postprocess(self, outputs: dict[str, np.ndarray], box: Letterbox) -> list[Detection]:
        boxes, scores, kps = decode(outputs, self.input_size, self.strides, self.score_threshold)
        if len(scores) > _PRE_NMS_TOP_K:
            top = np.argsort(-scores)[:_PRE_NMS_TOP_K]
            boxes, scores, kps = boxes[top], scores[top], kps[top]
        keep = nms(boxes, scores, self.nms_threshold)
        boxes, scores, kps = (
            box.to_original(boxes[keep]),
            scores[keep],
            box.to_original(kps[keep].reshape(-1, 10)),
        )
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        order = np.argsort(-areas, kind="stable")[: self.max_faces]
        return [
            Detection(
                box=tuple(float(v) for v in boxes[i]),  # type: ignore[arg-type]
                score=float(scores[i]),
                landmarks=kps[i].reshape(5, 2).astype(np.float64),
            )
            for i in order
        ]
