"""IndexFaces, ListFaces, DeleteFaces, SearchFaces and SearchFacesByImage on crash-safe storage.

IndexFaces writes the new embeddings to a fresh S3 segment first, then commits the face items,
the segment's reference and the face count in one DynamoDB transaction (99 faces a transaction,
so an image's 100 faces take two): a face is visible exactly when its item exists.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import numpy as np
import regex

from facesearch.index import compaction
from facesearch.vision import quality_filter
from facesearch.index import search
from facesearch.index import shards as segments
from facesearch.settings import FACE_MODEL_VERSION
from facesearch.errors import InvalidParameterException
from facesearch.operations.images import analyze, face_detail
from facesearch.operations.registry import Services, operation
from facesearch.wire.protocol import service_model
from facesearch.storage.table import TRANSACTION_LIMIT, Collection, SegmentRef, StaleRead, check_token

DEFAULT_MAX_RESULTS = 1000
DEFAULT_SEARCH_MAX_FACES = 80
DEFAULT_MATCH_THRESHOLD = 80.0
FACES_PER_TRANSACTION = TRANSACTION_LIMIT - 1  # one action is the META update
_FACE_ID = regex.compile(service_model().shape_for("FaceId").metadata["pattern"])


def _decimal(value: float) -> Decimal:
    return Decimal(repr(round(float(value), 6)))


def face_record(item: dict[str, Any]) -> dict[str, Any]:
    """Rekognition's Face from a face item."""
    face = {
        "FaceId": item["sk"],
        "BoundingBox": {key: float(value) for key, value in item["BoundingBox"].items()},
        "ImageId": item["ImageId"],
        "ExternalImageId": item.get("ExternalImageId"),
        "Confidence": float(item["Confidence"]),
        "IndexFacesModelVersion": item.get("IndexFacesModelVersion", FACE_MODEL_VERSION),
    }
    if item.get("UserId"):
        face["UserId"] = item["UserId"]
    return face


def embedding_of(item: dict[str, Any]) -> np.ndarray:
    raw = item["Embedding"]
    return np.frombuffer(bytes(raw.value if hasattr(raw, "value") else raw), dtype=np.float32)


