"""The operation tables: each Rekognition operation the service implements, by its model name, and the
facesearch extension operations (their own botocore model, `wire/models/facesearch`) in a table of their own.

An operation is `fn(services, request) -> result`: `request` is the validated input (blobs already bytes),
`result` a dict shaped as the operation's output in botocore's model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from facesearch.services import Services

Request = dict[str, Any]
Operation = Callable[[Services, Request], Mapping[str, Any]]
OPERATIONS: dict[str, Operation] = {}
EXTENSION_OPERATIONS: dict[str, Operation] = {}
_TABLES = {"rekognition": OPERATIONS, "facesearch": EXTENSION_OPERATIONS}


def operation(name: str, service: str = "rekognition") -> Callable[[Operation], Operation]:
    def register(fn: Operation) -> Operation:
        _TABLES[service][name] = fn
        return fn

    return register


def operations_of(service: str) -> Mapping[str, Operation]:
    """The implemented operations of one service model ("rekognition" or "facesearch")."""
    return _TABLES.get(service, {})


def collection_of(request: Mapping[str, Any]) -> str | None:
    """The collection a request acts on, for per-key authorization (ARNs name it too)."""
    if "CollectionId" in request:
        return str(request["CollectionId"])
    arn = request.get("ResourceArn")
    if isinstance(arn, str) and ":collection/" in arn:
        return arn.rsplit(":collection/", 1)[1]
    return None
