"""Shards: the in-memory and on-S3 form of a collection's embeddings, and the tiering that bounds them.

An object holds a compact shard (`quantized`: 16-byte face ids, a per-row scale and int8 codes, 148 bytes a
face against 656 for float32), never overwritten: its key names its content for ever, so a warm function
caches decoded shards by key with no invalidation (`ShardCache`).

Tiering is like an LSM tree: a write adds a level-0 segment; when FAN_IN objects share a level they merge
into one object of the next level (dropping the rows of deleted faces), unless that would pass
MAX_SHARD_ROWS. A search thus reads at most about FAN_IN objects per level plus the full shards, however
many IndexFaces calls built the collection.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from facesearch.index import quantized
from facesearch.index.quantized import QuantizedShard
from facesearch.storage.records import SegmentRef
from facesearch.storage.segments import SegmentObjects

FAN_IN = 8
MAX_SHARD_ROWS = 100_000
EMBEDDING_DIM = 128


def make_segment(face_ids: Sequence[str], embeddings: np.ndarray) -> QuantizedShard:
    """The compact shard of these faces (unit float32 rows)."""
    matrix = np.asarray(embeddings, dtype=np.float32).reshape(len(face_ids), EMBEDDING_DIM)
    return quantized.quantize(list(face_ids), matrix)


def decode_object(raw: bytes) -> QuantizedShard:
    """A segment object's shard."""
    return quantized.from_bytes(raw)


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


def merge(parts: Sequence[QuantizedShard], live: Callable[[list[str]], np.ndarray]) -> QuantizedShard:
    """One shard of the rows of `parts` whose faces still exist (`live(face ids)` -> boolean mask); lossless,
    as each row keeps its own scale."""
    joined = quantized.concat(parts)
    face_ids = joined.face_ids(np.arange(len(joined)))
    keep = live(face_ids) if face_ids else np.zeros(0, dtype=bool)
    return quantized.take(joined, keep)


def level_for(rows: int, fan_in: int = FAN_IN) -> int:
    """The level tiered compaction would have put an object of `rows` rows on (fan_in**level >= rows)."""
    level = 0
    while fan_in**level < rows:
        level += 1
    return level


def bulk_layout(rows: int, max_rows: int | None = None) -> list[int]:
    """Row counts of the objects a bulk load of `rows` faces writes: full shards, then the rest."""
    max_rows = max_rows or MAX_SHARD_ROWS
    return [min(max_rows, rows - start) for start in range(0, rows, max_rows)]


class ShardCache:
    """Decoded shards by key, least recently used first out, over the segment objects in S3."""

    def __init__(self, objects: SegmentObjects, cache_bytes: int = 1 << 30) -> None:
        self.objects = objects
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[str, QuantizedShard] = OrderedDict()
        self._cached = 0
        self._lock = threading.Lock()

    def put(self, key: str, data: QuantizedShard) -> None:
        self.objects.put(key, quantized.to_bytes(data))
        self._remember(key, data)

    def get(self, key: str) -> QuantizedShard:
        with self._lock:
            data = self._cache.get(key)
            if data is not None:
                self._cache.move_to_end(key)
                return data
        data = decode_object(self.objects.get(key))
        self._remember(key, data)
        return data

    def cached_keys(self) -> set[str]:
        with self._lock:
            return set(self._cache)

    def _remember(self, key: str, data: QuantizedShard) -> None:
        with self._lock:
            if key in self._cache:
                return
            self._cache[key] = data
            self._cached += data.nbytes
            while self._cached > self.cache_bytes and len(self._cache) > 1:
                _, evicted = self._cache.popitem(last=False)
                self._cached -= evicted.nbytes
