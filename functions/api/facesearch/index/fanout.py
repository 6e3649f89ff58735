"""Fan-out: a big collection's scan split across invocations of this same function, and merged.

The transport is an `Invoker`: Lambda invocations when deployed (`lambda:InvokeFunction` on itself,
IAM-authorised, never through the public URL), a thread pool locally and in tests. A slice request travels
as plain JSON: `{"facesearch": "search-slice", ...}`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from facesearch.index.scan import Candidate
from facesearch.storage.records import SegmentRef

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient

SLICE_KIND = "search-slice"


@dataclass(frozen=True)
class SliceRequest:
    keys: tuple[str, ...]
    query: np.ndarray
    k: int
    min_cosine: float
    exclude: frozenset[str]

    def to_event(self) -> dict[str, Any]:
        return {
            "facesearch": SLICE_KIND,
            "keys": list(self.keys),
            "query": base64.b64encode(np.asarray(self.query, dtype=np.float32).tobytes()).decode("ascii"),
            "k": self.k,
            "min_cosine": self.min_cosine,
            "exclude": sorted(self.exclude),
        }

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> SliceRequest:
        return cls(tuple(event["keys"]), np.frombuffer(base64.b64decode(event["query"]), dtype=np.float32),
                   int(event["k"]), float(event["min_cosine"]), frozenset(event.get("exclude", ())))


def is_slice_event(event: object) -> bool:
    return isinstance(event, dict) and event.get("facesearch") == SLICE_KIND


def candidates_to_json(candidates: Sequence[Candidate]) -> dict[str, Any]:
    return {"candidates": [[c.face_id, c.cosine] for c in candidates]}


def candidates_from_json(result: Mapping[str, Any]) -> list[Candidate]:
    return [Candidate(str(face_id), float(cosine)) for face_id, cosine in result["candidates"]]


class Invoker(Protocol):
    """Runs slice events elsewhere and returns their JSON answers in order."""

    def run_all(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]: ...


class ThreadInvoker:
    def __init__(self, handle: Callable[[dict[str, Any]], dict[str, Any]], workers: int = 4) -> None:
        self.handle = handle
        self.workers = workers

    def run_all(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(self.handle, events))


class LambdaInvoker:
    """Invokes this same function synchronously for each slice."""

    def __init__(self, client: LambdaClient, function_name: str, workers: int = 16) -> None:
        self.client = client
        self.function_name = function_name
        self.workers = workers

    def _invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        response = self.client.invoke(FunctionName=self.function_name, Payload=json.dumps(event).encode())
        payload: dict[str, Any] = json.loads(response["Payload"].read())
        if response.get("FunctionError"):
            raise RuntimeError(f"search slice failed: {payload.get('errorType', 'unknown')}")
        return payload

    def run_all(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(self._invoke, events))


def slices(segments: Sequence[SegmentRef], max_rows: int) -> list[list[SegmentRef]]:
    """Split the segment list into groups of at most about max_rows rows (one object may exceed it)."""
    groups: list[list[SegmentRef]] = [[]]
    rows = 0
    for ref in sorted(segments, key=lambda ref: -ref.count):
        if groups[-1] and rows + ref.count > max_rows:
            groups.append([])
            rows = 0
        groups[-1].append(ref)
        rows += ref.count
    return [group for group in groups if group]
