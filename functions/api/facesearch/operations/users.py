"""CreateUser, DeleteUser, ListUsers, AssociateFaces and DisassociateFaces.

A user owns at most 100 faces (Rekognition's limit); the user item and the face items change together
(storage/users.py). Every change is synchronous, so a user is CREATED (no faces) or ACTIVE.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from facesearch.errors import ConflictException, ResourceNotFoundException, ServiceQuotaExceededException
from facesearch.operations import pagination, render
from facesearch.operations.idempotency import idempotent
from facesearch.operations.registry import Request, operation
from facesearch.services import Services
from facesearch.storage import Collection, UserConflict, UserRecord, retry_on_stale
from facesearch.storage.users import MAX_FACES_PER_USER
from facesearch.vision.similarity import to_similarity

DEFAULT_ASSOCIATE_THRESHOLD = 75.0
DEFAULT_MAX_RESULTS = 100
USER_BATCH = 98  # faces per disassociation transaction, next to the user item


def get_user(services: Services, collection: Collection, user_id: str) -> UserRecord:
    user = services.storage.users.get(collection, user_id)
    if user is None:
        raise ResourceNotFoundException(f"The user {user_id} does not exist in collection {collection.collection_id}.")
    return user


def busy(user_id: str) -> ConflictException:
    return ConflictException(f"The user {user_id} is being changed by another request; retry.")


def user_vectors(services: Services, collection: Collection, face_ids: Sequence[str]) -> np.ndarray:
    """(n, 128) embeddings of those of `face_ids` that still exist."""
    faces = services.storage.faces.get_many(collection, face_ids)
    rows = [faces[face_id].vector for face_id in face_ids if face_id in faces]
    return np.stack(rows) if rows else np.empty((0, 128), dtype=np.float32)


@operation("CreateUser")
@idempotent("CreateUser")
def create_user(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    user_id = request["UserId"]
    try:
        services.storage.users.create(collection, user_id, request.get("ClientRequestToken"))
    except UserConflict as conflict:
        raise ConflictException(f"The user {user_id} already exists.") from conflict
    return {}


@operation("DeleteUser")
@idempotent("DeleteUser")
def delete_user(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    user_id = request["UserId"]

    def attempt() -> dict[str, Any]:
        face_ids = sorted(get_user(services, collection, user_id).face_ids)
        for start in range(0, len(face_ids), USER_BATCH):
            services.storage.users.set_faces(collection, user_id, face_ids[start : start + USER_BATCH],
                                             associate=False)
        services.storage.users.delete(collection, user_id)  # StaleRead if faces were associated meanwhile
        return {}

    return retry_on_stale(attempt, lambda: busy(user_id))


@operation("ListUsers")
def list_users(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    users, token = pagination.paged(request.get("NextToken"), "ListUsers", collection.uid,
                                    lambda n, start: services.storage.users.page(collection, n, start),
                                    lambda user: user.user_id, request.get("MaxResults") or DEFAULT_MAX_RESULTS)
    result: dict[str, Any] = {"Users": [render.user(user) for user in users]}
    if token:
        result["NextToken"] = token
    return result


@operation("AssociateFaces")
@idempotent("AssociateFaces")
def associate_faces(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    user_id = request["UserId"]
    threshold = request.get("UserMatchThreshold", DEFAULT_ASSOCIATE_THRESHOLD)
    requested = list(dict.fromkeys(request["FaceIds"]))

    def attempt() -> dict[str, Any]:
        owned = get_user(services, collection, user_id).face_ids
        faces = services.storage.faces.get_many(collection, requested)
        user_matrix = user_vectors(services, collection, sorted(owned))
        new: list[str] = []
        unsuccessful: list[dict[str, Any]] = []
        for face_id in requested:
            face = faces.get(face_id)
            if face is None:
                unsuccessful.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
            elif face.user_id == user_id:
                continue  # "already associated with the given UserID, it will be ignored and will not be returned"
            elif face.user_id:
                unsuccessful.append({"FaceId": face_id, "UserId": face.user_id,
                                     "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]})
            elif len(user_matrix) and (confidence := float(to_similarity(float(np.max(user_matrix @ face.vector))))
                                       ) < threshold:
                unsuccessful.append({"FaceId": face_id, "UserId": user_id, "Confidence": confidence,
                                     "Reasons": ["LOW_MATCH_CONFIDENCE"]})
            else:
                new.append(face_id)
        if len(owned) + len(new) > MAX_FACES_PER_USER:
            raise ServiceQuotaExceededException(
                f"A user can have at most {MAX_FACES_PER_USER} faces; {user_id} has {len(owned)}.")
        if new:
            services.storage.users.set_faces(collection, user_id, new, associate=True)
        return {"AssociatedFaces": [{"FaceId": face_id} for face_id in new],
                "UnsuccessfulFaceAssociations": unsuccessful,
                "UserStatus": "ACTIVE" if owned or new else "CREATED"}

    return retry_on_stale(attempt, lambda: busy(user_id))


@operation("DisassociateFaces")
@idempotent("DisassociateFaces")
def disassociate_faces(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    user_id = request["UserId"]
    requested = list(dict.fromkeys(request["FaceIds"]))

    def attempt() -> dict[str, Any]:
        user = get_user(services, collection, user_id)
        faces = services.storage.faces.get_many(collection, requested, embeddings=False)
        mine, unsuccessful = [], []
        for face_id in requested:
            face = faces.get(face_id)
            if face is None:
                unsuccessful.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
            elif face.user_id is None:
                continue  # "already disassociated from the given UserID, it will be ignored and not be returned"
            elif face.user_id != user_id:
                unsuccessful.append({"FaceId": face_id, "UserId": face.user_id,
                                     "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]})
            else:
                mine.append(face_id)
        if mine:
            services.storage.users.set_faces(collection, user_id, mine, associate=False)
        return {"DisassociatedFaces": [{"FaceId": face_id} for face_id in mine],
                "UnsuccessfulFaceDisassociations": unsuccessful,
                "UserStatus": "ACTIVE" if user.face_ids - set(mine) else "CREATED"}

    return retry_on_stale(attempt, lambda: busy(user_id))
