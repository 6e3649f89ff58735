"""Typed, generic access to the service's one DynamoDB table: reads, pages, batch writes, transactions.

The repositories (collections.py, faces.py, users.py) build on this and own the item shapes; nothing here
knows what a face or a collection is. Reads are strongly consistent: face items are the source of truth.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from facesearch.storage.codec import Item, dynamo_errors, error_code, from_item, to_item, translate
from facesearch.storage.keys import Key
from facesearch.storage.retry import Action, transact_retrying

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

BATCH_GET_LIMIT = 100  # keys per BatchGetItem
BATCH_WRITE_LIMIT = 25  # requests per BatchWriteItem
TRANSACTION_LIMIT = 100  # actions per TransactWriteItems


class Table:
    def __init__(self, client: DynamoDBClient, name: str) -> None:
        self.client = client
        self.name = name

    def get(self, key: Key) -> dict[str, Any] | None:
        with dynamo_errors():
            response = self.client.get_item(TableName=self.name, Key=to_item(key), ConsistentRead=True)
        item = response.get("Item")
        return from_item(item) if item else None

    def get_many(self, partition: str, sort_keys: Sequence[str], projection: str | None = None
                 ) -> dict[str, dict[str, Any]]:
        """Items of one partition by sort key; BatchGetItem calls of 100 keys run in parallel when many."""
        unique = list(dict.fromkeys(sort_keys))
        chunks = [unique[start : start + BATCH_GET_LIMIT] for start in range(0, len(unique), BATCH_GET_LIMIT)]
        if len(chunks) <= 2:
            parts = [self._batch_get(partition, chunk, projection) for chunk in chunks]
        else:
            with ThreadPoolExecutor(max_workers=min(16, len(chunks))) as pool:
                parts = list(pool.map(lambda chunk: self._batch_get(partition, chunk, projection), chunks))
        return {sk: item for part in parts for sk, item in part.items()}

    def _batch_get(self, partition: str, sort_keys: Sequence[str], projection: str | None
                   ) -> dict[str, dict[str, Any]]:
        request: dict[str, Any] = {"Keys": [to_item({"pk": partition, "sk": sk}) for sk in sort_keys],
                                   "ConsistentRead": True}
        if projection:
            request["ProjectionExpression"] = projection
        pending: dict[str, Any] = {self.name: request}
        found: dict[str, dict[str, Any]] = {}
        attempt = 0
        while pending:
            with dynamo_errors():
                response = self.client.batch_get_item(RequestItems=pending)
            for item in response.get("Responses", {}).get(self.name, []):
                values = from_item(item)
                found[values["sk"]] = values
            pending = dict(response.get("UnprocessedKeys") or {})
            if pending:
                attempt += 1
                time.sleep(min(0.02 * 2**attempt, 0.5))
        return found

    def query_page(self, partition: str, limit: int, start_after: str | None
                   ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to `limit` items of a partition after sort key `start_after`, and the key to resume after."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": partition}),
            "ConsistentRead": True,
        }
        if start_after is not None:
            kwargs["ExclusiveStartKey"] = to_item({"pk": partition, "sk": start_after})
        items: list[dict[str, Any]] = []
        with dynamo_errors():
            while len(items) < limit:
                kwargs["Limit"] = limit - len(items)
                response = self.client.query(**kwargs)
                items.extend(from_item(item) for item in response.get("Items", []))
                last = response.get("LastEvaluatedKey")
                if not last:
                    return items, None
                kwargs["ExclusiveStartKey"] = last
        return items, items[-1]["sk"] if items else None

    def query_index_page(self, index: str, hash_name: str, hash_value: str, partition: str, limit: int,
                         start_after: str | None) -> tuple[list[str], str | None]:
        """Sort keys of up to `limit` entries of a keys-only index (hash `hash_name`, range `sk`) in one
        partition, after sort key `start_after`, and the key to resume after. Index reads are eventually
        consistent: callers confirm the hits by reading the items."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "IndexName": index,
            "KeyConditionExpression": "#h = :h",
            "ExpressionAttributeNames": {"#h": hash_name},
            "ExpressionAttributeValues": to_item({":h": hash_value}),
        }
        if start_after is not None:
            kwargs["ExclusiveStartKey"] = to_item({hash_name: hash_value, "pk": partition, "sk": start_after})
        found: list[str] = []
        with dynamo_errors():
            while len(found) < limit:
                kwargs["Limit"] = limit - len(found)
                response = self.client.query(**kwargs)
                found.extend(str(from_item(item)["sk"]) for item in response.get("Items", []))
                last = response.get("LastEvaluatedKey")
                if not last:
                    return found, None
                kwargs["ExclusiveStartKey"] = last
        return found, found[-1] if found else None

    def iter_partition(self, partition: str, projection: str | None = None) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": partition}),
            "ConsistentRead": True,
        }
        if projection:
            kwargs["ProjectionExpression"] = projection
        with dynamo_errors():
            for page in self.client.get_paginator("query").paginate(**kwargs):
                for item in page.get("Items", []):
                    yield from_item(item)

    def put(self, item: Mapping[str, Any], condition: str | None = None) -> bool:
        """One PutItem; False if its condition failed."""
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": to_item(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            self.client.put_item(**kwargs)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise translate(error) from error
        return True

    def delete(self, key: Key) -> None:
        with dynamo_errors():
            self.client.delete_item(TableName=self.name, Key=to_item(key))

    def put_many(self, items: Sequence[Mapping[str, Any]]) -> int:
        """Unconditional puts in BatchWriteItem calls (bulk loads); returns how many calls it took."""
        return self._batch_write([{"PutRequest": {"Item": to_item(item)}} for item in items])

    def delete_partition(self, partition: str) -> int:
        """Delete every item of a partition (the garbage of a deleted collection); returns how many."""
        keys = [{"pk": partition, "sk": item["sk"]} for item in self.iter_partition(partition, "pk, sk")]
        self._batch_write([{"DeleteRequest": {"Key": to_item(key)}} for key in keys])
        return len(keys)

    def _batch_write(self, requests: Sequence[Mapping[str, Any]], workers: int = 8) -> int:
        """BatchWriteItem calls of 25 requests (in parallel when there are many); returns how many calls."""
        chunks = [list(requests[start : start + BATCH_WRITE_LIMIT])
                  for start in range(0, len(requests), BATCH_WRITE_LIMIT)]
        if len(chunks) <= 2:
            return sum(self._write_chunk(chunk) for chunk in chunks)
        with ThreadPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
            return sum(pool.map(self._write_chunk, chunks))

    def _write_chunk(self, chunk: list[Mapping[str, Any]]) -> int:
        calls = 0
        pending: dict[str, Any] = {self.name: chunk}
        while pending:
            with dynamo_errors():
                response = self.client.batch_write_item(RequestItems=pending)
            calls += 1
            pending = dict(response.get("UnprocessedItems") or {})
            if pending:
                time.sleep(min(0.02 * 2**calls, 0.5))  # throttled: DynamoDB asks for backoff
        return calls

    def transact(self, actions: Sequence[Action]) -> None:
        """One TransactWriteItems, retried while it only lost a race; other failures are the caller's."""
        if len(actions) > TRANSACTION_LIMIT:
            raise ValueError(f"{len(actions)} actions: a transaction holds at most {TRANSACTION_LIMIT}")
        transact_retrying(self.client, actions)

    def put_action(self, item: Mapping[str, Any], condition: str | None = None) -> Action:
        put: dict[str, Any] = {"TableName": self.name, "Item": to_item(item)}
        if condition:
            put["ConditionExpression"] = condition
        return {"Put": put}

    def delete_action(self, key: Key, condition: str | None = None,
                      values: Mapping[str, Any] | None = None) -> Action:
        delete: dict[str, Any] = {"TableName": self.name, "Key": to_item(key)}
        if condition:
            delete["ConditionExpression"] = condition
        if values:
            delete["ExpressionAttributeValues"] = to_item(values)
        return {"Delete": delete}

    def update_action(self, key: Key, expression: str, condition: str | None = None,
                      names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
                      ) -> Action:
        update: dict[str, Any] = {"TableName": self.name, "Key": to_item(key), "UpdateExpression": expression}
        if condition:
            update["ConditionExpression"] = condition
        if names:
            update["ExpressionAttributeNames"] = dict(names)
        if values:
            update["ExpressionAttributeValues"] = to_item(values)
        return {"Update": update}

    def update(self, action: Action, return_new: bool = False) -> dict[str, Any] | None:
        """Run one update action on its own (UpdateItem); with `return_new`, the item as it now is."""
        kwargs: dict[str, Any] = dict(action["Update"])
        if return_new:
            kwargs["ReturnValues"] = "ALL_NEW"
        response = self.client.update_item(**kwargs)
        attributes = response.get("Attributes")
        return from_item(attributes) if attributes else None


__all__ = ["BATCH_WRITE_LIMIT", "TRANSACTION_LIMIT", "Action", "Item", "Table"]
