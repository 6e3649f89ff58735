"""Answers to requests that carry a ClientRequestToken, so a repeat gets the same answer.

The record holds a digest of the request's parameters: the same token with other parameters is refused
(IdempotentParameterMismatchException), as Rekognition documents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from facesearch.storage import keys
from facesearch.storage.table import Table


@dataclass(frozen=True)
class RequestRecord:
    digest: str
    answer: dict[str, Any]


class RequestLog:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, uid: str, operation: str, token: str) -> RequestRecord | None:
        values = self.table.get(keys.request_key(uid, operation, token))
        if values is None:
            return None
        return RequestRecord(values["Digest"], json.loads(values["Answer"]))

    def remember(self, uid: str, operation: str, token: str, record: RequestRecord) -> RequestRecord:
        """Store the answer unless a twin request stored one first; returns the one that is kept."""
        item = {**keys.request_key(uid, operation, token), "Digest": record.digest,
                "Answer": json.dumps(record.answer, separators=(",", ":"), default=str)}
        if self.table.put(item, "attribute_not_exists(pk)"):
            return record
        return self.get(uid, operation, token) or record
