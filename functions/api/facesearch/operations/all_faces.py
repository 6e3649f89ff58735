"""SearchAllFacesByImage: every face of an image searched in one call (SearchFacesByImage takes the largest).

One decode, one detection and one batched embedding for the whole image, one scan per face, and the matched
faces' items read in one batch for all of them: what a client otherwise does with DetectFaces, a crop and a
SearchFacesByImage per face, each decoding and detecting again.
"""

from __future__ import annotations

from typing import Any

from facesearch.operations import attributes, render
from facesearch.operations.analysis import analyze
from facesearch.operations.registry import Request, operation
from facesearch.operations.search import DEFAULT_MATCH_THRESHOLD, DEFAULT_SEARCH_MAX_FACES, min_cosine
from facesearch.services import Services
from facesearch.vision import FACE_MODEL_VERSION, quality_filter


@operation("SearchAllFacesByImage", service="facesearch")
def search_all_faces_by_image(services: Services, request: Request) -> dict[str, Any]:
    """An image without faces answers empty lists (not InvalidParameterException: nothing was asked of a face)."""
    collection = services.storage.collections.get(request["CollectionId"])
    services.index.check_model(collection)
    image, faces = analyze(services, request["Image"])
    level = request.get("QualityFilter", "NONE")
    reasons = [quality_filter.rejection_reasons(face, image.width, image.height, level) for face in faces]
    searched = services.pipeline().embedded(
        [face for face, rejected in zip(faces, reasons, strict=True) if not rejected])  # the unsearched need none
    measured = attributes.measure(services, image, searched, attributes.requested(request.get("Attributes")))
    matches = services.index.search_many(
        collection, [face.vector for face in searched], request.get("MaxFaces", DEFAULT_SEARCH_MAX_FACES),
        min_cosine(request.get("FaceMatchThreshold", DEFAULT_MATCH_THRESHOLD)))
    return {
        "SearchedFaces": [render.searched_face_matches(face, found, extra)
                          for face, found, extra in zip(searched, matches, measured, strict=True)],
        "UnsearchedFaces": [render.unsearched_face(face, rejected)
                            for face, rejected in zip(faces, reasons, strict=True) if rejected],
        "FaceModelVersion": FACE_MODEL_VERSION,
    }
