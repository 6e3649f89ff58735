"""Collections: the META item (counts, tags, the segment list) and the listing entry, in one repository.

Every write that changes what a collection holds is one transaction that also updates the META item, on
the condition that the collection (the same Uid) still exists: `meta_action` builds that action.
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from facesearch.errors import ResourceAlreadyExistsException, ResourceNotFoundException
from facesearch.storage import keys
from facesearch.storage.codec import cancellation_reasons, error_code, translate
from facesearch.storage.records import Collection, Page, SegmentRef
from facesearch.storage.table import Action, Table


def not_found(collection_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"The collection id: {collection_id} does not exist")


def _collection(values: Mapping[str, Any]) -> Collection:
    segments = tuple(
        SegmentRef(segment_id, ref["Key"], int(ref["Count"]), int(ref["Level"]))
        for segment_id, ref in sorted(values.get("SegmentRefs", {}).items())
    )
    return Collection(
        collection_id=values["CollectionId"],
        uid=values["Uid"],
        arn=values["Arn"],
        created_at=datetime.datetime.fromtimestamp(float(values["CreatedAt"]), datetime.UTC),
        face_model_version=values["FaceModelVersion"],
        face_count=int(values.get("FaceCount", 0)),
        user_count=int(values.get("UserCount", 0)),
        tags=dict(values.get("Tags", {})),
        segments=segments,
    )


def _ref_value(ref: SegmentRef) -> dict[str, Any]:
    return {"Key": ref.key, "Count": ref.count, "Level": ref.level}


class CollectionRepo:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, collection_id: str, arn: str, face_model_version: str, tags: Mapping[str, str]) -> Collection:
        meta = {
            **keys.collection_key(collection_id),
            "CollectionId": collection_id,
            "Uid": uuid.uuid4().hex,
            "Arn": arn,
            "CreatedAt": Decimal(str(round(time.time(), 3))),
            "FaceModelVersion": face_model_version,
            "FaceCount": 0,
            "UserCount": 0,
            "Tags": dict(tags),
            "SegmentRefs": {},
        }
        listing = {**keys.listing_key(collection_id), "CollectionId": collection_id,
                   "FaceModelVersion": face_model_version}
        try:
            self.table.transact([self.table.put_action(meta, "attribute_not_exists(pk)"),
                                 self.table.put_action(listing, "attribute_not_exists(pk)")])
        except ClientError as error:
            if "ConditionalCheckFailed" in cancellation_reasons(error):
                raise ResourceAlreadyExistsException(f"The collection id: {collection_id} already exists") from error
            raise translate(error) from error
        return _collection(meta)

    def find(self, collection_id: str) -> Collection | None:
        values = self.table.get(keys.collection_key(collection_id))
        return _collection(values) if values else None

    def get(self, collection_id: str) -> Collection:
        collection = self.find(collection_id)
        if collection is None:
            raise not_found(collection_id)
        return collection

    def delete(self, collection_id: str) -> Collection:
        """Remove the META and listing items atomically; the Uid's faces and users become garbage."""
        collection = self.get(collection_id)
        try:
            self.table.transact([
                self.table.delete_action(keys.collection_key(collection_id), "Uid = :uid", {":uid": collection.uid}),
                self.table.delete_action(keys.listing_key(collection_id)),
            ])
        except ClientError as error:
            if "ConditionalCheckFailed" in cancellation_reasons(error):
                raise not_found(collection_id) from error
            raise translate(error) from error
        return collection

    def page(self, limit: int, start_after: str | None) -> Page[tuple[str, str]]:
        """(CollectionId, FaceModelVersion) of the listing, in id order."""
        items, last = self.table.query_page(keys.LISTING_PK, limit, start_after)
        return Page([(item["CollectionId"], item["FaceModelVersion"]) for item in items], last)

    def set_tags(self, collection_id: str, tags: Mapping[str, str]) -> None:
        names = {f"#t{i}": key for i, key in enumerate(tags)}
        values = {f":t{i}": value for i, value in enumerate(tags.values())}
        self._update(collection_id, "SET " + ", ".join(f"Tags.{name} = :t{i}" for i, name in enumerate(names)),
                     names, values)

    def remove_tags(self, collection_id: str, tag_keys: Sequence[str]) -> None:
        names = {f"#t{i}": key for i, key in enumerate(tag_keys)}
        self._update(collection_id, "REMOVE " + ", ".join(f"Tags.{name}" for name in names), names, {})

    def _update(self, collection_id: str, expression: str, names: Mapping[str, str],
                values: Mapping[str, Any]) -> None:
        action = self.table.update_action(keys.collection_key(collection_id), expression,
                                          "attribute_exists(pk)", names, values)
        try:
            self.table.update(action)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise not_found(collection_id) from error
            raise translate(error) from error

    def meta_action(self, collection: Collection, expression: str, names: Mapping[str, str] | None = None,
                    values: Mapping[str, Any] | None = None, condition: str = "Uid = :uid") -> Action:
        """A transaction action on the META item that fails if the collection was deleted meanwhile."""
        return self.table.update_action(keys.collection_key(collection.collection_id), expression, condition,
                                        names, {":uid": collection.uid, **(values or {})})

    def add_segments_action(self, collection: Collection, refs: Iterable[SegmentRef], faces: int) -> Action:
        """META: reference new segments and count their faces (IndexFaces' commit, bulk loads)."""
        refs = list(refs)
        names = {f"#s{i}": ref.segment_id for i, ref in enumerate(refs)}
        values: dict[str, Any] = {f":r{i}": _ref_value(ref) for i, ref in enumerate(refs)}
        values[":n"] = faces
        assignments = ", ".join(f"SegmentRefs.#s{i} = :r{i}" for i in range(len(refs)))
        return self.meta_action(collection, f"SET {assignments} ADD FaceCount :n", names, values)

    def add_segments(self, collection: Collection, refs: Iterable[SegmentRef], faces: int) -> None:
        try:
            self.table.update(self.add_segments_action(collection, refs, faces))
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise not_found(collection.collection_id) from error
            raise translate(error) from error

    def replace_segments(self, collection: Collection, merged: Sequence[SegmentRef], shard: SegmentRef
                         ) -> Collection | None:
        """Swap merged segments for their shard; the collection as it now is, or None if another
        compaction got there first (or the collection is gone)."""
        names = {f"#o{i}": ref.segment_id for i, ref in enumerate(merged)}
        names["#new"] = shard.segment_id
        condition = " AND ".join(["Uid = :uid", *(f"attribute_exists(SegmentRefs.#o{i})" for i in range(len(merged)))])
        expression = "SET SegmentRefs.#new = :ref REMOVE " + ", ".join(f"SegmentRefs.#o{i}" for i in range(len(merged)))
        action = self.meta_action(collection, expression, names, {":ref": _ref_value(shard)}, condition)
        try:
            values = self.table.update(action, return_new=True)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise translate(error) from error
        return _collection(values) if values else None
