"""DynamoDB's part of the durable backend: which requests are writes, and its snapshot.

A snapshot holds, for each table, the requests that made and configured it (CreateTable, UpdateTable,
UpdateTimeToLive, TagResource... as they were sent, replayed with their own time so CreationDateTime
stays), then its items as they are now, in records of up to ITEMS_PER_RECORD items (DynamoDB JSON, one
item a line), put back with moto's own put_item. Requests that are neither (DynamoDB streams, backups,
exports) are not kept past a snapshot; the service uses none of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from local.durable import Blobs, Meta, Record

ITEMS_PER_RECORD = 1000
READ_PREFIXES = ("Get", "BatchGet", "Describe", "List", "Query", "Scan", "TransactGet")
ITEM_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
                         "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"})
TableKey = tuple[str, str]  # (region, table name)


def operation(environ: Mapping[str, str]) -> str:
    """`DynamoDB_20120810.PutItem` -> `PutItem`."""
    return environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]


def region(environ: Mapping[str, str]) -> str:
    """The region of the SigV4 credential scope (moto files the request under it)."""
    scope = environ.get("HTTP_AUTHORIZATION", "").partition("Credential=")[2].split(",", 1)[0].split("/")
    return scope[2] if len(scope) >= 5 else "us-east-1"


def table_of(body: Mapping[str, Any]) -> str | None:
    """The table a table-level request is about: TableName, or the last part of a table ARN."""
    name = body.get("TableName")
    if isinstance(name, str):
        return name
    arn = body.get("ResourceArn")
    if isinstance(arn, str) and ":table/" in arn:
        return arn.split(":table/", 1)[1].split("/", 1)[0]
    return None


class DynamoDBModel:
    service = "dynamodb"

    def __init__(self) -> None:
        self.tables: dict[TableKey, list[Record]] = {}  # each table's own requests, CreateTable first
        self.other: list[Record] = []  # table-level requests about no table this knows

    def is_write(self, environ: Mapping[str, str]) -> bool:
        return not operation(environ).startswith(READ_PREFIXES)

    def observe(self, record: Record) -> None:
        name = operation(record.environ)
        if name in ITEM_WRITES:
            return  # the items themselves are in the snapshot
        try:
            body = json.loads(record.body or b"{}")
        except ValueError:
            body = {}
        table = table_of(body) if isinstance(body, dict) else None
        key = (region(record.environ), table or "")
        if name == "CreateTable" and table:
            self.tables[key] = [record]
        elif name == "DeleteTable":
            self.tables.pop(key, None)
        elif key in self.tables:
            self.tables[key].append(record)
        else:
            self.other.append(record)

    def snapshot(self, blobs: Blobs) -> Iterator[tuple[Meta, bytes]]:
        from moto.dynamodb.models.utilities import dynamo_json_dump

        for records in self.tables.values():
            for record in records:
                yield record.meta(), record.body
        for record in self.other:
            yield record.meta(), record.body
        for account, region_name, table in _tables():
            batch: list[bytes] = []
            for item in table.all_items():
                batch.append(dynamo_json_dump(item.to_json()["Attributes"]).encode("utf-8"))
                if len(batch) == ITEMS_PER_RECORD:
                    yield _items(account, region_name, table.name, batch)
                    batch = []
            if batch:
                yield _items(account, region_name, table.name, batch)

    def restore(self, meta: Meta, body: bytes, blobs: Blobs) -> None:
        from moto.dynamodb.models import dynamodb_backends

        if meta.get("type") != "dynamodb-items":
            raise ValueError(f"not a DynamoDB state record: {meta.get('type')!r}")
        put = putter(dynamodb_backends[meta["account"]][meta["region"]].get_table(meta["table"]))
        for line in body.splitlines():
            put(json.loads(line))

    seconds_per_unit = 0.0003  # put_item of a face item: ~0.2 ms here

    def units(self) -> int:
        return sum(len(table) for _, _, table in _tables())


def putter(table: Any) -> Callable[[dict[str, Any]], None]:
    """Puts a snapshot's items back into a moto table, at about 4x the speed of moto's put_item here.

    put_item validates (a snapshot's items passed that when they were written) and moto checks an item's
    size again for each attribute it sets, which is quadratic in its attributes: most of a load's time.
    This builds the same Item with one check-free dict instead. It first builds one item both ways and
    falls back to put_item if they differ (another moto version), so it can only be slower, never wrong.
    """
    def slow(attrs: dict[str, Any]) -> None:
        table.put_item(attrs, overwrite=True)

    try:
        from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

        hash_name, range_name, items = table.hash_key_attr, table.range_key_attr, table.items
    except (ImportError, AttributeError):
        return slow

    def build(attrs: dict[str, Any]) -> Any:
        values = LimitedSizeDict({name: DynamoType(value) for name, value in attrs.items()})  # no size check
        item: Any = Item.__new__(Item)
        item.hash_key, item.range_key = values[hash_name], values[range_name] if range_name else None
        item.attrs = values
        return item

    def fast(attrs: dict[str, Any]) -> None:
        item = build(attrs)
        if range_name:
            items[item.hash_key][item.range_key] = item
        else:
            items[item.hash_key] = item

    try:
        probe: dict[str, Any] = {hash_name: {"S": "probe"}, **({range_name: {"S": "probe"}} if range_name else {}),
                                 "m": {"M": {"l": {"L": [{"N": "1"}, {"B": "AA=="}]}}}}
        built, made = build(probe), Item(DynamoType(probe[hash_name]),
                                         DynamoType(probe[range_name]) if range_name else None, probe)
        same = vars(built).keys() == vars(made).keys() and built.to_json() == made.to_json()
    except Exception:
        same = False
    return fast if same else slow


def _items(account: str, region_name: str, table: str, lines: list[bytes]) -> tuple[Meta, bytes]:
    meta = {"type": "dynamodb-items", "account": account, "region": region_name, "table": table,
            "items": len(lines)}
    return meta, b"\n".join(lines)


def _tables() -> Iterator[tuple[str, str, Any]]:
    from moto.dynamodb.models import dynamodb_backends

    for account, regions in list(dynamodb_backends.items()):
        for region_name, backend in list(regions.items()):
            for table in list(backend.tables.values()):
                yield account, region_name, table
