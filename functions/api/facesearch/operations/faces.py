"""IndexFaces, ListFaces and DeleteFaces: deciding what to store and delete; the index does the writing."""

from __future__ import annotations

import uuid
from typing import Any

import regex

from facesearch.errors import ConflictException
from facesearch.operations import render
from facesearch.operations.images import analyze
from facesearch.operations.registry import Request, operation
from facesearch.services import Services
from facesearch.storage import Collection, FaceRecord, StaleRead, retry_on_stale
from facesearch.storage.faces import FACES_PER_TRANSACTION
from facesearch.vision import FACE_MODEL_VERSION, quality_filter
from facesearch.vision.imaging import DecodedImage
from facesearch.vision.pipeline import AnalyzedFace
from facesearch.wire.pagination import check_token
from facesearch.wire.protocol import service_model

DEFAULT_MAX_RESULTS = 1000
_FACE_ID = regex.compile(service_model().shape_for("FaceId").metadata["pattern"])


def select_faces(image: DecodedImage, faces: list[AnalyzedFace], level: str, max_faces: int
                 ) -> tuple[list[AnalyzedFace], list[dict[str, Any]]]:
    """The faces to index (largest first, at most max_faces) and the UnindexedFaces with their reasons."""
    kept: list[AnalyzedFace] = []
    unindexed: list[dict[str, Any]] = []
    for face in faces:  # largest first
        reasons = quality_filter.rejection_reasons(face, image.width, image.height, level)
        if not reasons and len(kept) >= max_faces:
            reasons = ["EXCEEDS_MAX_FACES"]
        if reasons:
            unindexed.append({"Reasons": reasons, "FaceDetail": render.face_detail(face)})
        else:
            kept.append(face)
    return kept, unindexed


def new_record(face: AnalyzedFace, image_id: str, external_image_id: str | None) -> FaceRecord:
    return FaceRecord(face_id=str(uuid.uuid4()), image_id=image_id, bounding_box=face.bounding_box,
                      confidence=float(face.confidence), model_version=FACE_MODEL_VERSION,
                      external_image_id=external_image_id, embedding=face.vector.astype("float32").tobytes())


@operation("IndexFaces")
def index_faces(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    services.index.check_model(collection)
    image, faces = analyze(services, request["Image"])
    kept, unindexed = select_faces(image, faces, request.get("QualityFilter", "AUTO"), request.get("MaxFaces", 100))
    image_id = str(uuid.uuid4())
    records = [new_record(face, image_id, request.get("ExternalImageId")) for face in kept]
    stored = services.index.add(collection, records)
    return {
        "FaceRecords": [{"Face": render.face(record), "FaceDetail": render.face_detail(face)}
                        for record, face in zip(stored, kept, strict=True)],
        "FaceModelVersion": FACE_MODEL_VERSION,
        "UnindexedFaces": unindexed,
    }


def _faces_by_id(services: Services, collection: Collection, request: Request, limit: int, start: str | None
                 ) -> tuple[list[FaceRecord], str | None]:
    wanted = sorted(face_id for face_id in set(request["FaceIds"]) if start is None or face_id > start)
    found = services.storage.faces.get_many(collection, wanted, embeddings=False)
    user_id = request.get("UserId")
    faces = [found[face_id] for face_id in wanted
             if face_id in found and (user_id is None or found[face_id].user_id == user_id)]
    next_key = faces[limit - 1].face_id if len(faces) > limit else None
    return faces[:limit], next_key


def _faces_in_order(services: Services, collection: Collection, user_id: str | None, limit: int,
                    start: str | None) -> tuple[list[FaceRecord], str | None]:
    faces: list[FaceRecord] = []
    cursor = start
    while len(faces) < limit:
        page = services.storage.faces.page(collection, limit - len(faces), cursor)
        faces.extend(face for face in page.items if user_id is None or face.user_id == user_id)
        cursor = page.next_key
        if cursor is None:
            break
    return faces, cursor if len(faces) >= limit and cursor else None


@operation("ListFaces")
def list_faces(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    limit = request.get("MaxResults") or DEFAULT_MAX_RESULTS
    start = check_token(request.get("NextToken"), _FACE_ID)
    if request.get("FaceIds"):
        faces, next_key = _faces_by_id(services, collection, request, limit, start)
    else:
        faces, next_key = _faces_in_order(services, collection, request.get("UserId"), limit, start)
    result: dict[str, Any] = {"Faces": [render.face(face) for face in faces], "FaceModelVersion": FACE_MODEL_VERSION}
    if next_key:
        result["NextToken"] = next_key
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