@operation("IndexFaces")
def index_faces(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    collection = services.table.get_collection(request["CollectionId"])
    image, faces = analyze(services, request["Image"])
    level = request.get("QualityFilter", "AUTO")
    max_faces = request.get("MaxFaces", 100)
    kept, unindexed = [], []
    for face in faces:  # largest first
        reasons = quality_filter.rejection_reasons(face, image.width, image.height, level)
        if not reasons and len(kept) >= max_faces:
            reasons = ["EXCEEDS_MAX_FACES"]
        if reasons:
            unindexed.append({"Reasons": reasons, "FaceDetail": face_detail(face)})
        else:
            kept.append(face)
    image_id = str(uuid.uuid4())
    records = []
    for start in range(0, len(kept), FACES_PER_TRANSACTION):
        chunk = kept[start : start + FACES_PER_TRANSACTION]
        face_ids = [str(uuid.uuid4()) for _ in chunk]
        commit(services, collection, face_ids, chunk, image_id, request.get("ExternalImageId"))
        records.extend(
            {"Face": {"FaceId": face_id, "BoundingBox": face.bounding_box.to_dict(), "ImageId": image_id,
                      "ExternalImageId": request.get("ExternalImageId"), "Confidence": float(face.confidence),
                      "IndexFacesModelVersion": FACE_MODEL_VERSION},
             "FaceDetail": face_detail(face)}
            for face_id, face in zip(face_ids, chunk, strict=True)
        )
    if records:
        compaction.compact_after_write(services, collection.collection_id, collection.uid)
    return {"FaceRecords": records, "FaceModelVersion": FACE_MODEL_VERSION, "UnindexedFaces": unindexed}


def commit(services: Services, collection: Collection, face_ids: list[str], faces: list[Any], image_id: str,
           external_image_id: str | None) -> None:
    """Segment object first, then the one transaction that makes it and its faces visible."""
    embeddings = np.stack([face.embedding for face in faces]).astype(np.float32)
    segment_id = segments.new_segment_id()
    ref = SegmentRef(segment_id, segments.segment_key(collection.uid, segment_id, 0), len(faces), 0)
    services.resources.segments.put(ref.key, segments.make_segment(face_ids, embeddings))
    now = _decimal(time.time())
    items = [
        {
            "sk": face_id,
            "ImageId": image_id,
            "ExternalImageId": external_image_id,
            "BoundingBox": {key: _decimal(value) for key, value in face.bounding_box.to_dict().items()},
            "Confidence": _decimal(face.confidence),
            "IndexFacesModelVersion": FACE_MODEL_VERSION,
            "Embedding": embedding.tobytes(),
            "Segment": segment_id,
            "IndexedAt": now,
        }
        for face_id, face, embedding in zip(face_ids, faces, embeddings, strict=True)
    ]
    services.table.commit_faces(collection, ref, items)


@operation("ListFaces")
def list_faces(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    collection = services.table.get_collection(request["CollectionId"])
    limit = request.get("MaxResults") or DEFAULT_MAX_RESULTS
    start = check_token(request.get("NextToken"), _FACE_ID)
    wanted_ids = set(request.get("FaceIds") or ())
    user_id = request.get("UserId")
    pk = f"F#{collection.uid}"
    if wanted_ids:
        ids = sorted(face_id for face_id in wanted_ids if start is None or face_id > start)
        found = services.table.get_items(pk, ids)
        items = [found[face_id] for face_id in ids if face_id in found
                 and (user_id is None or found[face_id].get("UserId") == user_id)]
        next_token = items[limit - 1]["sk"] if len(items) > limit else None
        items = items[:limit]
    else:
        items, next_token = [], None
        cursor = start
        while len(items) < limit:
            page, cursor = services.table.query_page(pk, limit - len(items), cursor)
            items.extend(item for item in page if user_id is None or item.get("UserId") == user_id)
            if cursor is None:
                break
        next_token = cursor if len(items) >= limit and cursor else None
    result: dict[str, Any] = {"Faces": [face_record(item) for item in items], "FaceModelVersion": FACE_MODEL_VERSION}
    if next_token:
        result["NextToken"] = next_token
    return result


@operation("DeleteFaces")
def delete_faces(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    collection = services.table.get_collection(request["CollectionId"])
    requested = list(dict.fromkeys(request["FaceIds"]))
    deleted: list[str] = []
    unsuccessful: list[dict[str, Any]] = []
    pending = requested
    for _ in range(8):
        found = services.table.get_items(f"F#{collection.uid}", pending, attributes="sk, UserId")
        deletable = []
        for face_id in pending:
            item = found.get(face_id)
            if item is None:
                unsuccessful.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
            elif item.get("UserId"):
                unsuccessful.append({"FaceId": face_id, "UserId": item["UserId"],
                                     "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]})
            else:
                deletable.append(face_id)
        retry: list[str] = []
        for start in range(0, len(deletable), FACES_PER_TRANSACTION):
            chunk = deletable[start : start + FACES_PER_TRANSACTION]
            try:
                services.table.delete_faces(collection, chunk)
                deleted.extend(chunk)
            except StaleRead:
                retry.extend(chunk)  # a face changed meanwhile (deleted or associated): read again
        if not retry:
            break
        pending = retry
    result: dict[str, Any] = {"DeletedFaces": deleted}
    if unsuccessful:
        result["UnsuccessfulFaceDeletions"] = unsuccessful
    return result


def matches_response(matches: list[search.Match]) -> list[dict[str, Any]]:
    return [{"Similarity": match.similarity, "Face": face_record(match.face)} for match in matches]


@operation("SearchFaces")
def search_faces(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    collection = services.table.get_collection(request["CollectionId"])
    face_id = request["FaceId"]
    item = services.table.get_item(f"F#{collection.uid}", face_id)
    if item is None:
        raise InvalidParameterException(f"Face {face_id} does not exist in collection {collection.collection_id}.")
    matches = search.search(
        services, collection, embedding_of(item), request.get("MaxFaces", DEFAULT_SEARCH_MAX_FACES),
        request.get("FaceMatchThreshold", DEFAULT_MATCH_THRESHOLD), exclude=frozenset({face_id}),
    )
    return {"SearchedFaceId": face_id, "FaceMatches": matches_response(matches), "FaceModelVersion": FACE_MODEL_VERSION}


def largest_searchable_face(services: Services, request: dict[str, Any]) -> tuple[Any, Any, list[Any]]:
    """The image's largest face that passes QualityFilter (default NONE), or InvalidParameterException."""
    image, faces = analyze(services, request["Image"])
    level = request.get("QualityFilter", "NONE")
    passing = [face for face in faces if not quality_filter.rejection_reasons(face, image.width, image.height, level)]
    if not passing:
        raise InvalidParameterException("There are no faces in the image. Should be at least 1.")
    return image, passing[0], faces


@operation("SearchFacesByImage")
def search_faces_by_image(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    collection = services.table.get_collection(request["CollectionId"])
    _, face, _ = largest_searchable_face(services, request)
    matches = search.search(
        services, collection, face.embedding, request.get("MaxFaces", DEFAULT_SEARCH_MAX_FACES),
        request.get("FaceMatchThreshold", DEFAULT_MATCH_THRESHOLD),
    )
    return {
        "SearchedFaceBoundingBox": face.bounding_box.to_dict(),
        "SearchedFaceConfidence": float(face.confidence),
        "FaceMatches": matches_response(matches),
        "FaceModelVersion": FACE_MODEL_VERSION,
    }
