"""The FER2013 mini-Xception (oarriaga/face_classification, MIT, shipped in `fer`) on onnxruntime.

Input (n, 64, 64, 1): the level face box (crops.emotion_transform) in grey (ITU-R 601 luma, as OpenCV's
cvtColor), scaled to [-1, 1] as fer does ((x / 255 - 0.5) * 2). Output: softmax over FER2013's seven
classes. Mapped to Rekognition's EmotionName: neutral -> CALM, the other six one to one.
CONFUSED has no source: FER2013 has no such class and nothing else measures it, so it is never reported
(UNMEASURED), rather than reported with an invented confidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from facesearch.vision.aligner import warp
from facesearch.vision.attributes import crops

if TYPE_CHECKING:
    import onnxruntime as ort

FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
REKOGNITION_TYPES = {
    "angry": "ANGRY",
    "disgust": "DISGUSTED",
    "fear": "FEAR",
    "happy": "HAPPY",
    "sad": "SAD",
    "surprise": "SURPRISED",
    "neutral": "CALM",
}
UNMEASURED = ("CONFUSED",)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class Emotion:
    type: str  # Rekognition EmotionName
    confidence: float  # 0-100


def rank(probabilities: np.ndarray) -> tuple[Emotion, ...]:
    """The seven measured Rekognition emotions, most likely first; confidence = 100 x probability."""
    p = np.asarray(probabilities, dtype=np.float64).reshape(len(FER_CLASSES))
    order = np.argsort(-p, kind="stable")
    return tuple(Emotion(REKOGNITION_TYPES[FER_CLASSES[i]], 100.0 * float(p[i])) for i in order)


def gray_blob(crops_rgb: np.ndarray) -> np.ndarray:
    """(n, 64, 64, 3) uint8 RGB -> (n, 64, 64, 1) float32 in [-1, 1]."""
    gray = np.rint(crops_rgb.astype(np.float32) @ _LUMA)  # uint8 luma like cv2.cvtColor
    return np.ascontiguousarray(((gray / 255.0 - 0.5) * 2.0)[..., None], dtype=np.float32)


class EmotionModel:
    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name

    def run(
        self, image: Image.Image, faces: list[tuple[np.ndarray, tuple[float, float, float, float]]]
    ) -> list[tuple[Emotion, ...]]:
        if not faces:
            return []
        # Preprocess
        rgb = np.stack(
            [warp(image, crops.emotion_transform(lm, box), crops.EMOTION_SIZE) for lm, box in faces]
        )
        # Forward
        (probabilities,) = self._session.run(None, {self._input: gray_blob(rgb)})
        # Postprocess
        return [rank(row) for row in np.asarray(probabilities)]
