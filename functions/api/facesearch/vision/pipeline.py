"""Detect -> align -> (embed) for one decoded image: every face, largest first, described in pixels and ratios.

Rendering these faces as Rekognition's FaceDetail is not vision's job: operations/render.py does it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from facesearch.geometry import BoundingBox
from facesearch.vision import frame_edge, onnx
from facesearch.vision.aligner import align, in_picture
from facesearch.vision.detector import DEFAULT_SCORE_THRESHOLD, LANDMARK_TYPES, Detection, Detector
from facesearch.vision.embedder import Embedder
from facesearch.vision.image_decoder import DecodedImage
from facesearch.vision.pose import Pose, estimate_pose
from facesearch.vision.quality import Quality, measure_quality

if TYPE_CHECKING:
    from facesearch.vision.attributes.analyzer import AttributeAnalyzer

# YuNet scores of real faces bunch up in 0.87-0.95, while Rekognition reports ~99 for a clear face and
# users filter on Confidence >= 90. So the score maps piecewise-linearly: the detection threshold -> 90,
# a typical clear frontal face (0.94) -> 99.5, 1 -> 100. Monotonic, so the ranking is YuNet's.
_SCORE_KNOTS = (0.0, DEFAULT_SCORE_THRESHOLD, 0.94, 1.0)
_CONFIDENCE_KNOTS = (0.0, 90.0, 99.5, 100.0)


def detection_confidence(score: float) -> float:
    """Rekognition-style Confidence (0-100) for a YuNet score (0-1)."""
    return float(np.interp(score, _SCORE_KNOTS, _CONFIDENCE_KNOTS))


@dataclass(frozen=True)
class AnalyzedFace:
    detection: Detection
    bounding_box: BoundingBox
    confidence: float  # 0-100
    landmarks: np.ndarray  # (5, 2) x, y ratios of the image size, LANDMARK_TYPES order
    pose: Pose
    quality: Quality
    crop: np.ndarray  # (112, 112, 3) uint8, the aligned face the embedding is (or would be) made from
    embedding: np.ndarray | None  # (128,) float32 unit vector
    visible: float = 1.0  # share of the face box inside the picture (a face the frame cuts: < 1)
    eyes_seen: int = 2  # how many of its eyes lie inside the picture (frame_edge.seen_landmarks)

    @property
    def landmark_types(self) -> tuple[str, ...]:
        return LANDMARK_TYPES

    @property
    def vector(self) -> np.ndarray:
        """The embedding; only faces analyzed with embeddings (or passed through `embedded`) have one."""
        if self.embedding is None:
            raise ValueError("this face was analyzed without embeddings")
        return self.embedding


class FacePipeline:
    """Finds every face (at most 100, largest first) and measures each one; `attributes` gives the optional
    attribute models of the same model directory, loaded only when a request asks for them."""

    def __init__(self, detector: Detector, embedder: Embedder,
                 attributes: Callable[[], AttributeAnalyzer] | None = None) -> None:
        self.detector = detector
        self.embedder = embedder
        self._attributes = attributes

    def attributes(self) -> AttributeAnalyzer:
        if self._attributes is None:
            raise RuntimeError("this pipeline was built without attribute models")
        return self._attributes()

    def analyze(self, image: DecodedImage, with_embeddings: bool = True) -> list[AnalyzedFace]:
        source = image.picture
        detections = self.detector.detect_image(source)
        if not detections:
            return []
        size = np.array([image.width, image.height], dtype=np.float64)
        faces = []
        for detection in detections:
            crop = align(source, detection.landmarks)
            visible = frame_edge.visible_fraction(detection.box, image.width, image.height)
            seen = None if visible >= 1.0 else in_picture(detection.landmarks, image.width, image.height)
            eyes = frame_edge.seen_landmarks(detection.landmarks, detection.box, image.width, image.height)[:2]
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
                    quality=measure_quality(crop, seen),
                    crop=crop,
                    embedding=None,
                    visible=visible,
                    eyes_seen=int(eyes.sum()),
                )
            )
        return self.embedded(faces) if with_embeddings else faces

    def embedded(self, faces: Sequence[AnalyzedFace]) -> list[AnalyzedFace]:
        """`faces` with their embeddings, in one batch: operations that search one face of a group photo
        embed only that one (a face embeds the same alone as in a batch)."""
        if not faces:
            return []
        vectors = self.embedder.embed(np.stack([face.crop for face in faces]))
        return [replace(face, embedding=vector) for face, vector in zip(faces, vectors, strict=True)]


@functools.lru_cache(maxsize=4)
def get_pipeline(directory: Path, threads: int, variant: onnx.Variant = "int8") -> FacePipeline:
    """The process-wide pipeline of the models in `directory` (sessions are created on first use, then reused)."""

    def attributes() -> AttributeAnalyzer:
        from facesearch.vision.attributes.analyzer import get_analyzer  # its modules load only when asked

        return get_analyzer(directory, threads)

    return FacePipeline(Detector(onnx.detector_session(directory, threads, variant)),
                        Embedder(onnx.embedder_session(directory, threads, variant)), attributes)


class LazyPipeline:
    """The pipeline a warm function loads on first use, so collection calls never pay for the models."""

    def __init__(self, directory: Path, threads: int, variant: onnx.Variant = "int8") -> None:
        self._lock = threading.Lock()
        self._args = (directory, threads, variant)
        self._pipeline: FacePipeline | None = None

    def __call__(self) -> FacePipeline:
        with self._lock:
            if self._pipeline is None:
                self._pipeline = get_pipeline(*self._args)
            return self._pipeline
