"""The two retry loops of the storage layer, written once.

- `transact_retrying`: a TransactWriteItems that only lost a race with another transaction is retried
  with jittered backoff (DynamoDB's advice for TransactionConflict).
- `retry_on_stale`: an operation's read -> decide -> transact sequence starts over when the transaction
  finds that what it read has changed (`StaleRead`), at most `attempts` times.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from botocore.exceptions import ClientError

from facesearch.storage.codec import cancellation_reasons, error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

T = TypeVar("T")
Action = dict[str, Any]  # one TransactWriteItems action: {"Put" | "Update" | "Delete" | "ConditionCheck": ...}
ATTEMPTS = 8
_CONFLICT_CODES = ("TransactionConflictException", "TransactionInProgressException")


class StaleRead(Exception):
    """An item changed between a read and the transaction that relied on it: read again."""


def backoff(attempt: int, base: float = 0.05, cap: float = 1.0) -> float:
    """Seconds to wait before retry `attempt` (0-based): exponential, capped, with full-range jitter."""
    return min(base * 2.0**attempt, cap) * (0.5 + random.random())


def lost_a_race(error: ClientError) -> bool:
    """A transaction cancelled only by another transaction's conflict, not by one of its conditions."""
    reasons = cancellation_reasons(error)
    if "ConditionalCheckFailed" in reasons:
        return False
    return "TransactionConflict" in reasons or error_code(error) in _CONFLICT_CODES


def transact_retrying(
    client: DynamoDBClient, actions: Sequence[Action], attempts: int = ATTEMPTS
) -> None:
    items = cast("list[TransactWriteItemTypeDef]", list(actions))
    for attempt in range(attempts):
        try:
            client.transact_write_items(TransactItems=items)
            return
        except ClientError as error:
            if not lost_a_race(error) or attempt == attempts - 1:
                raise
            time.sleep(backoff(attempt))


def retry_on_stale(attempt: Callable[[], T], exhausted: Callable[[], Exception], attempts: int = ATTEMPTS) -> T:
    """`attempt()` until it does not raise StaleRead; then `exhausted()` is raised."""
    for _ in range(attempts):
        try:
            return attempt()
        except StaleRead:
            continue
    raise exhausted()


