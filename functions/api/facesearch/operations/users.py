"""Users: CreateUser, DeleteUser, ListUsers, AssociateFaces, DisassociateFaces, SearchUsers(ByImage).

A user item keeps the set of its FaceIds (at most 100, Rekognition's limit); each associated face
item carries the UserId. Both change in one transaction, so they never disagree.
Statuses: CREATED (no faces yet) and ACTIVE (has faces); every change here is synchronous, so
UPDATING and CREATING are never observed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import regex

from facesearch.index import search
from facesearch.settings import FACE_MODEL_VERSION
from facesearch.errors import (
    ConflictException,
    InvalidParameterException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
)
from facesearch.operations.faces import embedding_of, largest_searchable_face
from facesearch.operations.images import face_detail
from facesearch.operations.registry import Services, operation
from facesearch.wire.protocol import service_model
from facesearch.vision.similarity import to_similarity
from facesearch.storage.table import Collection, StaleRead, UserConflict, check_token

MAX_FACES_PER_USER = 100
DEFAULT_ASSOCIATE_THRESHOLD = 75.0
DEFAULT_USER_SEARCH_THRESHOLD = 80.0
DEFAULT_MAX_USERS = 10
DEFAULT_MAX_RESULTS = 100
RETRIES = 8
_USER_ID = regex.compile(service_model().shape_for("UserId").metadata["pattern"])


def user_status(user: dict[str, Any]) -> str:
    return "ACTIVE" if user.get("FaceIds") else "CREATED"


def get_user(services: Services, collection: Collection, user_id: str) -> dict[str, Any]:
    user = services.table.get_item(f"U#{collection.uid}", user_id)
    if user is None:
        raise ResourceNotFoundException(f"The user {user_id} does not exist in collection {collection.collection_id}.")
    return user


@operation("CreateUser")
def create_user(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    collection = services.table.get_collection(request["CollectionId"])
    user_id, token = request["UserId"], request.get("ClientRequestToken")
    try:
        services.table.create_user(collection, user_id, token)
    except UserConflict as conflict:
        existing = services.table.get_item(f"U#{collection.uid}", user_id) or {}
        if token is not None and existing.get("ClientRequestToken") == token:
            return {}  # the same request again: idempotent
        raise ConflictException(f"The user {user_id} already exists.") from conflict
    return {}


@operation("DeleteUser")
def delete_user(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    collection = services.table.get_collection(request["CollectionId"])
    user_id = request["UserId"]
    for _ in range(RETRIES):
        user = get_user(services, collection, user_id)
        face_ids = sorted(user.get("FaceIds") or ())
        try:
            for start in range(0, len(face_ids), 98):
                services.table.set_faces_user(collection, user_id, face_ids[start : start + 98], associate=False)
            services.table.delete_user(collection, user_id)
            return {}
        except StaleRead:
            continue  # faces were associated meanwhile: disassociate those too
    raise ConflictException(f"The user {user_id} is being changed by another request; retry.")


@operation("ListUsers")
def list_users(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    collection = services.table.get_collection(request["CollectionId"])
    start = check_token(request.get("NextToken"), _USER_ID)
    items, next_token = services.table.query_page(
        f"U#{collection.uid}", request.get("MaxResults") or DEFAULT_MAX_RESULTS, start
    )
    result: dict[str, Any] = {"Users": [{"UserId": item["sk"], "UserStatus": user_status(item)} for item in items]}
    if next_token:
        result["NextToken"] = next_token
    return result


def _user_embeddings(services: Services, collection: Collection, face_ids: list[str]) -> np.ndarray:
    items = services.table.get_items(f"F#{collection.uid}", face_ids)
    rows = [embedding_of(items[face_id]) for face_id in face_ids if face_id in items]
    return np.stack(rows) if rows else np.empty((0, 128), dtype=np.float32)


@operation("AssociateFaces")
def associate_faces(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    collection = services.table.get_collection(request["CollectionId"])
    user_id = request["UserId"]
    threshold = request.get("UserMatchThreshold", DEFAULT_ASSOCIATE_THRESHOLD)
    requested = list(dict.fromkeys(request["FaceIds"]))
    for _ in range(RETRIES):
        user = get_user(services, collection, user_id)
        owned = set(user.get("FaceIds") or ())
        faces = services.table.get_items(f"F#{collection.uid}", requested)
        user_matrix = _user_embeddings(services, collection, sorted(owned))
        associated, new, unsuccessful = [], [], []
        for face_id in requested:
            face = faces.get(face_id)
            if face is None:
                unsuccessful.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
            elif face.get("UserId") == user_id:
                associated.append({"FaceId": face_id})
            elif face.get("UserId"):
                unsuccessful.append({"FaceId": face_id, "UserId": face["UserId"],
                                     "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]})
            else:
                if len(user_matrix):
                    confidence = float(to_similarity(float(np.max(user_matrix @ embedding_of(face)))))
                    if confidence < threshold:
                        unsuccessful.append({"FaceId": face_id, "UserId": user_id, "Confidence": confidence,
                                             "Reasons": ["LOW_MATCH_CONFIDENCE"]})
                        continue
                new.append(face_id)
        if len(owned) + len(new) > MAX_FACES_PER_USER:
            raise ServiceQuotaExceededException(
                f"A user can have at most {MAX_FACES_PER_USER} faces; {user_id} has {len(owned)}."
            )
        try:
            if new:
                services.table.set_faces_user(collection, user_id, new, associate=True,
                                              max_faces=MAX_FACES_PER_USER)
        except StaleRead:
            continue
        associated.extend({"FaceId": face_id} for face_id in new)
        status = "ACTIVE" if owned or new else "CREATED"
        return {"AssociatedFaces": associated, "UnsuccessfulFaceAssociations": unsuccessful, "UserStatus": status}
    raise ConflictException(f"The user {user_id} is being changed by another request; retry.")


@operation("DisassociateFaces")
def disassociate_faces(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    collection = services.table.get_collection(request["CollectionId"])
    user_id = request["UserId"]
    requested = list(dict.fromkeys(request["FaceIds"]))
    for _ in range(RETRIES):
        user = get_user(services, collection, user_id)
        faces = services.table.get_items(f"F#{collection.uid}", requested, attributes="sk, UserId")
        mine, unsuccessful = [], []
        for face_id in requested:
            face = faces.get(face_id)
            if face is None:
                unsuccessful.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
            elif face.get("UserId") != user_id:
                unsuccessful.append({"FaceId": face_id, "UserId": face.get("UserId") or user_id,
                                     "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]})
            else:
                mine.append(face_id)
        try:
            if mine:
                services.table.set_faces_user(collection, user_id, mine, associate=False)
        except StaleRead:
            continue
        remaining = set(user.get("FaceIds") or ()) - set(mine)
        return {
            "DisassociatedFaces": [{"FaceId": face_id} for face_id in mine],
            "UnsuccessfulFaceDisassociations": unsuccessful,
            "UserStatus": "ACTIVE" if remaining else "CREATED",
        }
    raise ConflictException(f"The user {user_id} is being changed by another request; retry.")


def user_matches(services: Services, collection: Collection, query: np.ndarray, request: dict[str, Any],
                 exclude_faces: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Users ranked by their best-matching face (the query's own faces excluded); others are passed over."""
    threshold = request.get("UserMatchThreshold", DEFAULT_USER_SEARCH_THRESHOLD)
    max_users = request.get("MaxUsers", DEFAULT_MAX_USERS)
    matches = search.search(services, collection, query, 4096, threshold, exclude=exclude_faces)
    best: dict[str, float] = {}
    for match in matches:
        owner = match.face.get("UserId")
        if owner and owner not in best:
            best[owner] = match.similarity  # matches come best first
    ranked = list(best.items())[:max_users]
    users = services.table.get_items(f"U#{collection.uid}", [user_id for user_id, _ in ranked])
    return [{"Similarity": similarity, "User": {"UserId": user_id, "UserStatus": user_status(users.get(user_id, {}))}}
            for user_id, similarity in ranked if user_id in users]


