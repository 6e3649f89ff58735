"""Collections, faces, users and segments in the service's DynamoDB table: the source of truth.

One table, string keys `pk`/`sk`:

    pk=COLLECTIONS      sk=<CollectionId>   listing entry (CollectionId, FaceModelVersion)
    pk=C#<CollectionId> sk=META             Uid, Arn, CreatedAt, FaceModelVersion, FaceCount, UserCount,
                                            Tags, SegmentRefs {segment id: {Key, Count, Level}}
    pk=F#<Uid>          sk=<FaceId>         one face: ImageId, ExternalImageId, BoundingBox, Confidence,
                                            UserId, Embedding (float32 bytes), IndexedAt
    pk=U#<Uid>          sk=<UserId>         one user: Status, CreatedAt, ClientRequestToken

Faces, users and segments hang off the collection's `Uid`, fresh for each CreateCollection, so a
collection deleted and created again never sees the old one's leftovers, even if a delete was cut
short. Every write that changes what a collection holds is one DynamoDB transaction that also
updates the META item under the condition that the collection (same Uid) still exists.
"""

from __future__ import annotations

import datetime
import random
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from facesearch.errors import (
    InvalidPaginationTokenException,
    ProvisionedThroughputExceededException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ThrottlingException,
)

LISTING_PK = "COLLECTIONS"
META_SK = "META"
TRANSACTION_LIMIT = 100  # actions per TransactWriteItems
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def collection_key(collection_id: str) -> dict[str, Any]:
    return to_item({"pk": f"C#{collection_id}", "sk": META_SK})


class StaleRead(Exception):
    """An item changed between a read and the transaction that relied on it: read again."""


class UserConflict(Exception):
    """CreateUser found the user already there."""


@dataclass(frozen=True)
class SegmentRef:
    """An immutable S3 object of embeddings that belongs to a collection."""

    segment_id: str
    key: str
    count: int
    level: int


