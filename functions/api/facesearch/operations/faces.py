"""ListFaces and DeleteFaces."""

from __future__ import annotations

from typing import Any

from facesearch.errors import ConflictException
from facesearch.operations import pagination, render
from facesearch.operations.registry import Request, operation
from facesearch.services import Services
from facesearch.storage import Collection, FaceRecord, StaleRead, retry_on_stale
from facesearch.storage.faces import FACES_PER_TRANSACTION
from facesearch.vision import FACE_MODEL_VERSION

DEFAULT_MAX_RESULTS = 1000


def _faces_by_id(services: Services, collection: Collection, request: Request, limit: int, start: str | None
                 ) -> tuple[list[FaceRecord], str | None]:
    wanted = sorted(face_id for face_id in set(request["FaceIds"]) if start is None or face_id > start)
    found = services.storage.faces.get_many(collection, wanted, embeddings=False)
    user_id = request.get("UserId")
    faces = [found[face_id] for face_id in wanted
             if face_id in found and (user_id is None or found[face_id].user_id == user_id)]
    next_key = faces[limit - 1].face_id if len(faces) > limit else None
    return faces[:limit], next_key


@operation("ListFaces")
def list_faces(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    limit = request.get("MaxResults") or DEFAULT_MAX_RESULTS
    cursor = pagination.decode(request.get("NextToken"), "ListFaces", collection.uid)
    user_id = request.get("UserId")
    if request.get("FaceIds"):
        faces, next_key = _faces_by_id(services, collection, request, limit, cursor.start_after)
    else:
        faces, next_key = pagination.page_of(
            lambda n, start: services.storage.faces.page(collection, n, start), lambda face: face.face_id,
            limit, cursor, keep=lambda face: user_id is None or face.user_id == user_id)
    result: dict[str, Any] = {"Faces": [render.face(face) for face in faces], "FaceModelVersion": FACE_MODEL_VERSION}
    if next_key:
        result["NextToken"] = pagination.encode("ListFaces", collection.uid, next_key)
    return result


@operation("DeleteFaces")
def delete_faces(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    deleted: list[str] = []
    unsuccessful: list[dict[str, Any]] = []
    pending = list(dict.fromkeys(request["FaceIds"]))

    def attempt() -> None:
        """Delete what can be deleted; faces that changed meanwhile (deleted, associated) are read again."""
        found = services.storage.faces.get_many(collection, pending, embeddings=False)
        deletable = []
        for face_id in pending:
            face = found.get(face_id)
            if face is None:
                unsuccessful.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
            elif face.user_id:
                unsuccessful.append({"FaceId": face_id, "UserId": face.user_id,
                                     "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]})
            else:
                deletable.append(face_id)
        retry: list[str] = []
        for start in range(0, len(deletable), FACES_PER_TRANSACTION):
            chunk = deletable[start : start + FACES_PER_TRANSACTION]
            try:
                services.storage.faces.delete(collection, chunk)
                deleted.extend(chunk)
            except StaleRead:
                retry.extend(chunk)
        pending[:] = retry
        if retry:
            raise StaleRead("some faces changed while being deleted")

    retry_on_stale(attempt, lambda: ConflictException("The faces are being changed by other requests; retry."))
    result: dict[str, Any] = {"DeletedFaces": deleted}
    if unsuccessful:
        result["UnsuccessfulFaceDeletions"] = unsuccessful
    return result
