"""DetectFaces and CompareFaces: the stateless operations, plus how every operation reads an image."""

from __future__ import annotations

from typing import Any

from facesearch.vision import imaging
from facesearch.vision import quality_filter
from facesearch.errors import InvalidParameterException
from facesearch.operations.registry import Services, operation
from facesearch.vision.similarity import to_similarity

DEFAULT_SIMILARITY_THRESHOLD = 80.0


def load_image(services: Services, image: dict[str, Any]) -> imaging.DecodedImage:
    """Image.Bytes or Image.S3Object (from the buckets this deployment may read), decoded upright."""
    allowed = services.settings.input_buckets
    buckets = None if "*" in allowed else allowed | {services.settings.bucket_name}
    return imaging.decode_image(imaging.read_image_bytes(image, services.s3, buckets))


def analyze(services: Services, image: dict[str, Any], with_embeddings: bool = True) -> tuple[Any, list[Any]]:
    decoded = load_image(services, image)
    return decoded, services.resources.pipeline().analyze(decoded, with_embeddings=with_embeddings)


def face_detail(face: Any) -> dict[str, Any]:
    from facesearch.vision.pipeline import face_detail as render

    return render(face)


def compared_face(face: Any) -> dict[str, Any]:
    """CompareFaces' ComparedFace: the FaceDetail members that shape has."""
    detail = face_detail(face)
    return {key: detail[key] for key in ("BoundingBox", "Confidence", "Landmarks", "Pose", "Quality") if key in detail}


def passes(face: Any, image: Any, level: str) -> bool:
    return not quality_filter.rejection_reasons(face, image.width, image.height, level)


@operation("DetectFaces")
def detect_faces(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    _, faces = analyze(services, request["Image"], with_embeddings=False)
    return {"FaceDetails": [face_detail(face) for face in faces]}


@operation("CompareFaces")
def compare_faces(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    threshold = request.get("SimilarityThreshold", DEFAULT_SIMILARITY_THRESHOLD)
    level = request.get("QualityFilter", "NONE")
    source_image, source_faces = analyze(services, request["SourceImage"])
    source_faces = [face for face in source_faces if passes(face, source_image, level)]
    if not source_faces:
        raise InvalidParameterException("There are no faces in the source image.")
    source = source_faces[0]  # largest first
    target_image, target_faces = analyze(services, request["TargetImage"])
    matches, unmatched = [], []
    for face in target_faces:
        if not passes(face, target_image, level):
            continue
        similarity = float(to_similarity(float(source.embedding @ face.embedding)))
        if similarity >= threshold:
            matches.append({"Similarity": similarity, "Face": compared_face(face)})
        else:
            unmatched.append(compared_face(face))
    matches.sort(key=lambda match: -match["Similarity"])
    return {
        "SourceImageFace": {"BoundingBox": source.bounding_box.to_dict(), "Confidence": float(source.confidence)},
        "FaceMatches": matches,
        "UnmatchedFaces": unmatched,
    }
