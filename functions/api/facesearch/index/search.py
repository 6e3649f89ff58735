"""Nearest faces of a query embedding across a collection's segments, fanned out when large.

The scan is exact (a matrix-vector product per segment, float32): at 128 dimensions a warm
100k-face shard takes milliseconds, so no approximate index is needed at this scale. Candidates
above the threshold are then checked against their face items, the source of truth: a face
deleted after the shard was written, or cached, has no item and is never returned.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from facesearch.index.shards import SegmentStore
from facesearch.vision.similarity import cosine_similarities, to_cosine, to_similarity, top_k
from facesearch.storage.table import Collection, SegmentRef, Table

FANOUT_ROWS = int(os.environ.get("FACESEARCH_FANOUT_ROWS", "300000"))  # rows one invocation scans at most


@dataclass(frozen=True)
class Candidate:
    face_id: str
    cosine: float


@dataclass(frozen=True)
class Match:
    face: dict[str, Any]  # the face item
    similarity: float


def scan(store: SegmentStore, keys: Sequence[str], query: np.ndarray, k: int, min_cosine: float,
         exclude: frozenset[str] = frozenset()) -> list[Candidate]:
    """The k best rows at or above `min_cosine` across the objects `keys`, best first."""
    best: list[tuple[float, str]] = []
    for key in keys:
        data = store.get(key)
        scores = cosine_similarities(query, data.embeddings)
        hits = np.flatnonzero(scores >= min_cosine)
        for index in hits[top_k(scores[hits], k + len(exclude))]:
            face_id = str(data.face_ids[index])
            if face_id not in exclude:
                best.append((float(scores[index]), face_id))
    seen: set[str] = set()
    ranked = []
    for cosine, face_id in sorted(best, key=lambda hit: (-hit[0], hit[1])):  # ties: by face id
        if face_id not in seen and len(ranked) < k:
            seen.add(face_id)
            ranked.append(Candidate(face_id, cosine))
    return ranked


class Invoker(Protocol):
    """Runs search slices elsewhere: Lambda invocations when deployed, threads locally and in tests."""

    def run_all(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]: ...


class ThreadInvoker:
    def __init__(self, handle: Callable[[dict[str, Any]], dict[str, Any]], workers: int = 4) -> None:
        self.handle = handle
        self.workers = workers

    def run_all(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(self.handle, events))


class LambdaInvoker:
    """Invokes this same function synchronously for each slice (lambda:InvokeFunction on itself)."""

    def __init__(self, lambda_client: Any, function_name: str, workers: int = 16) -> None:
        self.client = lambda_client
        self.function_name = function_name
        self.workers = workers

    def _invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        response = self.client.invoke(FunctionName=self.function_name, Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read())
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


def slice_event(keys: Sequence[str], query: np.ndarray, k: int, min_cosine: float,
                exclude: frozenset[str]) -> dict[str, Any]:
    return {
        "facesearch": "search-slice",
        "keys": list(keys),
        "query": base64.b64encode(np.asarray(query, dtype=np.float32).tobytes()).decode("ascii"),
        "k": k,
        "min_cosine": min_cosine,
        "exclude": sorted(exclude),
    }


def run_slice(services: Any, event: dict[str, Any]) -> dict[str, Any]:
    query = np.frombuffer(base64.b64decode(event["query"]), dtype=np.float32)
    found = scan(services.resources.segments, event["keys"], query, int(event["k"]), float(event["min_cosine"]),
                 frozenset(event.get("exclude", ())))
    return {"candidates": [[c.face_id, c.cosine] for c in found]}


def candidates(services: Any, collection: Collection, query: np.ndarray, k: int, min_cosine: float,
               exclude: frozenset[str] = frozenset()) -> list[Candidate]:
    """Scan here when the collection is small, else across invocations, and merge."""
    groups = slices(collection.segments, FANOUT_ROWS)
    store = services.resources.segments
    if len(groups) <= 1:
        return scan(store, [ref.key for ref in collection.segments], query, k, min_cosine, exclude)
    events = [slice_event([ref.key for ref in group], query, k, min_cosine, exclude) for group in groups]
    merged = [Candidate(face_id, cosine)
              for result in services.resources.invoker(services).run_all(events)
              for face_id, cosine in result["candidates"]]
    return sorted(merged, key=lambda c: (-c.cosine, c.face_id))[:k]


def search(services: Any, collection: Collection, query: np.ndarray, max_faces: int, threshold: float,
           exclude: frozenset[str] = frozenset()) -> list[Match]:
    """Up to max_faces live faces at or above Similarity `threshold`, best first.

    Over-fetches so that faces deleted since their shard was written (they have no item) do not
    leave MaxFaces short; widens until enough live faces are found or nothing more qualifies.
    """
    min_cosine = float(to_cosine(threshold))
    table: Table = services.table
    want = max_faces + 8
    while True:
        found = candidates(services, collection, query, want, min_cosine, exclude)
        items = table.get_items(f"F#{collection.uid}", [c.face_id for c in found])
        matches = [Match(items[c.face_id], float(to_similarity(c.cosine))) for c in found if c.face_id in items]
        if len(matches) >= max_faces or len(found) < want:
            return matches[:max_faces]
        want *= 4
