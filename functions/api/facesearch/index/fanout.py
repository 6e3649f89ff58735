"""Fan-out: a big collection's scan split across invocations of this same function, and merged.

The transport is an `Invoker`: Lambda invocations when deployed (`lambda:InvokeFunction` on itself,
IAM-authorised, never through the public URL), a thread pool locally and in tests. A slice request and its
answer travel as plain JSON: `{"facesearch": "search-slice", ...}` in, the slice's shortlist out. A slice that
fails or does not answer in time fails the search with SliceFailed, so nothing hangs and no partial answer
is passed off as the whole.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from facesearch.index.quantized import Shortlist
from facesearch.storage.records import SegmentRef

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient

SLICE_KIND = "search-slice"
DEFAULT_TIMEOUT = 20.0  # seconds a slice may take (well inside the function's 30 s timeout)


class SliceFailed(Exception):
    """A slice of a fanned-out search failed or did not answer in time."""


@dataclass(frozen=True)
class SliceRequest:
    keys: tuple[str, ...]
    query: np.ndarray
    k: int
    min_cosine: float

    def to_event(self) -> dict[str, Any]:
        return {
            "facesearch": SLICE_KIND,
            "keys": list(self.keys),
            "query": base64.b64encode(np.asarray(self.query, dtype=np.float32).tobytes()).decode("ascii"),
            "k": self.k,
            "min_cosine": self.min_cosine,
        }

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> SliceRequest:
        return cls(tuple(event["keys"]), np.frombuffer(base64.b64decode(event["query"]), dtype=np.float32),
                   int(event["k"]), float(event["min_cosine"]))


def is_slice_event(event: object) -> bool:
    return isinstance(event, dict) and event.get("facesearch") == SLICE_KIND


def shortlist_payload(shortlist: Shortlist) -> dict[str, object]:
    """A fan-out slice's answer as plain JSON values (-inf, which JSON lacks, as null)."""
    return {
        "face_ids": list(shortlist.face_ids),
        "approx": [float(score) for score in shortlist.approx],
        "delta": shortlist.delta,
        "unseen_below": None if shortlist.unseen_below == -math.inf else shortlist.unseen_below,
    }


def shortlist_from_payload(payload: Mapping[str, object]) -> Shortlist:
    face_ids, approx, delta, unseen = (payload.get(key) for key in ("face_ids", "approx", "delta", "unseen_below"))
    if (not isinstance(face_ids, list) or not isinstance(approx, list) or len(face_ids) != len(approx)
            or not isinstance(delta, float | int) or not isinstance(unseen, float | int | None)):
        raise ValueError("malformed shortlist payload")
    return Shortlist(
        tuple(str(face_id) for face_id in face_ids),
        np.asarray(approx, dtype=np.float32),
        float(delta),
        -math.inf if unseen is None else float(unseen),
    )


class Invoker(Protocol):
    """Runs slice events elsewhere and returns their JSON answers in order, or raises SliceFailed."""

    def run_all(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]: ...


def _run_bounded(call: Callable[[dict[str, Any]], dict[str, Any]], events: Sequence[dict[str, Any]], workers: int,
                 timeout: float) -> list[dict[str, Any]]:
    """Every event through `call` in a pool; SliceFailed on the first failure or once `timeout` passes."""
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(events))))
    try:
        futures = [pool.submit(call, event) for event in events]
        done, pending = wait(futures, timeout=timeout, return_when=FIRST_EXCEPTION)
        failed = [error for future in done if (error := future.exception()) is not None]
        if failed:
            raise SliceFailed(f"{len(failed)} of {len(futures)} search slices failed: {failed[0]!r}") from failed[0]
        if pending:
            raise SliceFailed(f"{len(pending)} of {len(futures)} search slices did not answer in {timeout:.0f} s")
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class ThreadInvoker:
    def __init__(self, handle: Callable[[dict[str, Any]], dict[str, Any]], workers: int = 4,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.handle = handle
        self.workers = workers
        self.timeout = timeout

    def run_all(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return _run_bounded(self.handle, events, self.workers, self.timeout)


class LambdaInvoker:
    """Invokes this same function synchronously for each slice (its client's read timeout bounds each call)."""

    def __init__(self, client: LambdaClient, function_name: str, workers: int = 16,
                 timeout: float = DEFAULT_TIMEOUT, qualifier: str | None = None) -> None:
        self.client = client
        self.function_name = function_name
        self.workers = workers
        self.timeout = timeout
        self.qualifier = qualifier  # the alias: its SnapStart snapshot, not $LATEST's cold starts

    def _invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        payload_bytes = json.dumps(event).encode()
        if self.qualifier:
            response = self.client.invoke(FunctionName=self.function_name, Qualifier=self.qualifier,
                                          Payload=payload_bytes)
        else:
            response = self.client.invoke(FunctionName=self.function_name, Payload=payload_bytes)
        payload: dict[str, Any] = json.loads(response["Payload"].read())
        if response.get("FunctionError"):
            raise SliceFailed(f"search slice failed: {payload.get('errorType', 'unknown')}")
        return payload

    def run_all(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return _run_bounded(self._invoke, events, self.workers, self.timeout)


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
