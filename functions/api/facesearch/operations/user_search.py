"""SearchUsers and SearchUsersByImage: users ranked by their best-matching face."""

from __future__ import annotations

from typing import Any

import numpy as np

from facesearch.errors import InvalidParameterException
from facesearch.operations import render
from facesearch.operations.analysis import searchable_faces
from facesearch.operations.registry import Request, operation
from facesearch.operations.search import min_cosine, stored_face
from facesearch.operations.users import get_user, user_vectors
from facesearch.services import Services
from facesearch.storage import Collection
from facesearch.vision import FACE_MODEL_VERSION, quality_filter
from facesearch.vision.image_decoder import DecodedImage
from facesearch.vision.pipeline import AnalyzedFace

DEFAULT_USER_SEARCH_THRESHOLD = 80.0
DEFAULT_MAX_USERS = 10
USER_SEARCH_DEPTH = 4096  # users are found among this many nearest faces


def user_matches(services: Services, collection: Collection, query: np.ndarray, request: Request,
                 exclude_faces: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Users ranked by their best-matching face (the query's own faces excluded); others are passed over."""
    threshold = request.get("UserMatchThreshold", DEFAULT_USER_SEARCH_THRESHOLD)
    matches = services.index.search(collection, query, USER_SEARCH_DEPTH, min_cosine(threshold), exclude_faces)
    best: dict[str, float] = {}
    for match in matches:
        owner = match.face.user_id
        if owner and owner not in best:
            best[owner] = render.similarity(match.cosine)  # matches come best first
    ranked = list(best.items())[: request.get("MaxUsers", DEFAULT_MAX_USERS)]
    users = services.storage.users.get_many(collection, [user_id for user_id, _ in ranked])
    return [{"Similarity": similarity, "User": render.user(users[user_id])}
            for user_id, similarity in ranked if user_id in users]


@operation("SearchUsers")
def search_users(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    user_id: str | None = request.get("UserId")
    face_id: str | None = request.get("FaceId")
    if (user_id is None) == (face_id is None):
        raise InvalidParameterException("Exactly one of UserId or FaceId must be provided.")
    result: dict[str, Any] = {"FaceModelVersion": FACE_MODEL_VERSION}
    if face_id is not None:
        query, exclude = stored_face(services, collection, face_id).vector, frozenset({face_id})
        result["SearchedFace"] = {"FaceId": face_id}
    elif user_id is not None:
        face_ids = sorted(get_user(services, collection, user_id).face_ids)
        matrix = user_vectors(services, collection, face_ids)
        if not len(matrix):
            raise InvalidParameterException(f"The user {user_id} has no faces to search with.")
        mean = matrix.mean(axis=0)
        query, exclude = mean / np.linalg.norm(mean), frozenset(face_ids)
        result["SearchedUser"] = {"UserId": user_id}
    result["UserMatches"] = user_matches(services, collection, query, request, exclude)
    return result


def unsearched_reasons(face: AnalyzedFace, image: DecodedImage, level: str) -> list[str]:
    """Why a face was not searched: the QualityFilter reasons it failed, else FACE_NOT_LARGEST."""
    return quality_filter.rejection_reasons(face, image.width, image.height, level) or ["FACE_NOT_LARGEST"]


@operation("SearchUsersByImage")
def search_users_by_image(services: Services, request: Request) -> dict[str, Any]:
    """"If no valid face is detected in the image, the response will contain an empty UserMatches list and no
    SearchedFace object." """
    collection = services.storage.collections.get(request["CollectionId"])
    services.index.check_model(collection)
    image, face, faces = searchable_faces(services, request)
    level = request.get("QualityFilter", "NONE")
    result: dict[str, Any] = {
        "UserMatches": user_matches(services, collection, face.vector, request) if face is not None else [],
        "FaceModelVersion": FACE_MODEL_VERSION,
        "UnsearchedFaces": [{"FaceDetails": render.face_detail(other),
                             "Reasons": unsearched_reasons(other, image, level)}
                            for other in faces if other is not face],
    }
    if face is not None:
        result["SearchedFace"] = {"FaceDetail": render.face_detail(face)}
    return result
