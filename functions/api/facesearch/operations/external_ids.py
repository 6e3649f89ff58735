"""ListFacesByExternalImageId and DeleteFacesByExternalImageId: faces managed by the caller's own id.

Rekognition has no way to find faces by ExternalImageId short of listing the whole collection; here the
sparse ByExternalImageId index finds them (storage/keys.py), and the face items confirm each hit.
"""

from __future__ import annotations

from typing import Any

from facesearch.operations import pagination, render
from facesearch.operations.faces import delete_faces
from facesearch.operations.registry import Request, operation
from facesearch.services import Services
from facesearch.storage import Collection, FaceRecord
from facesearch.vision import FACE_MODEL_VERSION

DEFAULT_MAX_RESULTS = 1000
DELETE_FACE_IDS = 4096  # DeleteFaces' FaceIdList holds at most this many


def _scope(collection: Collection, external_image_id: str) -> str:
    return f"{collection.uid}#{external_image_id}"


def _page(services: Services, collection: Collection, request: Request, operation_name: str
          ) -> tuple[list[FaceRecord], str | None]:
    external_image_id = request["ExternalImageId"]
    return pagination.paged(
        request.get("NextToken"), operation_name, _scope(collection, external_image_id),
        lambda n, start: services.storage.faces.page_by_external_id(collection, external_image_id, n, start),
        lambda face: face.face_id, request.get("MaxResults") or DEFAULT_MAX_RESULTS)


@operation("ListFacesByExternalImageId", service="facesearch")
def list_faces_by_external_image_id(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    faces, token = _page(services, collection, request, "ListFacesByExternalImageId")
    result: dict[str, Any] = {"Faces": [render.face(face) for face in faces], "FaceModelVersion": FACE_MODEL_VERSION}
    if token:
        result["NextToken"] = token
    return result


@operation("DeleteFacesByExternalImageId", service="facesearch")
def delete_faces_by_external_image_id(services: Services, request: Request) -> dict[str, Any]:
    """DeleteFaces of the faces found, with its rules (faces of a user stay) and its atomic batches."""
    collection = services.storage.collections.get(request["CollectionId"])
    faces, token = _page(services, collection, request, "DeleteFacesByExternalImageId")
    deleted: list[str] = []
    unsuccessful: list[dict[str, Any]] = []
    face_ids = [face.face_id for face in faces]
    for start in range(0, len(face_ids), DELETE_FACE_IDS):
        done = delete_faces(services, {"CollectionId": collection.collection_id,
                                       "FaceIds": face_ids[start : start + DELETE_FACE_IDS]})
        deleted.extend(done["DeletedFaces"])
        unsuccessful.extend(done.get("UnsuccessfulFaceDeletions", []))
    result: dict[str, Any] = {"DeletedFaces": deleted, "UnsuccessfulFaceDeletions": unsuccessful}
    if token:
        result["NextToken"] = token
    return result
