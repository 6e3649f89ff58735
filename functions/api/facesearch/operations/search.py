"""SearchFaces and SearchFacesByImage: a query vector, thresholds in Similarity, the index's matches."""

from __future__ import annotations

from typing import Any

from facesearch.errors import InvalidParameterException
from facesearch.operations import render
from facesearch.operations.analysis import largest_searchable_face
from facesearch.operations.registry import Request, operation
from facesearch.services import Services
from facesearch.storage import Collection, FaceRecord
from facesearch.vision import FACE_MODEL_VERSION
from facesearch.vision.similarity import to_cosine

DEFAULT_SEARCH_MAX_FACES = 80
DEFAULT_MATCH_THRESHOLD = 80.0


def min_cosine(threshold: float) -> float:
    return float(to_cosine(threshold))


def stored_face(services: Services, collection: Collection, face_id: str) -> FaceRecord:
    face = services.storage.faces.get(collection, face_id)
    if face is None:
        raise InvalidParameterException("faceId was not found in the collection.")
    return face


@operation("SearchFaces")
def search_faces(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    face_id = request["FaceId"]
    query = stored_face(services, collection, face_id).vector
    matches = services.index.search(
        collection, query, request.get("MaxFaces", DEFAULT_SEARCH_MAX_FACES),
        min_cosine(request.get("FaceMatchThreshold", DEFAULT_MATCH_THRESHOLD)), exclude=frozenset({face_id}),
    )
    return {"SearchedFaceId": face_id, "FaceMatches": render.face_matches(matches),
            "FaceModelVersion": FACE_MODEL_VERSION}


@operation("SearchFacesByImage")
def search_faces_by_image(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    services.index.check_model(collection)
    _, face, _ = largest_searchable_face(services, request)
    matches = services.index.search(
        collection, face.vector, request.get("MaxFaces", DEFAULT_SEARCH_MAX_FACES),
        min_cosine(request.get("FaceMatchThreshold", DEFAULT_MATCH_THRESHOLD)),
    )
    return {
        "SearchedFaceBoundingBox": render.bounding_box(face.bounding_box),
        "SearchedFaceConfidence": float(face.confidence),
        "FaceMatches": render.face_matches(matches),
        "FaceModelVersion": FACE_MODEL_VERSION,
    }
