"""Users: one item per user with the set of its FaceIds; each associated face item carries the UserId.

Both sides change in one transaction (with the META UserCount where it moves), so they never disagree.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from facesearch.storage import keys
from facesearch.storage.codec import cancellation_reasons, translate
from facesearch.storage.collections import CollectionRepo, not_found
from facesearch.storage.records import Collection, Page, UserRecord
from facesearch.storage.retry import StaleRead
from facesearch.storage.table import Action, Table

MAX_FACES_PER_USER = 100  # Rekognition's limit
NO_FACES_LEFT = "attribute_exists(pk) AND (attribute_not_exists(FaceIds) OR size(FaceIds) = :zero)"


class UserConflict(Exception):
    """CreateUser found the user already there."""


def from_values(values: Mapping[str, Any]) -> UserRecord:
    return UserRecord(
        user_id=values["sk"],
        face_ids=frozenset(values.get("FaceIds") or ()),
        client_request_token=values.get("ClientRequestToken"),
        created_at=float(values["CreatedAt"]) if "CreatedAt" in values else None,
    )


class UserRepo:
    def __init__(self, table: Table, collections: CollectionRepo) -> None:
        self.table = table
        self.collections = collections

    def get(self, collection: Collection, user_id: str) -> UserRecord | None:
        values = self.table.get(keys.user_key(collection.uid, user_id))
        return from_values(values) if values else None

    def get_many(self, collection: Collection, user_ids: Sequence[str]) -> dict[str, UserRecord]:
        found = self.table.get_many(keys.users_partition(collection.uid), user_ids)
        return {user_id: from_values(values) for user_id, values in found.items()}

    def page(self, collection: Collection, limit: int, start_after: str | None) -> Page[UserRecord]:
        items, last = self.table.query_page(keys.users_partition(collection.uid), limit, start_after)
        return Page([from_values(item) for item in items], last)

    def create(self, collection: Collection, user_id: str, token: str | None) -> None:
        user = {**keys.user_key(collection.uid, user_id), "CreatedAt": Decimal(str(round(time.time(), 3))),
                "ClientRequestToken": token}
        self._commit(collection, [
            self.table.put_action(user, "attribute_not_exists(pk)"),
            self.collections.meta_action(collection, "ADD UserCount :one", values={":one": 1}),
        ], first_failed=UserConflict)

    def delete(self, collection: Collection, user_id: str) -> None:
        """Delete a user that has no faces left (callers disassociate them first); StaleRead otherwise."""
        self._commit(collection, [
            self.table.delete_action(keys.user_key(collection.uid, user_id), NO_FACES_LEFT, {":zero": 0}),
            self.collections.meta_action(collection, "ADD UserCount :minus", values={":minus": -1}),
        ], first_failed=StaleRead)

    def _commit(self, collection: Collection, actions: list[Action], first_failed: type[Exception]) -> None:
        """A transaction whose last action is the META update; map its failures to errors."""
        try:
            self.table.transact(actions)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if reasons and reasons[-1] == "ConditionalCheckFailed":
                raise not_found(collection.collection_id) from error
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise first_failed("the item changed since it was read") from error
            raise translate(error) from error

    def set_faces(self, collection: Collection, user_id: str, face_ids: Sequence[str], associate: bool,
                  max_faces: int = MAX_FACES_PER_USER) -> None:
        """Associate (or disassociate) faces and the user's face set together; StaleRead if either moved."""
        if associate:
            face_update = ("SET UserId = :u", "attribute_exists(pk) AND attribute_not_exists(UserId)")
            user_update = ("ADD FaceIds :ids",
                           "attribute_exists(pk) AND (attribute_not_exists(FaceIds) OR size(FaceIds) <= :room)")
            user_values: dict[str, Any] = {":ids": set(face_ids), ":room": max_faces - len(face_ids)}
        else:
            face_update = ("REMOVE UserId", "UserId = :u")
            user_update = ("DELETE FaceIds :ids", "attribute_exists(pk)")
            user_values = {":ids": set(face_ids)}
        actions = [self.table.update_action(keys.face_key(collection.uid, face_id), *face_update,
                                            values={":u": user_id})
                   for face_id in face_ids]
        actions.append(self.table.update_action(keys.user_key(collection.uid, user_id), *user_update,
                                                values=user_values))
        try:
            self.table.transact(actions)
        except ClientError as error:
            if "ConditionalCheckFailed" in cancellation_reasons(error):
                raise StaleRead("a face or the user changed since they were read") from error
            raise translate(error) from error
