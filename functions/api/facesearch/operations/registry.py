"""The operation table and the services each operation is handed (injected, so tests use moto)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from facesearch.settings import Settings
from facesearch.storage.table import Table

Operation = Callable[["Services", dict[str, Any]], Mapping[str, Any]]
OPERATIONS: dict[str, Operation] = {}


@dataclass(frozen=True)
class Services:
    """The edges an operation may touch: settings, the table, S3, the face pipeline, the invoker."""

    settings: Settings
    table: Table
    s3: Any
    resources: Any = None  # facesearch.resources.Resources: lazily built pipeline, segment cache, invoker


def operation(name: str) -> Callable[[Operation], Operation]:
    def register(fn: Operation) -> Operation:
        OPERATIONS[name] = fn
        return fn

    return register


def collection_of(request: Mapping[str, Any]) -> str | None:
    """The collection a request acts on, for per-key authorization (ARNs name it too)."""
    if "CollectionId" in request:
        return str(request["CollectionId"])
    arn = request.get("ResourceArn")
    if isinstance(arn, str) and ":collection/" in arn:
        return arn.rsplit(":collection/", 1)[1]
    return None
