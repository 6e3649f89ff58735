"""Detect -> align -> (embed) for one decoded image, and Rekognition's FaceDetail rendering of a face."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from facesearch import models
from facesearch.aligner import align
from facesearch.detector import DEFAULT_SCORE_THRESHOLD, LANDMARK_TYPES, Detection, Detector
from facesearch.embedder import Embedder
from facesearch.face_attributes import Pose, Quality, estimate_pose, measure_quality
from facesearch.imaging import DecodedImage


# YuNet scores of real faces bunch up in 0.87-0.95, while Rekognition reports ~99 for a clear face and
# users filter on Confidence >= 90. So the score maps piecewise-linearly: the detection threshold -> 90,
# a typical clear frontal face (0.94) -> 99.5, 1 -> 100. Monotonic, so the ranking is YuNet's.
_SCORE_KNOTS = (0.0, DEFAULT_SCORE_THRESHOLD, 0.94, 1.0)
_CONFIDENCE_KNOTS = (0.0, 90.0, 99.5, 100.0)


def detection_confidence(score: float) -> float:
    """Rekognition-style Confidence (0-100) for a YuNet score (0-1)."""
    return float(np.interp(score, _SCORE_KNOTS, _CONFIDENCE_KNOTS))


@dataclass(frozen=True)
class BoundingBox:
    """Rekognition's ratios of the image size; may fall slightly outside [0, 1] like Rekognition's."""

    width: float
    height: float
    left: float
    top: float

    def to_dict(self) -> dict[str, float]:
        return {"Width": self.width, "Height": self.height, "Left": self.left, "Top": self.top}


@dataclass(frozen=True)
class AnalyzedFace:
    detection: Detection
    bounding_box: BoundingBox
    confidence: float  # 0-100
    landmarks: np.ndarray  # (5, 2) x, y ratios of the image size, LANDMARK_TYPES order
    pose: Pose
    quality: Quality
    embedding: np.ndarray | None  # (128,) float32 unit vector


class FacePipeline:
    """Finds every face (at most 100, largest first) and describes each as Rekognition would."""

    def __init__(self, detector: Detector, embedder: Embedder) -> None:
        self.detector = detector
        self.embedder = embedder

    def analyze(self, image: DecodedImage, with_embeddings: bool = True) -> list[AnalyzedFace]:
        source = Image.fromarray(image.pixels)  # one copy for the detector and the aligner
        detections = self.detector.detect_image(source)
        if not detections:
            return []
        crops = np.stack([align(source, d.landmarks) for d in detections])
        embeddings = self.embedder.embed(crops) if with_embeddings else None
        size = np.array([image.width, image.height], dtype=np.float64)
        faces = []
        for i, (detection, crop) in enumerate(zip(detections, crops, strict=True)):
            x1, y1, x2, y2 = detection.box
            faces.append(
                AnalyzedFace(
                    detection=detection,
                    bounding_box=BoundingBox(
                        width=(x2 - x1) / image.width,
                        height=(y2 - y1) / image.height,
                        left=x1 / image.width,
                        top=y1 / image.height,
                    ),
                    confidence=detection_confidence(detection.score),
                    landmarks=detection.landmarks / size,
                    pose=estimate_pose(detection.landmarks),
                    quality=measure_quality(crop),
                    embedding=None if embeddings is None else embeddings[i],
                )
            )
        return faces


def face_detail(face: AnalyzedFace) -> dict[str, Any]:
    """Rekognition's FaceDetail for Attributes=DEFAULT."""
    return {
        "BoundingBox": face.bounding_box.to_dict(),
        "Landmarks": [
            {"Type": kind, "X": float(x), "Y": float(y)}
            for kind, (x, y) in zip(LANDMARK_TYPES, face.landmarks, strict=True)
        ],
        "Pose": face.pose.to_dict(),
        "Quality": face.quality.to_dict(),
        "Confidence": float(face.confidence),
    }


@functools.lru_cache(maxsize=2)
def get_pipeline(variant: models.Variant = "int8") -> FacePipeline:
    """The process-wide pipeline of `variant` (sessions are created on first use, then reused)."""
    return FacePipeline(
        Detector(models.detector_session(variant)), Embedder(models.embedder_session(variant))
    )
