"""ExportFaces and ImportFaces: a collection's faces with their embeddings, moved without their photos.

Rekognition never hands out its vectors, so moving or backing up a collection means indexing every photo
again. An export page holds each face's metadata and embedding (about 1.1 KB of JSON a face, so a page of
1000 stays near 1.1 MB, far under Lambda's 6 MB response); an import stores them under the same FaceIds,
ImageIds and ExternalImageIds, re-creates their users, and commits through the index seam in its atomic
batches. Faces the collection holds already are left alone, so an import repeated, or resumed after a
failure, stores nothing twice. Faces of another face model are refused: their vectors mean nothing here.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from facesearch.errors import (
    ConflictException,
    FaceModelVersionMismatchException,
    InvalidParameterException,
    ServiceQuotaExceededException,
)
from facesearch.geometry import BoundingBox
from facesearch.operations import pagination, render
from facesearch.operations.registry import Request, operation
from facesearch.services import Services
from facesearch.storage import Collection, FaceRecord, StaleRead, UserConflict, retry_on_stale
from facesearch.storage.faces import FACES_PER_TRANSACTION, DuplicateFace
from facesearch.storage.users import MAX_FACES_PER_USER

DEFAULT_EXPORT_PAGE = 1000
UNIT_TOLERANCE = 1e-3  # an embedding's norm may differ from 1 by float32 rounding, not more
USER_BATCH = FACES_PER_TRANSACTION  # faces per association transaction, beside the user item


@operation("ExportFaces", service="facesearch")
def export_faces(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    faces, token = pagination.paged(request.get("NextToken"), "ExportFaces", collection.uid,
                                    lambda n, start: services.storage.faces.page(collection, n, start),
                                    lambda face: face.face_id, request.get("MaxResults") or DEFAULT_EXPORT_PAGE)
    result: dict[str, Any] = {"FaceModelVersion": collection.face_model_version,
                              "Faces": [render.exported_face(face) for face in faces]}
    if token:
        result["NextToken"] = token
    return result


def unit_embedding(raw: bytes, face_id: str) -> bytes:
    """The embedding as stored: 128 finite float32 values of unit length, else InvalidParameterException."""
    vector = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    norm = float(np.linalg.norm(vector)) if np.all(np.isfinite(vector)) else float("nan")
    if not abs(norm - 1.0) <= UNIT_TOLERANCE:
        raise InvalidParameterException(f"The Embedding of face {face_id} is not a unit vector of 128 float32 values.")
    return (vector / norm).astype(np.float32).tobytes()


def imported_record(face: Mapping[str, Any], version: str) -> FaceRecord:
    """The face as it is stored; its user is associated afterwards, through the users' own transactions."""
    face_version = face.get("IndexFacesModelVersion", version)
    if face_version != version:
        raise FaceModelVersionMismatchException(
            f"Face {face['FaceId']} is of IndexFacesModelVersion {face_version}, the import of FaceModelVersion "
            f"{version}.")
    box = face["BoundingBox"]
    return FaceRecord(
        face_id=face["FaceId"], image_id=face["ImageId"], confidence=float(face["Confidence"]), model_version=version,
        bounding_box=BoundingBox(width=float(box.get("Width", 0.0)), height=float(box.get("Height", 0.0)),
                                 left=float(box.get("Left", 0.0)), top=float(box.get("Top", 0.0))),
        external_image_id=face.get("ExternalImageId"), embedding=unit_embedding(face["Embedding"], face["FaceId"]))


def store_batch(services: Services, collection: Collection, batch: Sequence[FaceRecord]) -> list[str]:
    """Commit the faces of `batch` the collection does not hold yet, atomically; the FaceIds stored."""
    imported: list[str] = []

    def attempt() -> None:
        present = services.storage.faces.existing(collection, [face.face_id for face in batch])
        new = [face for face in batch if face.face_id not in present]
        try:
            services.index.add(collection, new)
        except DuplicateFace as duplicate:  # a twin import committed some of them first: read again
            raise StaleRead("faces appeared meanwhile") from duplicate
        imported.extend(face.face_id for face in new)

    retry_on_stale(attempt, lambda: ConflictException("The faces are being imported by another request; retry."))
    return imported


def associate_user(services: Services, collection: Collection, user_id: str, face_ids: Sequence[str]) -> None:
    """Create the user if missing and associate those of its faces that belong to nobody yet."""
    with contextlib.suppress(UserConflict):  # there already: a repeated import, or the target's own user
        services.storage.users.create(collection, user_id, None)

    def attempt() -> None:
        faces = services.storage.faces.get_many(collection, face_ids, embeddings=False)
        free = [face_id for face_id in face_ids if face_id in faces and faces[face_id].user_id is None]
        user = services.storage.users.get(collection, user_id)
        owned = len(user.face_ids) if user else 0
        if owned + len(free) > MAX_FACES_PER_USER:
            raise ServiceQuotaExceededException(
                f"A user can have at most {MAX_FACES_PER_USER} faces; {user_id} has {owned}.")
        for start in range(0, len(free), USER_BATCH):
            services.storage.users.set_faces(collection, user_id, free[start : start + USER_BATCH], associate=True)

    retry_on_stale(attempt, lambda: ConflictException(f"The user {user_id} is being changed by another request; "
                                                      "retry."))


@operation("ImportFaces", service="facesearch")
def import_faces(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    version = request["FaceModelVersion"]
    services.index.check_model(collection, version)
    by_id = {face["FaceId"]: face for face in request["Faces"]}  # a FaceId listed twice is imported once
    records = [imported_record(face, version) for face in by_id.values()]
    imported: list[str] = []
    for start in range(0, len(records), FACES_PER_TRANSACTION):
        imported.extend(store_batch(services, collection, records[start : start + FACES_PER_TRANSACTION]))
    owners: dict[str, list[str]] = defaultdict(list)
    for face in by_id.values():
        if face.get("UserId"):
            owners[face["UserId"]].append(face["FaceId"])
    for user_id, face_ids in owners.items():
        associate_user(services, collection, user_id, face_ids)
    added = set(imported)
    return {"ImportedFaces": imported, "ExistingFaces": [face_id for face_id in by_id if face_id not in added],
            "FaceModelVersion": version}
