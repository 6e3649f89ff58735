"""Background-free compaction: a write that leaves FAN_IN objects on a level merges them.

Crash-safe by construction: the merged shard is written under a fresh key first, then one
conditional META update swaps the merged segments for it. A crash before the swap leaves an
orphan object; losing the race to a concurrent compaction does too; either way readers keep
the old, still complete, segment set. Replaced objects are not deleted at once (a search that
read META just before may still be loading them): the sweep removes unreferenced objects once
they are older than ORPHAN_GRACE.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import numpy as np

from aws_lambda_powertools import Logger

from facesearch.index import shards as segments
from facesearch.storage.table import Collection, SegmentRef


logger = Logger(child=True)


def compact_after_write(services: Any, collection_id: str, uid: str) -> int:
    """Compact after a committed write; never fails the write, whose faces are already durable."""
    try:
        collection = services.table.find_collection(collection_id)
        if collection is None or collection.uid != uid:
            return 0
        return compact(services, collection)
    except Exception:
        logger.exception("compaction failed; the segments stay as they are", extra={"collection_id": collection_id})
        return 0


def live_mask(services: Any, collection: Collection) -> Callable[[np.ndarray], np.ndarray]:
    """Which face ids still have a face item (deleted faces' rows are dropped by a merge)."""

    def mask(face_ids: np.ndarray) -> np.ndarray:
        ids = [str(face_id) for face_id in face_ids]
        alive = services.table.get_items(f"F#{collection.uid}", ids, attributes="sk")
        return np.array([face_id in alive for face_id in ids], dtype=bool)

    return mask


def compact(services: Any, collection: Collection, max_rounds: int = 4) -> int:
    """Merge while some level is full (bounded); returns how many merges were committed."""
    committed = 0
    store = services.resources.segments
    for _ in range(max_rounds):
        group = segments.plan_merge(collection.segments)
        if group is None:
            break
        merged = segments.merge([store.get(ref.key) for ref in group], live_mask(services, collection))
        shard_id = segments.new_segment_id()
        level = group[0].level + 1
        shard = SegmentRef(shard_id, segments.segment_key(collection.uid, shard_id, level), len(merged.face_ids), level)
        store.put(shard.key, merged)
        if not services.table.replace_segments(collection, group, shard):
            break  # a concurrent compaction merged these first; ours is an orphan for the sweep
        committed += 1
        fresh = services.table.find_collection(collection.collection_id)
        if fresh is None or fresh.uid != collection.uid:
            break
        collection = fresh
    if committed:
        sweep(services, collection)
    return committed


def sweep(services: Any, collection: Collection, now: datetime.datetime | None = None) -> int:
    """Delete the collection's objects that META does not name and that are past the grace period."""
    store = services.resources.segments
    current = services.table.find_collection(collection.collection_id)
    if current is None or current.uid != collection.uid:
        return 0
    referenced = {ref.key for ref in current.segments}
    stale = segments.orphans(store.list_objects(collection.uid), referenced,
                             now or datetime.datetime.now(datetime.UTC))
    return store.delete(stale)
