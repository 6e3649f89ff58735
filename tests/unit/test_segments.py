"""Shard formats, the compaction plan and the orphan sweep's choice: pure functions."""

from __future__ import annotations

import datetime
import uuid

import numpy as np

from facesearch.index import shards as segments
from facesearch.index.compaction import ORPHAN_GRACE, orphans
from facesearch.index.fanout import slices
from facesearch.index.quantized import rescore
from facesearch.index.scan import scan
from facesearch.storage.records import SegmentRef


def ref(i: int, count: int = 1, level: int = 0) -> SegmentRef:
    return SegmentRef(f"{i:04d}", f"k{i}", count, level)


def unit_rows(n: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, 128)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def ids(n: int, start: int = 0) -> list[str]:
    return [str(uuid.UUID(int=start + i + 1)) for i in range(n)]


def test_compact_objects_round_trip():
    rows = unit_rows(3)
    shard = segments.make_segment(ids(3), rows)
    back = segments.decode_object(segments.quantized.to_bytes(shard))
    assert back.face_ids(np.arange(3)) == ids(3)
    np.testing.assert_allclose(segments.quantized.dequantize(back), rows, atol=0.01)


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
    first, second = ids(2), ids(1, start=10)
    a = segments.make_segment(first, unit_rows(2))
    b = segments.make_segment(second, unit_rows(1, seed=1))
    merged = segments.merge([a, b], lambda face_ids: np.array([face_id != first[1] for face_id in face_ids]))
    assert merged.face_ids(np.arange(len(merged))) == [first[0], second[0]]
    np.testing.assert_array_equal(merged.codes[1], b.codes[0])


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


def test_a_scan_across_shards_then_rescoring_finds_the_best_rows_above_the_threshold():
    rows, face_ids = unit_rows(6), ids(6)
    store = MemoryStore({"s1": segments.make_segment(face_ids[:3], rows[:3]),
                         "s2": segments.make_segment(face_ids[3:], rows[3:])})
    exact = dict(zip(face_ids, rows, strict=True))
    query = rows[4]
    found = rescore(scan(store, ["s1", "s2"], query, 2, -1.0), exact, query, 2, -1.0)
    assert found.complete and found.matches[0][0] == face_ids[4] and found.matches[0][1] > 0.99
    assert len(found.matches) == 2
    strict = rescore(scan(store, ["s1", "s2"], query, 5, 0.9), exact, query, 5, 0.9)
    assert [face_id for face_id, _ in strict.matches] == [face_ids[4]]


def test_slices_split_by_rows():
    refs = [ref(i, 100) for i in range(5)]
    groups = slices(refs, 250)
    assert [sum(r.count for r in group) for group in groups] == [200, 200, 100]
    assert sorted(r.segment_id for group in groups for r in group) == sorted(r.segment_id for r in refs)
