"""Faces: one item per face, the source of truth (a face exists iff its item exists)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from facesearch.geometry import BoundingBox
from facesearch.storage import keys
from facesearch.storage.codec import cancellation_reasons, decimal, translate
from facesearch.storage.collections import CollectionRepo, not_found
from facesearch.storage.records import Collection, FaceRecord, Page, SegmentRef
from facesearch.storage.retry import StaleRead
from facesearch.storage.table import TRANSACTION_LIMIT, Action, Table

FACES_PER_TRANSACTION = TRANSACTION_LIMIT - 2  # room for the META update and the image record
WITHOUT_EMBEDDING = "sk, ImageId, ExternalImageId, BoundingBox, Confidence, IndexFacesModelVersion, UserId"


class DuplicateImage(Exception):
    """The image (and external id) was committed by another request while this one was indexing it."""


class DuplicateFace(Exception):
    """A face with one of these FaceIds exists already (imports keep FaceIds; a twin import won)."""


def _box(values: Mapping[str, Any]) -> BoundingBox:
    return BoundingBox(width=float(values["Width"]), height=float(values["Height"]), left=float(values["Left"]),
                       top=float(values["Top"]))


def to_values(uid: str, face: FaceRecord) -> dict[str, Any]:
    box = face.bounding_box
    return {
        **keys.face_key(uid, face.face_id),
        "ImageId": face.image_id,
        "ExternalImageId": face.external_image_id,
        "BoundingBox": {"Width": decimal(box.width), "Height": decimal(box.height), "Left": decimal(box.left),
                        "Top": decimal(box.top)},
        "Confidence": decimal(face.confidence),
        "IndexFacesModelVersion": face.model_version,
        "UserId": face.user_id,
        "Embedding": face.embedding or None,
        "Segment": face.segment_id,
        "IndexedAt": decimal(face.indexed_at) if face.indexed_at is not None else None,
        keys.EXTERNAL_KEY: keys.external_key(uid, face.external_image_id) if face.external_image_id else None,
    }


def from_values(values: Mapping[str, Any]) -> FaceRecord:
    raw = values.get("Embedding")
    return FaceRecord(
        face_id=values["sk"],
        image_id=values["ImageId"],
        bounding_box=_box(values["BoundingBox"]),
        confidence=float(values["Confidence"]),
        model_version=values.get("IndexFacesModelVersion", ""),
        external_image_id=values.get("ExternalImageId"),
        user_id=values.get("UserId") or None,
        embedding=bytes(getattr(raw, "value", raw)) if raw is not None else b"",
        segment_id=values.get("Segment"),
        indexed_at=float(values["IndexedAt"]) if "IndexedAt" in values else None,
    )


class FaceRepo:
    def __init__(self, table: Table, collections: CollectionRepo) -> None:
        self.table = table
        self.collections = collections

    def add(self, collection: Collection, segment: SegmentRef, faces: Sequence[FaceRecord],
            image: Action | None = None) -> None:
        """Make a written segment and its faces visible at once, with the face count, or not at all.

        `image` (IndexedImageRepo.put_action) commits the image's record with them; DuplicateImage if a twin
        request committed the same image first.
        """
        if len(faces) > FACES_PER_TRANSACTION:
            raise ValueError(f"{len(faces)} faces: a commit holds at most {FACES_PER_TRANSACTION}")
        actions = [self.table.put_action(to_values(collection.uid, face), "attribute_not_exists(pk)")
                   for face in faces]
        if image is not None:
            actions.append(image)
        actions.append(self.collections.add_segments_action(collection, [segment], len(faces)))
        try:
            self.table.transact(actions)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if reasons and reasons[-1] == "ConditionalCheckFailed":
                raise not_found(collection.collection_id) from error
            if image is not None and len(reasons) >= 2 and reasons[-2] == "ConditionalCheckFailed":
                raise DuplicateImage("the same image was indexed by another request first") from error
            if "ConditionalCheckFailed" in reasons[: len(faces)]:
                raise DuplicateFace("a face with one of these FaceIds exists already") from error
            raise translate(error) from error

    def load(self, collection: Collection, faces: Sequence[FaceRecord]) -> int:
        """Bulk-write face items without a transaction (the index seam's bulk load); returns the calls."""
        return self.table.put_many([to_values(collection.uid, face) for face in faces])

    def get(self, collection: Collection, face_id: str) -> FaceRecord | None:
        values = self.table.get(keys.face_key(collection.uid, face_id))
        return from_values(values) if values else None

    def get_many(self, collection: Collection, face_ids: Sequence[str], embeddings: bool = True
                 ) -> dict[str, FaceRecord]:
        found = self.table.get_many(keys.faces_partition(collection.uid), face_ids,
                                    None if embeddings else WITHOUT_EMBEDDING)
        return {face_id: from_values(values) for face_id, values in found.items()}

    def existing(self, collection: Collection, face_ids: Sequence[str]) -> set[str]:
        """Which of these faces still have an item (compaction drops the rows of the others)."""
        return set(self.table.get_many(keys.faces_partition(collection.uid), face_ids, "sk"))

    def page(self, collection: Collection, limit: int, start_after: str | None) -> Page[FaceRecord]:
        items, last = self.table.query_page(keys.faces_partition(collection.uid), limit, start_after)
        return Page([from_values(item) for item in items], last)

    def page_by_external_id(self, collection: Collection, external_image_id: str, limit: int,
                            start_after: str | None) -> Page[FaceRecord]:
        """Faces indexed with one ExternalImageId, in FaceId order, without embeddings: found through the
        sparse ByExternalImageId index, confirmed on their items (a face deleted meanwhile is left out)."""
        partition = keys.faces_partition(collection.uid)
        face_ids, last = self.table.query_index_page(
            keys.EXTERNAL_INDEX, keys.EXTERNAL_KEY, keys.external_key(collection.uid, external_image_id), partition,
            limit, start_after)
        found = self.get_many(collection, face_ids, embeddings=False)
        return Page([found[face_id] for face_id in face_ids if face_id in found], last)

    def delete(self, collection: Collection, face_ids: Sequence[str]) -> None:
        """Delete faces that exist and belong to no user, with the count, atomically; StaleRead if one moved."""
        if len(face_ids) > FACES_PER_TRANSACTION:
            raise ValueError(f"{len(face_ids)} faces: a delete holds at most {FACES_PER_TRANSACTION}")
        actions = [self.table.delete_action(keys.face_key(collection.uid, face_id),
                                            "attribute_exists(pk) AND attribute_not_exists(UserId)")
                   for face_id in face_ids]
        actions.append(self.collections.meta_action(collection, "ADD FaceCount :n", values={":n": -len(face_ids)}))
        try:
            self.table.transact(actions)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if "ConditionalCheckFailed" in reasons[:-1]:
                raise StaleRead("a face changed since it was read") from error
            if reasons and reasons[-1] == "ConditionalCheckFailed":
                raise not_found(collection.collection_id) from error
            raise translate(error) from error
