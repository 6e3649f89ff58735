"""Rekognition's response shapes, built in this one place from vision's faces and storage's records.

Member names and types follow botocore's output shapes; tests/functional check every response against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from facesearch.geometry import BoundingBox
from facesearch.index import Match
from facesearch.storage.records import FaceRecord, UserRecord
from facesearch.vision.pipeline import AnalyzedFace
from facesearch.vision.pose import Pose
from facesearch.vision.quality import Quality
from facesearch.vision.similarity import to_similarity

if TYPE_CHECKING:
    from facesearch.vision.attributes.analyzer import FaceAttributes

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


def face_detail(face: AnalyzedFace, attributes: FaceAttributes | None = None) -> dict[str, Any]:
    """FaceDetail: the DEFAULT members, plus whatever optional attributes were measured for the face."""
    detail: dict[str, Any] = {
        "BoundingBox": bounding_box(face.bounding_box),
        "Landmarks": landmarks(face),
        "Pose": pose(face.pose),
        "Quality": quality(face.quality),
        "Confidence": float(face.confidence),
    }
    if attributes is not None:
        detail.update(optional_attributes(face, attributes))
    return detail


def optional_attributes(face: AnalyzedFace, found: FaceAttributes) -> dict[str, Any]:
    """The FaceDetail members of the attributes that were asked for and measured (the rest stay absent)."""
    members: dict[str, Any] = {}
    if found.age_range is not None:
        members["AgeRange"] = {"Low": found.age_range.low, "High": found.age_range.high}
    if found.gender is not None:
        members["Gender"] = {"Value": found.gender.value, "Confidence": found.gender.confidence}
    for name, value in (("Smile", found.smile), ("EyesOpen", found.eyes_open), ("MouthOpen", found.mouth_open)):
        if value is not None:
            members[name] = {"Value": value.value, "Confidence": value.confidence}
    if found.emotions is not None:
        members["Emotions"] = [{"Type": e.type, "Confidence": e.confidence} for e in found.emotions]
    if found.eye_direction is not None:
        gaze = found.eye_direction
        members["EyeDirection"] = {"Yaw": gaze.yaw, "Pitch": gaze.pitch, "Confidence": gaze.confidence}
    if found.landmarks is not None:
        # the five DEFAULT types keep the detector's points (what DEFAULT answers); the mesh adds the other 25
        default = {mark["Type"]: mark for mark in landmarks(face)}
        members["Landmarks"] = [default.get(m.type, {"Type": m.type, "X": m.x, "Y": m.y}) for m in found.landmarks]
    return members


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


# --- the facesearch extension operations' shapes (wire/models/facesearch) ------------------------------


def searched_face_matches(searched: AnalyzedFace, matches: Sequence[Match], attributes: FaceAttributes | None = None
                          ) -> dict[str, Any]:
    """SearchAllFacesByImage's SearchedFaceMatches: one face of the image and its matches."""
    return {"BoundingBox": bounding_box(searched.bounding_box), "FaceDetail": face_detail(searched, attributes),
            "FaceMatches": face_matches(matches)}


def unsearched_face(face: AnalyzedFace, reasons: Sequence[str]) -> dict[str, Any]:
    return {"FaceDetails": face_detail(face), "Reasons": list(reasons)}


def exported_face(record: FaceRecord) -> dict[str, Any]:
    """ExportedFace: the stored face with its embedding's bytes (128 little-endian float32)."""
    rendered = face(record)
    rendered["Embedding"] = record.embedding
    return rendered
