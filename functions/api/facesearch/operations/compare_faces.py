"""CompareFaces: the largest source face against every face of the target image."""

from __future__ import annotations

from typing import Any

from facesearch.errors import InvalidParameterException
from facesearch.operations import render
from facesearch.operations.analysis import analyze, passes
from facesearch.operations.registry import Request, operation
from facesearch.services import Services
from facesearch.vision.image_decoder import INVALID_PARAMETERS_MESSAGE
from facesearch.vision.similarity import to_similarity

DEFAULT_SIMILARITY_THRESHOLD = 80.0


@operation("CompareFaces")
def compare_faces(services: Services, request: Request) -> dict[str, Any]:
    threshold = request.get("SimilarityThreshold", DEFAULT_SIMILARITY_THRESHOLD)
    level = request.get("QualityFilter", "NONE")
    pipeline = services.pipeline()
    source_image, source_faces = analyze(services, request["SourceImage"])
    source_faces = [face for face in source_faces if passes(face, source_image, level)]
    if not source_faces:  # "If no faces are detected in the source or target images, ... InvalidParameterException"
        raise InvalidParameterException(INVALID_PARAMETERS_MESSAGE)
    (source,) = pipeline.embedded(source_faces[:1])  # the largest; only its vector is compared
    target_image, target_faces = analyze(services, request["TargetImage"])
    if not target_faces:
        raise InvalidParameterException(INVALID_PARAMETERS_MESSAGE)
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