@operation("SearchUsers")
def search_users(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    collection = services.table.get_collection(request["CollectionId"])
    user_id, face_id = request.get("UserId"), request.get("FaceId")
    if (user_id is None) == (face_id is None):
        raise InvalidParameterException("Exactly one of UserId or FaceId must be provided.")
    result: dict[str, Any] = {"FaceModelVersion": FACE_MODEL_VERSION}
    if face_id is not None:
        face = services.table.get_item(f"F#{collection.uid}", face_id)
        if face is None:
            raise InvalidParameterException(f"Face {face_id} does not exist in collection {collection.collection_id}.")
        query, exclude_faces = embedding_of(face), frozenset({face_id})
        result["SearchedFace"] = {"FaceId": face_id}
    else:
        user = get_user(services, collection, user_id)
        face_ids = sorted(user.get("FaceIds") or ())
        matrix = _user_embeddings(services, collection, face_ids)
        if not len(matrix):
            raise InvalidParameterException(f"The user {user_id} has no faces to search with.")
        mean = matrix.mean(axis=0)
        query, exclude_faces = mean / np.linalg.norm(mean), frozenset(face_ids)
        result["SearchedUser"] = {"UserId": user_id}
    result["UserMatches"] = user_matches(services, collection, query, request, exclude_faces)
    return result


@operation("SearchUsersByImage")
def search_users_by_image(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    collection = services.table.get_collection(request["CollectionId"])
    _, face, faces = largest_searchable_face(services, request)
    return {
        "UserMatches": user_matches(services, collection, face.embedding, request),
        "FaceModelVersion": FACE_MODEL_VERSION,
        "SearchedFace": {"FaceDetail": face_detail(face)},
        "UnsearchedFaces": [{"FaceDetails": face_detail(other), "Reasons": ["FACE_NOT_LARGEST"]}
                            for other in faces if other is not face],
    }
