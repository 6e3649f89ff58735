"""Immutable embedding segments in S3: one object per write, merged into shards by compaction.

An object is an uncompressed `.npz` of `face_ids` (fixed-width text) and `embeddings` (float32
rows, unit length), never overwritten: its key names its content for ever, so a warm function
can cache it by key with no invalidation. Which objects make up a collection is the META item's
`Segments` map in DynamoDB; an object it does not name is invisible (an orphan of a crashed
write or of a lost compaction race) and is removed by the sweep once older than a grace period.

Compaction is tiered, like an LSM tree: a write adds a level-0 segment; when FAN_IN objects share
a level, they merge into one object of the next level (dropping rows of deleted faces), unless
that would pass MAX_SHARD_ROWS. A search thus reads at most about FAN_IN objects per level plus
the full shards, however many IndexFaces calls built the collection.
"""

from __future__ import annotations

import datetime
import io
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from facesearch.storage.table import SegmentRef

FAN_IN = 8
MAX_SHARD_ROWS = 100_000
ORPHAN_GRACE = datetime.timedelta(minutes=15)  # longer than any request that may still read an object
EMBEDDING_DIM = 128


@dataclass(frozen=True)
class SegmentData:
    face_ids: np.ndarray  # (n,) '<U36'
    embeddings: np.ndarray  # (n, 128) float32

    @property
    def nbytes(self) -> int:
        return int(self.face_ids.nbytes + self.embeddings.nbytes)


def collection_prefix(uid: str) -> str:
    return f"collections/{uid}/"


def new_segment_id() -> str:
    """Time-ordered and unique: later writes sort after earlier ones."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"


def segment_key(uid: str, segment_id: str, level: int) -> str:
    return f"{collection_prefix(uid)}L{level}/{segment_id}.npz"


def encode(data: SegmentData) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, face_ids=data.face_ids.astype("<U36"), embeddings=data.embeddings.astype(np.float32))
    return buffer.getvalue()


def decode(raw: bytes) -> SegmentData:
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
        return SegmentData(archive["face_ids"], np.ascontiguousarray(archive["embeddings"], dtype=np.float32))


def make_segment(face_ids: Sequence[str], embeddings: np.ndarray) -> SegmentData:
    matrix = np.asarray(embeddings, dtype=np.float32).reshape(len(face_ids), EMBEDDING_DIM)
    return SegmentData(np.asarray(face_ids, dtype="<U36"), matrix)


class SegmentStore:
    """Reads and writes segment objects in the service's bucket, with an LRU cache of decoded ones."""

    def __init__(self, s3: Any, bucket: str, cache_bytes: int = 1 << 30) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[str, SegmentData] = OrderedDict()
        self._cached = 0
        self._lock = threading.Lock()

    def put(self, key: str, data: SegmentData) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=encode(data), ContentType="application/octet-stream")
        self._remember(key, data)

    def get(self, key: str) -> SegmentData:
        with self._lock:
            data = self._cache.get(key)
            if data is not None:
                self._cache.move_to_end(key)
                return data
        data = decode(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        self._remember(key, data)
        return data

    def cached_keys(self) -> set[str]:
        with self._lock:
            return set(self._cache)

    def _remember(self, key: str, data: SegmentData) -> None:
        with self._lock:
            if key in self._cache:
                return
            self._cache[key] = data
            self._cached += data.nbytes
            while self._cached > self.cache_bytes and len(self._cache) > 1:
                _, evicted = self._cache.popitem(last=False)
                self._cached -= evicted.nbytes

    def list_objects(self, uid: str) -> list[tuple[str, datetime.datetime]]:
        found = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=collection_prefix(uid)
        ):
            found.extend((obj["Key"], obj["LastModified"]) for obj in page.get("Contents", []))
        return found

    def delete(self, keys: Iterable[str]) -> int:
        keys = list(keys)
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": key} for key in keys[start : start + 1000]]
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
        return len(keys)


def plan_merge(segments: Sequence[SegmentRef]) -> list[SegmentRef] | None:
    """The lowest level holding FAN_IN objects whose merge stays within a shard, oldest first."""
    by_level: dict[int, list[SegmentRef]] = {}
    for ref in segments:
        by_level.setdefault(ref.level, []).append(ref)
    for level in sorted(by_level):
        group = sorted(by_level[level], key=lambda ref: ref.segment_id)[:FAN_IN]
        if len(group) >= FAN_IN and sum(ref.count for ref in group) <= MAX_SHARD_ROWS:
            return group
    return None


def merge(parts: Sequence[SegmentData], live: Callable[[np.ndarray], np.ndarray]) -> SegmentData:
    """One segment of the rows of `parts` whose faces still exist (`live` -> boolean mask)."""
    face_ids = np.concatenate([part.face_ids for part in parts]) if parts else np.empty(0, "<U36")
    embeddings = (
        np.concatenate([part.embeddings for part in parts]) if parts else np.empty((0, EMBEDDING_DIM), np.float32)
    )
    keep = live(face_ids) if len(face_ids) else np.zeros(0, dtype=bool)
    return SegmentData(face_ids[keep], embeddings[keep])


def orphans(
    objects: Iterable[tuple[str, datetime.datetime]], referenced: set[str], now: datetime.datetime
) -> list[str]:
    """Objects no META entry names that are older than the grace period: safe to delete."""
    return [key for key, modified in objects if key not in referenced and now - modified > ORPHAN_GRACE]