@dataclass(frozen=True)
class Collection:
    collection_id: str
    uid: str
    arn: str
    created_at: datetime.datetime
    face_model_version: str
    face_count: int
    user_count: int
    tags: Mapping[str, str] = field(default_factory=dict)
    segments: tuple[SegmentRef, ...] = ()

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Collection:
        values = from_item(item)
        segments = tuple(
            SegmentRef(segment_id, ref["Key"], int(ref["Count"]), int(ref["Level"]))
            for segment_id, ref in sorted(values.get("SegmentRefs", {}).items())
        )
        return cls(
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


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_token: str | None


def translate_client_error(error: ClientError) -> Exception:
    """DynamoDB's capacity errors become Rekognition's; everything else is a real fault."""
    code = error.response.get("Error", {}).get("Code", "")
    if code in ("ProvisionedThroughputExceededException", "RequestLimitExceeded"):
        return ProvisionedThroughputExceededException("The request rate is too high; retry with backoff.")
    if code == "ThrottlingException":
        return ThrottlingException("Rate exceeded.")
    return error


def cancellation_reasons(error: ClientError) -> list[str]:
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


class Table:
    """Thin, typed access to the table through an injected boto3 DynamoDB client."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.name = table_name

    # --- collections ---------------------------------------------------------------------------

    def create_collection(
        self, collection_id: str, arn: str, face_model_version: str, tags: Mapping[str, str]
    ) -> Collection:
        now = time.time()
        meta = {
            "pk": f"C#{collection_id}",
            "sk": META_SK,
            "CollectionId": collection_id,
            "Uid": uuid.uuid4().hex,
            "Arn": arn,
            "CreatedAt": Decimal(str(round(now, 3))),
            "FaceModelVersion": face_model_version,
            "FaceCount": 0,
            "UserCount": 0,
            "Tags": dict(tags),
            "SegmentRefs": {},
        }
        listing = {
            "pk": LISTING_PK,
            "sk": collection_id,
            "CollectionId": collection_id,
            "FaceModelVersion": face_model_version,
        }
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": self.name, "Item": to_item(meta),
                             "ConditionExpression": "attribute_not_exists(pk)"}},
                    {"Put": {"TableName": self.name, "Item": to_item(listing),
                             "ConditionExpression": "attribute_not_exists(pk)"}},
                ]
            )
        except ClientError as error:
            if "ConditionalCheckFailed" in cancellation_reasons(error):
                raise ResourceAlreadyExistsException(
                    f"The collection id: {collection_id} already exists"
                ) from error
            raise translate_client_error(error) from error
        return Collection.from_item(to_item(meta))

    def find_collection(self, collection_id: str) -> Collection | None:
        try:
            response = self.client.get_item(
                TableName=self.name, Key=collection_key(collection_id), ConsistentRead=True
            )
        except ClientError as error:
            raise translate_client_error(error) from error
        item = response.get("Item")
        return Collection.from_item(item) if item else None

    def get_collection(self, collection_id: str) -> Collection:
        collection = self.find_collection(collection_id)
        if collection is None:
            raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist")
        return collection

    def delete_collection(self, collection_id: str) -> Collection:
        """Remove the collection's META and listing items atomically; its Uid's items become garbage."""
        collection = self.get_collection(collection_id)
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {"Delete": {"TableName": self.name, "Key": collection_key(collection_id),
                                "ConditionExpression": "Uid = :uid",
                                "ExpressionAttributeValues": to_item({":uid": collection.uid})}},
                    {"Delete": {"TableName": self.name,
                                "Key": to_item({"pk": LISTING_PK, "sk": collection_id})}},
                ]
            )
        except ClientError as error:
            if "ConditionalCheckFailed" in cancellation_reasons(error):
                raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist") from error
            raise translate_client_error(error) from error
        return collection

    def list_collections(self, limit: int, start_after: str | None) -> Page:
        items, last = self.query_page(LISTING_PK, limit, start_after)
        return Page(items, last)

    def set_tags(self, collection_id: str, tags: Mapping[str, str]) -> None:
        names = {f"#t{i}": key for i, key in enumerate(tags)}
        values = {f":t{i}": value for i, value in enumerate(tags.values())}
        assignments = ", ".join(f"Tags.{name} = :t{i}" for i, name in enumerate(names))
        self._update_meta(collection_id, f"SET {assignments}", names, values)

    def remove_tags(self, collection_id: str, keys: Sequence[str]) -> None:
        names = {f"#t{i}": key for i, key in enumerate(keys)}
        self._update_meta(collection_id, "REMOVE " + ", ".join(f"Tags.{name}" for name in names), names, {})

    def _update_meta(
        self, collection_id: str, expression: str, names: Mapping[str, str], values: Mapping[str, Any]
    ) -> None:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": collection_key(collection_id),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(pk)",
        }
        if names:
            kwargs["ExpressionAttributeNames"] = dict(names)
        if values:
            kwargs["ExpressionAttributeValues"] = to_item(values)
        try:
            self.client.update_item(**kwargs)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist") from error
            raise translate_client_error(error) from error

    # --- writes that change what a collection holds ------------------------------------------

    def transact(self, actions: list[dict[str, Any]], attempts: int = 8) -> None:
        """One TransactWriteItems, retried while it only lost a race with another transaction."""
        for attempt in range(attempts):
            try:
                self.client.transact_write_items(TransactItems=actions)
                return
            except ClientError as error:
                reasons = cancellation_reasons(error)
                conflicted = "TransactionConflict" in reasons or error.response.get("Error", {}).get(
                    "Code"
                ) in ("TransactionConflictException", "TransactionInProgressException")
                if not conflicted or "ConditionalCheckFailed" in reasons or attempt == attempts - 1:
                    raise
                time.sleep(min(0.05 * 2**attempt, 1.0) * (0.5 + random.random()))

    def meta_update(
        self, collection: Collection, expression: str, names: Mapping[str, str], values: Mapping[str, Any],
        condition: str = "Uid = :uid",
    ) -> dict[str, Any]:
        """A transaction action on the META item that fails if the collection was deleted meanwhile."""
        action: dict[str, Any] = {
            "TableName": self.name,
            "Key": collection_key(collection.collection_id),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": to_item({":uid": collection.uid, **values}),
        }
        if names:
            action["ExpressionAttributeNames"] = dict(names)
        return {"Update": action}

    def commit_faces(self, collection: Collection, segment: SegmentRef, faces: Sequence[Mapping[str, Any]]) -> None:
        """Make a written segment and its faces visible at once, with the face count, or not at all."""
        if len(faces) + 1 > TRANSACTION_LIMIT:
            raise ValueError("too many faces for one transaction")
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self.name, "Item": to_item({"pk": f"F#{collection.uid}", **face}),
                     "ConditionExpression": "attribute_not_exists(pk)"}}
            for face in faces
        ]
        actions.append(self.meta_update(
            collection,
            "SET SegmentRefs.#seg = :ref ADD FaceCount :n",
            {"#seg": segment.segment_id},
            {":ref": {"Key": segment.key, "Count": segment.count, "Level": segment.level}, ":n": len(faces)},
        ))
        self._transact_in(collection, actions)

    def delete_faces(self, collection: Collection, face_ids: Sequence[str]) -> None:
        """Delete faces that exist and belong to no user, with the count, atomically."""
        actions: list[dict[str, Any]] = [
            {"Delete": {"TableName": self.name, "Key": to_item({"pk": f"F#{collection.uid}", "sk": face_id}),
                        "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(UserId)"}}
            for face_id in face_ids
        ]
        actions.append(self.meta_update(collection, "ADD FaceCount :n", {}, {":n": -len(face_ids)}))
        try:
            self.transact(actions)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if "ConditionalCheckFailed" in reasons[:-1]:
                raise StaleRead("a face changed since it was read") from error
            if reasons and reasons[-1] == "ConditionalCheckFailed":
                raise ResourceNotFoundException(
                    f"The collection id: {collection.collection_id} does not exist"
                ) from error
            raise translate_client_error(error) from error

    def replace_segments(self, collection: Collection, merged: Sequence[SegmentRef], shard: SegmentRef) -> bool:
        """Swap merged segments for their shard; False if another compaction got there first."""
        names = {f"#o{i}": ref.segment_id for i, ref in enumerate(merged)}
        names["#new"] = shard.segment_id
        condition = " AND ".join(["Uid = :uid", *(f"attribute_exists(SegmentRefs.#o{i})" for i in range(len(merged)))])
        expression = "SET SegmentRefs.#new = :ref REMOVE " + ", ".join(f"SegmentRefs.#o{i}" for i in range(len(merged)))
        try:
            self.client.update_item(**self.meta_update(
                collection, expression, names,
                {":ref": {"Key": shard.key, "Count": shard.count, "Level": shard.level}}, condition,
            )["Update"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise translate_client_error(error) from error
        return True

    def _transact_in(
        self, collection: Collection, actions: list[dict[str, Any]], first_conflict: type[Exception] | None = None
    ) -> None:
        """Run a transaction whose last action is the META update; map its failures to errors."""
        try:
            self.transact(actions)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if reasons and reasons[-1] == "ConditionalCheckFailed":
                raise ResourceNotFoundException(
                    f"The collection id: {collection.collection_id} does not exist"
                ) from error
            if first_conflict is not None and reasons and reasons[0] == "ConditionalCheckFailed":
                raise first_conflict("the item changed since it was read") from error
            raise translate_client_error(error) from error

    def get_items(self, pk: str, sort_keys: Sequence[str], attributes: str | None = None) -> dict[str, dict[str, Any]]:
        """Strongly consistent reads of many items of one partition, keyed by sort key.

        BatchGetItem takes 100 keys a call; many calls (a big compaction's liveness check) run in parallel.
        """
        unique = list(dict.fromkeys(sort_keys))
        chunks = [unique[start : start + 100] for start in range(0, len(unique), 100)]
        if len(chunks) <= 2:
            parts = [self._batch_get(pk, chunk, attributes) for chunk in chunks]
        else:
            with ThreadPoolExecutor(max_workers=min(16, len(chunks))) as pool:
                parts = list(pool.map(lambda chunk: self._batch_get(pk, chunk, attributes), chunks))
        return {sk: item for part in parts for sk, item in part.items()}

    def _batch_get(self, pk: str, sort_keys: Sequence[str], attributes: str | None) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {"Keys": [to_item({"pk": pk, "sk": sk}) for sk in sort_keys], "ConsistentRead": True}
        if attributes:
            request["ProjectionExpression"] = attributes
        pending: dict[str, Any] = {self.name: request}
        attempt = 0
        while pending:
            try:
                response = self.client.batch_get_item(RequestItems=pending)
            except ClientError as error:
                raise translate_client_error(error) from error
            for item in response.get("Responses", {}).get(self.name, []):
                values = from_item(item)
                found[values["sk"]] = values
            pending = response.get("UnprocessedKeys") or {}
            if pending:
                attempt += 1
                time.sleep(min(0.02 * 2**attempt, 0.5))
        return found

    def get_item(self, pk: str, sk: str) -> dict[str, Any] | None:
        try:
            response = self.client.get_item(TableName=self.name, Key=to_item({"pk": pk, "sk": sk}), ConsistentRead=True)
        except ClientError as error:
            raise translate_client_error(error) from error
        item = response.get("Item")
        return from_item(item) if item else None

    # --- users ----------------------------------------------------------------------------------

    def create_user(self, collection: Collection, user_id: str, token: str | None) -> None:
        user = {"pk": f"U#{collection.uid}", "sk": user_id, "CreatedAt": Decimal(str(round(time.time(), 3))),
                "ClientRequestToken": token}
        self._transact_in(collection, [
            {"Put": {"TableName": self.name, "Item": to_item(user), "ConditionExpression": "attribute_not_exists(pk)"}},
            self.meta_update(collection, "ADD UserCount :one", {}, {":one": 1}),
        ], first_conflict=UserConflict)

    def delete_user(self, collection: Collection, user_id: str) -> None:
        """Delete a user that has no faces left (callers disassociate them first)."""
        self._transact_in(collection, [
            {"Delete": {"TableName": self.name, "Key": to_item({"pk": f"U#{collection.uid}", "sk": user_id}),
                        "ConditionExpression": "attribute_exists(pk) AND (attribute_not_exists(FaceIds) "
                                               "OR size(FaceIds) = :zero)",
                        "ExpressionAttributeValues": to_item({":zero": 0})}},
            self.meta_update(collection, "ADD UserCount :minus", {}, {":minus": -1}),
        ], first_conflict=StaleRead)

    def set_faces_user(self, collection: Collection, user_id: str, face_ids: Sequence[str], associate: bool,
                       max_faces: int = 100) -> None:
        """Associate (or disassociate) faces and the user's face set together; StaleRead if either moved."""
        face_pk = f"F#{collection.uid}"
        if associate:
            face_update = {"UpdateExpression": "SET UserId = :u",
                           "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(UserId)"}
            user_update = {"UpdateExpression": "ADD FaceIds :ids",
                           "ConditionExpression": "attribute_exists(pk) AND (attribute_not_exists(FaceIds) "
                                                  "OR size(FaceIds) <= :room)"}
            values = {":u": user_id, ":ids": set(face_ids), ":room": max_faces - len(face_ids)}
        else:
            face_update = {"UpdateExpression": "REMOVE UserId", "ConditionExpression": "UserId = :u"}
            user_update = {"UpdateExpression": "DELETE FaceIds :ids", "ConditionExpression": "attribute_exists(pk)"}
            values = {":u": user_id, ":ids": set(face_ids)}
        actions: list[dict[str, Any]] = [
            {"Update": {"TableName": self.name, "Key": to_item({"pk": face_pk, "sk": face_id}), **face_update,
                        "ExpressionAttributeValues": to_item({":u": user_id})}}
            for face_id in face_ids
        ]
        user_values = {key: value for key, value in values.items() if key != ":u"}
        actions.append({"Update": {"TableName": self.name,
                                   "Key": to_item({"pk": f"U#{collection.uid}", "sk": user_id}), **user_update,
                                   "ExpressionAttributeValues": to_item(user_values)}})
        try:
            self.transact(actions)
        except ClientError as error:
            if "ConditionalCheckFailed" in cancellation_reasons(error):
                raise StaleRead("a face or the user changed since they were read") from error
            raise translate_client_error(error) from error

    # --- generic partition access --------------------------------------------------------------

    def query_page(
        self, pk: str, limit: int, start_after: str | None, filter_values: Mapping[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to `limit` items of partition `pk` after sort key `start_after`, and the next start."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": pk}),
            "ConsistentRead": True,
        }
        if start_after is not None:
            kwargs["ExclusiveStartKey"] = to_item({"pk": pk, "sk": start_after})
        items: list[dict[str, Any]] = []
        try:
            while len(items) < limit:
                kwargs["Limit"] = limit - len(items)
                response = self.client.query(**kwargs)
                items.extend(from_item(item) for item in response.get("Items", []))
                last = response.get("LastEvaluatedKey")
                if not last:
                    return items, None
                kwargs["ExclusiveStartKey"] = last
        except ClientError as error:
            raise translate_client_error(error) from error
        return items, items[-1]["sk"] if items else None

    def iter_partition(self, pk: str, attributes: str | None = None) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": pk}),
            "ConsistentRead": True,
        }
        if attributes:
            kwargs["ProjectionExpression"] = attributes
        paginator = self.client.get_paginator("query")
        try:
            for page in paginator.paginate(**kwargs):
                for item in page.get("Items", []):
                    yield from_item(item)
        except ClientError as error:
            raise translate_client_error(error) from error

    def delete_partition(self, pk: str) -> int:
        """Delete every item of a partition (garbage of a deleted collection); returns how many."""
        keys = [to_item({"pk": pk, "sk": item["sk"]}) for item in self.iter_partition(pk, "pk, sk")]
        for start in range(0, len(keys), 25):
            requests = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
            pending: dict[str, Any] = {self.name: requests}
            while pending:
                try:
                    response = self.client.batch_write_item(RequestItems=pending)
                except ClientError as error:
                    raise translate_client_error(error) from error
                pending = response.get("UnprocessedItems") or {}
        return len(keys)


def check_token(token: str | None, pattern: Any) -> str | None:
    """A NextToken is the sort key to resume after; refuse one that cannot be such a key."""
    if token is None:
        return None
    if not pattern.fullmatch(token):
        raise InvalidPaginationTokenException("Invalid pagination token.")
    return token
