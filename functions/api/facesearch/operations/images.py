"""DetectFaces and CompareFaces, plus how every operation reads an image and picks the face it acts on."""

from __future__ import annotations

from typing import Any

from facesearch.errors import InvalidParameterException
from facesearch.operations import attributes, render
from facesearch.operations.registry import Request, operation
from facesearch.services import Services
from facesearch.vision import imaging, quality_filter
from facesearch.vision.pipeline import AnalyzedFace
from facesearch.vision.similarity import to_similarity

DEFAULT_SIMILARITY_THRESHOLD = 80.0


def image_bytes(services: Services, image: dict[str, Any]) -> bytes:
    """Image.Bytes, or Image.S3Object from a bucket this deployment may read."""
    return imaging.read_image_bytes(image, services.s3, services.settings.may_read)


def analyze_bytes(services: Services, raw: bytes) -> tuple[imaging.DecodedImage, list[AnalyzedFace]]:
    """The decoded image and its faces, not yet embedded: each operation embeds only the faces it compares
    or stores (`FacePipeline.embedded`)."""
    decoded = imaging.decode_image(raw)
    return decoded, services.pipeline().analyze(decoded, with_embeddings=False)


def analyze(services: Services, image: dict[str, Any]) -> tuple[imaging.DecodedImage, list[AnalyzedFace]]:
    return analyze_bytes(services, image_bytes(services, image))


def passes(face: AnalyzedFace, image: imaging.DecodedImage, level: str) -> bool:
    return not quality_filter.rejection_reasons(face, image.width, image.height, level)


def searchable_faces(services: Services, request: Request
                     ) -> tuple[imaging.DecodedImage, AnalyzedFace | None, list[AnalyzedFace]]:
    """The image, its largest face that passes QualityFilter (default NONE) if any, and all its faces.
    Only the searched face is embedded (in a group photo the others would cost ~45 ms each for nothing)."""
    image, faces = analyze(services, request["Image"])
    level = request.get("QualityFilter", "NONE")
    chosen = next((i for i, face in enumerate(faces) if passes(face, image, level)), None)
    if chosen is None:
        return image, None, faces
    faces[chosen] = services.pipeline().embedded([faces[chosen]])[0]
    return image, faces[chosen], faces


def largest_searchable_face(services: Services, request: Request
                            ) -> tuple[imaging.DecodedImage, AnalyzedFace, list[AnalyzedFace]]:
    """The image's largest face that passes QualityFilter (default NONE), or InvalidParameterException."""
    image, face, faces = searchable_faces(services, request)
    if face is None:
        raise InvalidParameterException("There are no faces in the image. Should be at least 1.")
    return image, face, faces


@operation("DetectFaces")
def detect_faces(services: Services, request: Request) -> dict[str, Any]:
    image, faces = analyze(services, request["Image"])
    found = attributes.measure(image, faces, attributes.requested(request.get("Attributes")))
    return {"FaceDetails": [render.face_detail(face, extra) for face, extra in zip(faces, found, strict=True)]}


@operation("CompareFaces")
def compare_faces(services: Services, request: Request) -> dict[str, Any]:
    threshold = request.get("SimilarityThreshold", DEFAULT_SIMILARITY_THRESHOLD)
    level = request.get("QualityFilter", "NONE")
    pipeline = services.pipeline()
    source_image, source_faces = analyze(services, request["SourceImage"])
    source_faces = [face for face in source_faces if passes(face, source_image, level)]
    if not source_faces:  # "If no faces are detected in the source or target images, ... InvalidParameterException"
        raise InvalidParameterException(imaging.INVALID_PARAMETERS_MESSAGE)
    (source,) = pipeline.embedded(source_faces[:1])  # the largest; only its vector is compared
    target_image, target_faces = analyze(services, request["TargetImage"])
    if not target_faces:
        raise InvalidParameterException(imaging.INVALID_PARAMETERS_MESSAGE)
    matches: list[dict[str, Any]] = []
    unmatched: list[dict[str, Any]] = []
    for face in pipeline.embedded([face for face in target_faces if passes(face, target_image, level)]):
        similarity = float(to_similarity(float(source.vector @ face.vector)))
        if similarity >= threshold:
            matches.append({"Similarity": similarity, "Face": render.compared_face(face)})
        else:
            unmatched.append(render.compared_face(face))
    matches.sort(key=lambda match: -match["Similarity"])
    return {"SourceImageFace": render.source_face(source), "FaceMatches": matches, "UnmatchedFaces": unmatched}
