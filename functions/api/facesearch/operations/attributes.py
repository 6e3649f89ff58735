"""Which face attributes a request asks for (DetectFaces `Attributes`, IndexFaces `DetectionAttributes`),
and measuring them for an image's faces.

"A DEFAULT subset of facial attributes - BoundingBox, Confidence, Pose, Quality, and Landmarks - will always
be returned. You can request for specific facial attributes (in addition to the default list) - by using
["DEFAULT", "FACE_OCCLUDED"] or just ["FACE_OCCLUDED"]. You can request for all facial attributes by using
["ALL"]." ALL also brings the 30 landmark types. Attributes no shipped model measures (BEARD, EYEGLASSES,
FACE_OCCLUDED, MUSTACHE, SUNGLASSES) are left out of the FaceDetail, never answered with a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from facesearch.vision.image_decoder import DecodedImage

if TYPE_CHECKING:
    from facesearch.services import Services
    from facesearch.vision.attributes.analyzer import FaceAttributes
    from facesearch.vision.pipeline import AnalyzedFace

LANDMARKS = "LANDMARKS"  # the analyzer's name for ALL's 30 landmark types
MEASURED = frozenset({"AGE_RANGE", "EMOTIONS", "EYE_DIRECTION", "EYES_OPEN", "GENDER", "MOUTH_OPEN", "SMILE"})


def requested(names: Sequence[str] | None) -> frozenset[str]:
    """The measurable attributes a request asks for, beyond DEFAULT (which every FaceDetail has)."""
    asked = set(names or ())
    if "ALL" in asked:
        return MEASURED | {LANDMARKS}
    return frozenset(asked & MEASURED)


def measure(services: Services, image: DecodedImage, faces: Sequence[AnalyzedFace], wanted: frozenset[str]
            ) -> list[FaceAttributes | None]:
    """The attributes of each face (None for all when nothing beyond DEFAULT is asked: no model loads)."""
    if not wanted or not faces:
        return [None for _ in faces]
    from facesearch.vision.attributes.analyzer import FaceInput  # the models' modules, only when asked

    inputs = [FaceInput(np.asarray(face.detection.landmarks, dtype=np.float64), face.detection.box) for face in faces]
    return list(services.pipeline().attributes().analyze(image.picture, inputs, wanted))
