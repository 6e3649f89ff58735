"""Rekognition's response shapes, built in this one place from vision's faces and storage's records.

Member names and types follow botocore's output shapes; tests/functional check every response against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from facesearch.geometry import BoundingBox
from facesearch.index import Match
from facesearch.storage.records import FaceRecord, UserRecord
from facesearch.vision.pipeline import AnalyzedFace
from facesearch.vision.pose import Pose
from facesearch.vision.quality import Quality
from facesearch.vision.similarity import to_similarity

COMPARED_FACE_MEMBERS = ("BoundingBox", "Confidence", "Landmarks", "Pose", "Quality")


def bounding_box(box: BoundingBox) -> dict[str, float]:
    return {"Width": box.width, "Height": box.height, "Left": box.left, "Top": box.top}


def pose(value: Pose) -> dict[str, float]:
    return {"Roll": value.roll, "Yaw": value.yaw, "Pitch": value.pitch}


def quality(value: Quality) -> dict[str, float]:
    return {"Brightness": value.brightness, "Sharpness": value.sharpness}


def landmarks(face: AnalyzedFace) -> list[dict[str, Any]]:
    return [{"Type": kind, "X": float(x), "Y": float(y)}
            for kind, (x, y) in zip(face.landmark_types, face.landmarks, strict=True)]


def face_detail(face: AnalyzedFace) -> dict[str, Any]:
    """FaceDetail for Attributes=DEFAULT."""
    return {
        "BoundingBox": bounding_box(face.bounding_box),
        "Landmarks": landmarks(face),
        "Pose": pose(face.pose),
        "Quality": quality(face.quality),
        "Confidence": float(face.confidence),
    }


def compared_face(face: AnalyzedFace) -> dict[str, Any]:
    """CompareFaces' ComparedFace: the FaceDetail members that shape has."""
    detail = face_detail(face)
    return {key: detail[key] for key in COMPARED_FACE_MEMBERS if key in detail}


def source_face(face: AnalyzedFace) -> dict[str, Any]:
    return {"BoundingBox": bounding_box(face.bounding_box), "Confidence": float(face.confidence)}


def face(record: FaceRecord) -> dict[str, Any]:
    """Rekognition's Face from a stored face."""
    rendered: dict[str, Any] = {
        "FaceId": record.face_id,
        "BoundingBox": bounding_box(record.bounding_box),
        "ImageId": record.image_id,
        "ExternalImageId": record.external_image_id,
        "Confidence": record.confidence,
        "IndexFacesModelVersion": record.model_version,
    }
    if record.user_id:
        rendered["UserId"] = record.user_id
    return rendered


def similarity(cosine: float) -> float:
    return float(to_similarity(cosine))


def face_matches(matches: Sequence[Match]) -> list[dict[str, Any]]:
    return [{"Similarity": similarity(match.cosine), "Face": face(match.face)} for match in matches]


def user(record: UserRecord) -> dict[str, Any]:
    return {"UserId": record.user_id, "UserStatus": record.status}
