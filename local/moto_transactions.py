"""moto's TransactWriteItems without a copy of the whole table per action (the local backend only).

For its rollback, moto deep-copies the table once per action of every transaction, so a write costs
time in proportion to the table (IndexFaces took seconds at 10k faces), and every copy stays
referenced from `Table.instances_tracked` (moto's model registry) for the life of the process, so
memory grows by a table per action. Yet a transaction changes only the items at its own keys, and
local/backend.py runs one DynamoDB request at a time, so a copy of those items is a complete
rollback.

This keeps moto's transaction code (conditions, cancellation reasons, validation) and changes only
what it copies: while it runs, deep-copying a Table returns the table itself (so moto's own restore
is a no-op), and when it raises, the items at the transaction's keys are put back as they were.
tests/functional/test_local_backend.py checks the outcome against unpatched moto, transaction by
transaction.
"""

from __future__ import annotations

import copy
from contextvars import ContextVar
from typing import Any

_in_transaction: ContextVar[bool] = ContextVar("facesearch_moto_in_transaction", default=False)
# (table, key) -> (the key as sent, a deep copy of the item's attributes, or None where there was no item)
Saved = dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any] | None]]


def _table_deepcopy(table: Any, memo: dict[int, Any]) -> Any:
    """Inside a transaction: the table itself. Elsewhere: what copy.deepcopy does for a plain object."""
    if _in_transaction.get():
        return table
    cls: Any = type(table)
    clone = cls.__new__(cls)
    memo[id(table)] = clone
    clone.__dict__.update(copy.deepcopy(table.__dict__, memo))
    return clone


def _key_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any] | None:
    if op_type != "Put":
        key = op.get("Key")
        return key if isinstance(key, dict) else None
    table = backend.get_table(op["TableName"])
    attrs = op.get("Item") or {}
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {name: attrs[name] for name in names} if all(name in attrs for name in names) else None


def snapshot(backend: Any, transact_items: list[dict[str, Any]]) -> Saved:
    """The current item's attributes (or None) at each key the transaction names, deep-copied."""
    saved: Saved = {}
    for action in transact_items:
        for op_type, op in action.items():
            try:
                key = _key_of(backend, op_type, op)
                if key is None:
                    continue
                ident = (op["TableName"], repr(sorted(key.items())))
                if ident not in saved:
                    item = backend.get_item(op["TableName"], key)
                    # the attributes, not the Item: copying a moto model registers the copy for good
                    saved[ident] = (key, None if item is None else copy.deepcopy(item.attrs))
            except Exception:
                continue
    return saved


def restore(backend: Any, saved: Saved) -> None:
    """Put every saved key back as it was before the transaction."""
    for (table_name, _), (key, attrs) in saved.items():
        if attrs is None:
            backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, dict(attrs), overwrite=True)


def install() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(DynamoDBBackend.transact_write_items, "item_level_rollback", False):
        return
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = snapshot(self, transact_items)
        token = _in_transaction.set(True)
        try:
            original(self, transact_items)
        except BaseException:
            restore(self, saved)  # put_item and delete_item copy no table: the flag does not matter here
            raise
        finally:
            _in_transaction.reset(token)

    transact_write_items.item_level_rollback = True  # type: ignore[attr-defined]
    Table.__deepcopy__ = _table_deepcopy  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
