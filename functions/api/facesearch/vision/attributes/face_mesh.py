"""MediaPipe Face Mesh V2 (478 landmarks, iris included) and Blendshape V2 (52 coefficients) on
onnxruntime: pre-process, forward, post-process for each.

Mesh: input (n, 256, 256, 3) float RGB in [0, 1] (NHWC, as the TFLite original), the ROI crop of
crops.mesh_transform; outputs (n, 1, 1, 1434) = 478 x (x, y, z) in crop pixels and a face-presence logit.
Blendshapes: input (1, 146, 2), the landmarks at BLENDSHAPE_SUBSET in image pixels (MediaPipe's
LandmarksToTensorCalculator denormalises by the frame size; the graph itself removes translation and
scale); output (52,) scores in [0, 1] named BLENDSHAPE_NAMES. The graph is fixed at batch 1.
Both index lists are MediaPipe's (face_blendshapes_graph.cc, Apache-2.0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from facesearch.vision.aligner import warp
from facesearch.vision.attributes import crops

if TYPE_CHECKING:
    import onnxruntime as ort

MESH_POINTS = 478

# kLandmarksSubsetIdxs: the 146 mesh points the blendshape model reads
BLENDSHAPE_SUBSET = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67,
    70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145, 146,
    148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172, 173, 176, 178, 181,
    185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293,
    295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324, 332, 334, 336, 338, 356, 361,
    362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398,
    400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
)  # fmt: skip

# kBlendshapeNames, in output order. "Left"/"Right" are the subject's (mirror of the image for a photo).
BLENDSHAPE_NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
    "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight",
    "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft",
    "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)  # fmt: skip
_BLENDSHAPE_INDEX = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}


@dataclass(frozen=True)
class Mesh:
    """One face's mesh in image pixels: points (478, 3) x, y, z (z: depth relative to the face centre,
    in the same pixel scale, smaller = nearer the camera); presence = P(a face is in the crop)."""

    points: np.ndarray
    presence: float


@dataclass(frozen=True)
class Blendshapes:
    scores: np.ndarray  # (52,) in BLENDSHAPE_NAMES order

    def __getitem__(self, name: str) -> float:
        return float(self.scores[_BLENDSHAPE_INDEX[name]])


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def to_image(crop_points: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """(478, 3) crop-pixel landmarks back to image pixels through the inverse of `transform`
    (image -> crop); z scales with x and y."""
    inverse = np.linalg.inv(transform)
    xy = crops.apply(inverse, crop_points[:, :2])
    scale = float(np.sqrt(abs(np.linalg.det(inverse[:2, :2]))))
    return np.concatenate([xy, crop_points[:, 2:3] * scale], axis=1)


class FaceMesh:
    """`run(image, faces)` -> one Mesh per (landmarks, box) face, in one batched call."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self._outputs = [o.name for o in session.get_outputs()]

    def run(
        self, image: Image.Image, faces: Sequence[tuple[np.ndarray, tuple[float, float, float, float]]]
    ) -> list[Mesh]:
        if not faces:
            return []
        # Preprocess
        transforms = [crops.mesh_transform(landmarks, box) for landmarks, box in faces]
        blob = self._preprocess(image, transforms)
        # Forward
        landmarks, presence = self._session.run(self._outputs, {self._input: blob})
        # Postprocess
        points = np.asarray(landmarks, dtype=np.float64).reshape(len(faces), MESH_POINTS, 3)
        scores = sigmoid(np.asarray(presence).reshape(len(faces)))
        return [
            Mesh(points=to_image(points[i], transforms[i]), presence=float(scores[i]))
            for i in range(len(faces))
        ]

    @staticmethod
    def _preprocess(image: Image.Image, transforms: list[np.ndarray]) -> np.ndarray:
        crops_rgb = np.stack([warp(image, t, crops.MESH_SIZE) for t in transforms])
        return np.ascontiguousarray(crops_rgb, dtype=np.float32) / np.float32(255.0)


class BlendshapeModel:
    """`run(mesh)` -> Blendshapes for one face (the graph takes one face at a time)."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name

    def run(self, mesh: Mesh) -> Blendshapes:
        # Preprocess
        points = np.ascontiguousarray(mesh.points[list(BLENDSHAPE_SUBSET), :2][None], dtype=np.float32)
        # Forward
        (scores,) = self._session.run(None, {self._input: points})
        # Postprocess
        return Blendshapes(scores=np.clip(np.asarray(scores, dtype=np.float64).reshape(-1), 0.0, 1.0))
