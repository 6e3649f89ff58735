"""Background-free compaction: a write that leaves FAN_IN objects on a level merges them.

Crash-safe by construction: the merged shard is written under a fresh key first, then one conditional META
update swaps the merged segments for it. A crash before the swap leaves an orphan object; losing the race
to a concurrent compaction does too; either way readers keep the old, still complete, segment set.
Replaced objects are not deleted at once (a search that read META just before may still be loading
them): the sweep removes unreferenced objects once they are older than ORPHAN_GRACE.

The swap answers with the collection as it now is, so a write that compacts reads the META item once
(before its commit) and never again.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

import numpy as np
from aws_lambda_powertools import Logger

from facesearch.index import shards
from facesearch.index.shards import ShardCache
from facesearch.storage import CollectionRepo, FaceRepo, SegmentObjects
from facesearch.storage.records import Collection, SegmentRef
from facesearch.storage.segments import new_segment_id, segment_key

ORPHAN_GRACE = datetime.timedelta(minutes=15)  # longer than any request that may still read an object
logger = Logger(child=True)


def orphans(objects: Iterable[tuple[str, datetime.datetime]], referenced: set[str], now: datetime.datetime
            ) -> list[str]:
    """Objects no META entry names that are older than the grace period: safe to delete."""
    return [key for key, modified in objects if key not in referenced and now - modified > ORPHAN_GRACE]


class Compactor:
    def __init__(self, collections: CollectionRepo, faces: FaceRepo, cache: ShardCache,
                 objects: SegmentObjects) -> None:
        self.collections = collections
        self.faces = faces
        self.cache = cache
        self.objects = objects

    def after_write(self, collection: Collection) -> int:
        """Compact after a committed write; never fails the write, whose faces are already durable.

        `collection` is the writer's view: what it read before committing plus the segments it added. A
        segment another writer added meanwhile is missing from it, which only delays its merge to a later
        write: the swap's condition makes a stale view safe.
        """
        try:
            return self.compact(collection)
        except Exception:
            logger.exception("compaction failed; the segments stay as they are",
                             extra={"collection_id": collection.collection_id})
            return 0

    def compact(self, collection: Collection, max_rounds: int = 4) -> int:
        """Merge while some level is full (bounded); returns how many merges were committed."""
        committed = 0
        for _ in range(max_rounds):
            group = shards.plan_merge(collection.segments)
            if group is None:
                break
            fresh = self._merge(collection, group)
            if fresh is None:
                break  # a concurrent compaction merged these first (ours is an orphan), or the collection went
            committed += 1
            collection = fresh
        if committed:
            self.sweep(collection)
        return committed

    def _merge(self, collection: Collection, group: list[SegmentRef]) -> Collection | None:
        def live(face_ids: list[str]) -> np.ndarray:
            alive = self.faces.existing(collection, face_ids)
            return np.array([face_id in alive for face_id in face_ids], dtype=bool)

        merged = shards.merge([self.cache.get(ref.key) for ref in group], live)
        shard_id = new_segment_id()
        level = group[0].level + 1
        shard = SegmentRef(shard_id, segment_key(collection.uid, shard_id, level), len(merged), level)
        self.cache.put(shard.key, merged)
        return self.collections.replace_segments(collection, group, shard)

    def sweep(self, collection: Collection, now: datetime.datetime | None = None) -> int:
        """Delete the collection's objects that `collection`'s META does not name, past the grace period.

        `collection` must be a view read after the last swap it reflects (the swap's answer, or a fresh read).
        """
        referenced = {ref.key for ref in collection.segments}
        stale = orphans(self.objects.list(collection.uid), referenced, now or datetime.datetime.now(datetime.UTC))
        return self.objects.delete(stale)
