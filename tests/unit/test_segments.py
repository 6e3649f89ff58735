"""Segment encoding, the compaction plan and the orphan sweep's choice: pure functions."""

from __future__ import annotations

import datetime

import numpy as np

from facesearch.index import shards as segments
from facesearch.index.compaction import ORPHAN_GRACE, orphans
from facesearch.index.fanout import slices
from facesearch.index.scan import Candidate, ExactScan
from facesearch.storage.records import SegmentRef

scan = ExactScan().scan


def ref(i: int, count: int = 1, level: int = 0) -> SegmentRef:
    return SegmentRef(f"{i:04d}", f"k{i}", count, level)


def unit_rows(n: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, 128)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_encode_decode_round_trips_without_pickle():
    data = segments.make_segment(["11111111-1111-1111-1111-111111111111"], unit_rows(1))
    back = segments.decode(segments.encode(data))
    assert back.face_ids.tolist() == data.face_ids.tolist()
    np.testing.assert_array_equal(back.embeddings, data.embeddings)


def test_nothing_to_merge_below_fan_in():
    assert segments.plan_merge([ref(i) for i in range(segments.FAN_IN - 1)]) is None


def test_merge_takes_the_oldest_full_level_first():
    level0 = [ref(i) for i in range(segments.FAN_IN + 2)]
    assert segments.plan_merge(level0) == level0[: segments.FAN_IN]
    level1 = [ref(100 + i, 10, 1) for i in range(segments.FAN_IN)]
    assert segments.plan_merge(level1 + level0[:3]) == level1


def test_merge_never_builds_a_shard_past_the_limit():
    big = [ref(i, segments.MAX_SHARD_ROWS // 4, 3) for i in range(segments.FAN_IN)]
    assert segments.plan_merge(big) is None


def test_merge_drops_rows_of_deleted_faces():
    a = segments.make_segment(["a", "b"], unit_rows(2))
    b = segments.make_segment(["c"], unit_rows(1, seed=1))
    merged = segments.merge([a, b], lambda ids: np.array([face_id != "b" for face_id in ids]))
    assert merged.face_ids.tolist() == ["a", "c"]
    np.testing.assert_array_equal(merged.embeddings[1], b.embeddings[0])


def test_orphans_are_unreferenced_objects_past_the_grace_period():
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    old = now - ORPHAN_GRACE - datetime.timedelta(seconds=1)
    listed = [("live", old), ("orphan", old), ("young", now)]
    assert orphans(listed, {"live"}, now) == ["orphan"]


class MemoryStore:
    def __init__(self, objects):
        self.objects = objects

    def get(self, key):
        return self.objects[key]


def test_scan_returns_the_best_rows_above_the_threshold_across_segments():
    rows = unit_rows(6)
    store = MemoryStore({"s1": segments.make_segment(["a", "b", "c"], rows[:3]),
                         "s2": segments.make_segment(["d", "e", "f"], rows[3:])})
    query = rows[4]
    found = scan(store, ["s1", "s2"], query, k=2, min_cosine=-1.0)
    assert found[0] == Candidate("e", found[0].cosine)
    assert found[0].cosine > 0.99
    assert len(found) == 2
    assert scan(store, ["s1", "s2"], query, k=5, min_cosine=0.9) == found[:1]
    assert [c.face_id for c in scan(store, ["s1", "s2"], query, k=5, min_cosine=0.9, exclude=frozenset("e"))] == []


def test_slices_split_by_rows():
    refs = [ref(i, 100) for i in range(5)]
    groups = slices(refs, 250)
    assert [sum(r.count for r in group) for group in groups] == [200, 200, 100]
    assert sorted(r.segment_id for group in groups for r in group) == sorted(r.segment_id for r in refs)
