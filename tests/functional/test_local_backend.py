"""The embedded backend of `make serve` (local/backend.py, local/moto_transactions.py), through boto3.

1. Its TransactWriteItems ends exactly as moto's own does (same items, same errors and cancellation
   reasons), transaction by transaction, though it copies only the items a transaction names.
2. Over HTTP, concurrent conditional transactions against it are atomic, as DynamoDB's are.
3. It ends with its parent, however the parent ends.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from local import backend as local_backend
from local.provision import create_table
from tests.functional.serve_process import ROOT, wait_until

TABLE = "facesearch-backend-test"
BUMPS = 5  # per thread


def s(value: str) -> dict[str, str]:
    return {"S": value}


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": s(pk), "sk": s(sk)}


META = key("collection#people", "META")
SEED = [
    {**META, "FaceCount": {"N": "2"}, "Refs": {"M": {"a": {"N": "1"}}}},
    {**key("item#people", "face-1"), "Embedding": {"B": b"\x00\x01" * 64}, "Tags": {"SS": ["x", "y"]}},
    {**key("item#people", "face-2"), "Embedding": {"B": b"\x02" * 128}},
]

# Each: the TransactItems of one call, run in order on the same table.
TRANSACTIONS: list[list[dict[str, Any]]] = [
    [  # succeeds: a new face, the count, a removal
        {"Put": {"TableName": TABLE, "Item": {**key("item#people", "face-3"), "Embedding": {"B": b"\x03" * 128}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": TABLE, "Key": META, "UpdateExpression": "ADD FaceCount :n SET Refs.b = :one",
                    "ExpressionAttributeValues": {":n": {"N": "0"}, ":one": {"N": "1"}}}},
        {"Delete": {"TableName": TABLE, "Key": key("item#people", "face-2")}},
    ],
    [  # the in-place Update and the Put come before a failing condition: both must be undone
        {"Update": {"TableName": TABLE, "Key": META, "UpdateExpression": "ADD FaceCount :n REMOVE Refs.a",
                    "ExpressionAttributeValues": {":n": {"N": "5"}}}},
        {"Put": {"TableName": TABLE, "Item": {**key("item#people", "face-4")}}},
        {"ConditionCheck": {"TableName": TABLE, "Key": key("item#people", "face-2"),
                            "ConditionExpression": "attribute_exists(pk)"}},
        {"Delete": {"TableName": TABLE, "Key": key("item#people", "face-1"),
                    "ConditionExpression": "attribute_exists(Embedding)"}},
    ],
    [  # a failing condition that asks for the old item back
        {"Delete": {"TableName": TABLE, "Key": key("item#people", "face-3")}},
        {"Put": {"TableName": TABLE, "Item": {**key("item#people", "face-1")},
                 "ConditionExpression": "attribute_not_exists(pk)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
    ],
    [  # two actions on one item: a ValidationException after the first was applied
        {"Update": {"TableName": TABLE, "Key": META, "UpdateExpression": "ADD FaceCount :n",
                    "ExpressionAttributeValues": {":n": {"N": "1"}}}},
        {"Delete": {"TableName": TABLE, "Key": META}},
    ],
    [  # an item without its sort key, after an applied action
        {"Put": {"TableName": TABLE, "Item": {**key("item#people", "face-5")}}},
        {"Put": {"TableName": TABLE, "Item": {"pk": s("item#people")}}},
    ],
    [  # succeeds after all that: the table is still as the first transaction left it
        {"Update": {"TableName": TABLE, "Key": META, "UpdateExpression": "ADD FaceCount :n",
                    "ConditionExpression": "FaceCount = :two",
                    "ExpressionAttributeValues": {":n": {"N": "1"}, ":two": {"N": "2"}}}},
    ],
]


def outcomes(dynamodb) -> list[tuple[Any, list[dict[str, Any]]]]:  # type: ignore[no-untyped-def]
    """(error or None, the whole table afterwards) for each transaction in TRANSACTIONS."""
    create_table(dynamodb, TABLE)
    for item in SEED:
        dynamodb.put_item(TableName=TABLE, Item=item)
    results = []
    for actions in TRANSACTIONS:
        try:
            dynamodb.transact_write_items(TransactItems=actions)
            error: Any = None
        except ClientError as failure:
            error = (failure.response["Error"], failure.response.get("CancellationReasons"))
        items = dynamodb.scan(TableName=TABLE, ConsistentRead=True)["Items"]
        results.append((error, sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))))
    return results


@pytest.fixture
def moto_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)


def test_transactions_with_item_rollback_end_exactly_as_moto_s_own(moto_credentials, monkeypatch):
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    with mock_aws():
        expected = outcomes(boto3.client("dynamodb", region_name="us-east-1"))
        copies_kept_by_moto = len(Table.instances_tracked)
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", DynamoDBBackend.transact_write_items)
    monkeypatch.setattr(Table, "__deepcopy__", None, raising=False)  # both undone after the test
    from local import moto_transactions

    moto_transactions.install()
    with mock_aws():
        actual = outcomes(boto3.client("dynamodb", region_name="us-east-1"))
        copies_kept = len(Table.instances_tracked)
    assert actual == expected
    assert [error is None for error, _ in actual] == [True, False, False, False, False, True]
    assert actual[1][1] == actual[0][1]  # a cancelled transaction leaves the table as it was
    actions = sum(len(actions) for actions in TRANSACTIONS)
    assert (copies_kept_by_moto, copies_kept) == (1 + actions, 1)  # moto keeps a table copy per action


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    running = local_backend.start()
    try:
        yield running.endpoint
    finally:
        running.stop()


def test_concurrent_conditional_transactions_on_the_backend_are_atomic(backend):
    """16 threads each bump a counter 5 times with a compare-and-set transaction, retrying lost races.

    If two transactions could both pass the same condition, increments would be lost; if moto broke
    inside one, a 5xx would come back. Atomic requests give exactly 80.
    """
    def client():  # type: ignore[no-untyped-def]
        return boto3.client("dynamodb", endpoint_url=backend, region_name="us-east-1", aws_access_key_id="moto",
                            aws_secret_access_key="moto", config=Config(retries={"total_max_attempts": 1}))

    setup = client()
    create_table(setup, TABLE)
    setup.put_item(TableName=TABLE, Item={**META, "Count": {"N": "0"}})
    for i in range(300):  # a table with some weight, as a collection's would have
        setup.put_item(TableName=TABLE, Item={**key("item#people", f"face-{i:04d}"), "Embedding": {"B": bytes(512)}})
    errors: list[str] = []
    lock = threading.Lock()

    def bump(worker: int) -> int:
        dynamodb, done, lost = client(), 0, 0
        while done < BUMPS:
            seen = int(dynamodb.get_item(TableName=TABLE, Key=META, ConsistentRead=True)["Item"]["Count"]["N"])
            try:
                dynamodb.transact_write_items(TransactItems=[
                    {"Update": {"TableName": TABLE, "Key": META, "UpdateExpression": "SET #c = :next",
                                "ConditionExpression": "#c = :seen", "ExpressionAttributeNames": {"#c": "Count"},
                                "ExpressionAttributeValues": {":seen": {"N": str(seen)},
                                                              ":next": {"N": str(seen + 1)}}}},
                    {"Put": {"TableName": TABLE, "Item": {**key("item#people", f"w{worker}-{done}")}}},
                ])
                done += 1
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    with lock:
                        errors.append(str(error.response["Error"]))
                    return lost
                lost += 1
        return lost

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(bump, range(16)))
    assert errors == []
    final = setup.get_item(TableName=TABLE, Key=META, ConsistentRead=True)["Item"]["Count"]["N"]
    assert final == str(16 * BUMPS)
    written = setup.query(TableName=TABLE, KeyConditionExpression="pk = :p AND begins_with(sk, :w)",
                          ExpressionAttributeValues={":p": s("item#people"), ":w": s("w")}, Select="COUNT")
    assert written["Count"] == 16 * BUMPS  # each committed transaction's Put is there, each cancelled one's is not


def test_the_backend_process_ends_when_its_parent_is_killed():
    """kill -9 of `make serve` must not leave a moto process holding its port."""
    parent = subprocess.Popen(
        [sys.executable, "-c", ("import time\nfrom local import backend\n"
                                "print(backend.start().endpoint, flush=True)\ntime.sleep(600)")],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    endpoint = parent.stdout.readline().strip()
    port = int(endpoint.rsplit(":", 1)[1])

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    assert listening()
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    assert wait_until(lambda: not listening(), timeout=10)
