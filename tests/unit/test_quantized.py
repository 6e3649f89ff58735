"""Compact shards: the encoding round trip, the int8 kernel's error bound, and exact re-scoring."""

from __future__ import annotations

import json
import math
import uuid

import numpy as np
import pytest

from facesearch.index import fanout
from facesearch.index import quantized as q


def unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    rows = rng.standard_normal((n, q.DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def face_ids(rng: np.random.Generator, n: int) -> list[str]:
    return [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)]


def clustered(rng: np.random.Generator, n: int, query: np.ndarray) -> np.ndarray:
    """Rows whose cosines to `query` spread evenly over -0.2..0.95, so many sit near any threshold."""
    noise = unit_rows(rng, n)
    noise -= (noise @ query)[:, None] * query  # orthogonal to the query
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    target = rng.uniform(-0.2, 0.95, n).astype(np.float32)
    rows = target[:, None] * query + np.sqrt(1 - target**2)[:, None] * noise
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def exact_top(ids: list[str], rows: np.ndarray, query: np.ndarray, k: int, min_cosine: float) -> list[str]:
    cosines = rows @ query
    ranked = sorted(((-float(c), face_id) for face_id, c in zip(ids, cosines, strict=True) if c >= min_cosine))
    return [face_id for _, face_id in ranked[:k]]


def search(shards: list[q.QuantizedShard], exact: dict[str, np.ndarray], query: np.ndarray, k: int,
           min_cosine: float) -> q.Rescored:
    """What the index seam does: scan each shard, merge, re-score, widen while incomplete."""
    want = k
    while True:
        shortlist = q.merge([q.candidates(shard, query, want, min_cosine) for shard in shards], want, min_cosine)
        result = q.rescore(shortlist, exact, query, k, min_cosine)
        if result.complete:
            return result
        want *= 4


# --- encoding ---------------------------------------------------------------------------------------

def test_round_trip_keeps_ids_and_codes_and_each_component_within_half_a_step():
    rng = np.random.default_rng(1)
    ids, rows = face_ids(rng, 300), unit_rows(rng, 300)
    shard = q.quantize(ids, rows)
    back = q.from_bytes(q.to_bytes(shard))
    assert back.face_ids(np.arange(300)) == ids
    np.testing.assert_array_equal(back.codes, shard.codes)
    np.testing.assert_array_equal(back.scales, shard.scales)
    error = np.abs(q.dequantize(back) - rows)
    assert np.all(error <= back.scales[:, None] / 2 + 1e-7)


def test_serialised_and_cached_shards_are_over_3x_smaller_per_face_than_float32_rows():
    rng = np.random.default_rng(2)
    ids, rows = face_ids(rng, 2000), unit_rows(rng, 2000)
    fp32_bytes = rows.astype(np.float32).nbytes + np.asarray(ids, dtype="<U36").nbytes  # 512 + 144 a face
    shard = q.quantize(ids, rows)
    assert fp32_bytes / len(q.to_bytes(shard)) >= 3.0
    assert fp32_bytes / shard.nbytes >= 3.0
    assert len(q.to_bytes(shard)) < 2000 * (16 + 4 + 128) + 256  # ids, scale, codes + header and padding
    assert shard.nbytes == 2000 * (16 + 4 + 128 + 4)  # + the row offsets of the unsigned kernel


def test_decoded_shard_is_a_view_of_the_object_bytes_and_scans_in_place():
    rng = np.random.default_rng(3)
    rows = unit_rows(rng, 10)
    original = q.quantize(face_ids(rng, 10), rows)
    shard = q.from_bytes(q.to_bytes(original))
    assert not shard.codes.flags.writeable and not shard.codes.flags.owndata
    np.testing.assert_array_equal(q.approx_scores(shard, rows[0])[0], q.approx_scores(original, rows[0])[0])


def test_compaction_concatenates_and_drops_rows_without_touching_their_codes():
    rng = np.random.default_rng(16)
    ids, rows = face_ids(rng, 50), unit_rows(rng, 50)
    whole = q.quantize(ids, rows)
    parts = [q.quantize(ids[:20], rows[:20]), q.quantize(ids[20:], rows[20:])]
    joined = q.concat(parts)
    np.testing.assert_array_equal(joined.codes, whole.codes)
    np.testing.assert_array_equal(joined.scales, whole.scales)
    keep = np.arange(50) % 3 != 0
    kept = q.take(joined, keep)
    assert kept.face_ids(np.arange(len(kept))) == [i for i, k in zip(ids, keep, strict=True) if k]
    np.testing.assert_array_equal(q.from_bytes(q.to_bytes(kept)).codes, whole.codes[keep])
    assert len(q.concat([])) == 0


def test_empty_shard_round_trips():
    shard = q.from_bytes(q.to_bytes(q.quantize([], np.empty((0, q.DIM), np.float32))))
    assert len(shard) == 0 and shard.max_scale == 0.0


@pytest.mark.parametrize(
    "face_id", ["not-a-uuid", "6F9619FF-8B86-D011-B42D-00C04FC964FF", "6f9619ff8b86d011b42d00c04fc964ff"]
)
def test_face_ids_must_be_canonical_uuids_so_they_round_trip(face_id):
    with pytest.raises(ValueError):
        q.encode_face_ids([face_id])


def test_malformed_objects_are_refused():
    rng = np.random.default_rng(4)
    raw = q.to_bytes(q.quantize(face_ids(rng, 5), unit_rows(rng, 5)))
    for bad in (raw[:-1], raw + b"\0", b"XXXX" + raw[4:], raw[:10]):
        with pytest.raises(ValueError):
            q.from_bytes(bad)


def test_rows_longer_than_one_are_refused():
    with pytest.raises(ValueError):
        q.quantize([str(uuid.uuid4())], np.full((1, q.DIM), 0.5, np.float32))


# --- kernel -----------------------------------------------------------------------------------------

def test_excess_128_codes_keep_the_signed_values():
    signed = np.array([[-127, -1, 0, 1, 127] + [0] * (q.DIM - 5)], np.int8)
    stored = q.to_excess(signed)
    assert stored.dtype == np.uint8 and stored[0, :5].tolist() == [1, 127, 128, 129, 255]


def test_kernel_is_exact_integer_arithmetic_even_at_the_extremes():
    rng = np.random.default_rng(5)
    codes = rng.integers(-127, 128, (500, q.DIM)).astype(np.int8)
    codes[:4] = [[127] * q.DIM, [-127] * q.DIM, [127, -127] * (q.DIM // 2), [-127, 127] * (q.DIM // 2)]
    scales = rng.uniform(0.001, 0.01, 500).astype(np.float32)
    shard = q.QuantizedShard(q.encode_face_ids(face_ids(rng, 500)), q.to_excess(codes), scales)
    query = np.full(q.DIM, 1 / math.sqrt(q.DIM), np.float32)  # all codes +127: the largest sums
    query_codes, query_scale = q.quantize_query(query)
    scores, _ = q.approx_scores(shard, query)
    expected = (codes.astype(np.int64) @ query_codes.astype(np.int64)) * scales.astype(np.float64) * query_scale
    np.testing.assert_allclose(scores, expected, rtol=1e-6, atol=1e-9)


def test_int8_scores_stay_within_the_error_bound_of_the_exact_cosines():
    rng = np.random.default_rng(6)
    rows = unit_rows(rng, 20000)
    rows[:50] = np.eye(q.DIM, dtype=np.float32)[:50]  # spiky rows: the coarsest steps
    shard = q.quantize(face_ids(rng, 20000), rows)
    for query in unit_rows(rng, 5):
        scores, delta = q.approx_scores(shard, query)
        assert np.abs(scores - rows @ query).max() <= delta
        assert delta < 0.05


def test_error_bound_is_never_above_the_worst_case():
    rng = np.random.default_rng(7)
    query = unit_rows(rng, 1)[0]
    _, query_scale = q.quantize_query(query)
    for step in (0.0005, 0.003, 0.008):
        worst = step / 2 * np.abs(query).sum() + query_scale / 2 * (math.sqrt(q.DIM) + q.DIM * step / 2)
        assert q.error_bound(step, query, query_scale) <= worst + 1e-5


# --- candidates and re-scoring ------------------------------------------------------------------------

@pytest.mark.parametrize("min_cosine", [0.3, 0.5, 0.7])
@pytest.mark.parametrize("k", [1, 10, 100, 4096])
def test_rescoring_returns_exactly_the_exact_top_k(min_cosine, k):
    rng = np.random.default_rng(8)
    query = unit_rows(rng, 1)[0]
    ids, rows = face_ids(rng, 6000), clustered(rng, 6000, query)
    shard = q.quantize(ids, rows)
    result = search([shard], dict(zip(ids, rows, strict=True)), query, k, min_cosine)
    assert [face_id for face_id, _ in result.matches] == exact_top(ids, rows, query, k, min_cosine)
    assert result.complete


def test_shortlist_holds_what_may_clear_the_threshold_and_beat_the_kth_best_within_the_bound():
    rng = np.random.default_rng(9)
    query = unit_rows(rng, 1)[0]
    ids, rows = face_ids(rng, 6000), clustered(rng, 6000, query)
    shard = q.quantize(ids, rows)
    approx, delta = q.approx_scores(shard, query)
    kth = np.sort(approx)[::-1][9]
    expected = np.flatnonzero((approx >= 0.3 - delta) & (approx >= kth - 2 * delta))
    shortlist = q.candidates(shard, query, 10, 0.3)
    assert sorted(shortlist.face_ids) == sorted(ids[i] for i in expected)
    assert np.all(np.diff(shortlist.approx) <= 0)
    assert shortlist.unseen_below == pytest.approx(kth - delta)


def test_merging_shards_gives_the_same_answer_as_one_shard():
    rng = np.random.default_rng(10)
    query = unit_rows(rng, 1)[0]
    ids, rows = face_ids(rng, 6000), clustered(rng, 6000, query)
    exact = dict(zip(ids, rows, strict=True))
    parts = [q.quantize(ids[i : i + 1000], rows[i : i + 1000]) for i in range(0, 6000, 1000)]
    for k in (1, 50, 700):
        merged = search(parts, exact, query, k, 0.4)
        assert [m for m, _ in merged.matches] == exact_top(ids, rows, query, k, 0.4)


def test_deleted_candidates_make_the_answer_incomplete_until_the_scan_widens():
    rng = np.random.default_rng(11)
    query = unit_rows(rng, 1)[0]
    ids, rows = face_ids(rng, 6000), clustered(rng, 6000, query)
    shard = q.quantize(ids, rows)
    deleted = set(exact_top(ids, rows, query, 150, 0.3))  # more than the shortlist's over-fetch
    live = {face_id: row for face_id, row in zip(ids, rows, strict=True) if face_id not in deleted}
    first = q.rescore(q.candidates(shard, query, 20, 0.3), live, query, 20, 0.3)
    assert not first.complete
    result = search([shard], live, query, 20, 0.3)
    live_ids = [face_id for face_id in ids if face_id in live]
    assert [m for m, _ in result.matches] == exact_top(live_ids, np.stack([live[i] for i in live_ids]), query, 20, 0.3)


def test_shortlists_cross_the_fan_out_as_json_unchanged():
    rng = np.random.default_rng(17)
    query = unit_rows(rng, 1)[0]
    ids, rows = face_ids(rng, 3000), clustered(rng, 3000, query)
    shard = q.quantize(ids, rows)
    for shortlist in (q.candidates(shard, query, 5, 0.3), q.candidates(shard, query, 5000, 0.3)):
        back = fanout.shortlist_from_payload(json.loads(json.dumps(fanout.shortlist_payload(shortlist))))
        assert back.face_ids == shortlist.face_ids and back.delta == shortlist.delta
        assert back.unseen_below == shortlist.unseen_below
        np.testing.assert_array_equal(back.approx, shortlist.approx)
    with pytest.raises(ValueError):
        fanout.shortlist_from_payload({"face_ids": ["a"], "approx": [], "delta": 0.1, "unseen_below": None})


def test_many_slices_with_deleted_faces_still_give_the_exact_live_top_k():
    rng = np.random.default_rng(18)
    query = unit_rows(rng, 1)[0]
    ids, rows = face_ids(rng, 8000), clustered(rng, 8000, query)
    deleted = set(exact_top(ids, rows, query, 300, 0.5)[::2])  # every other one of the best 300
    live = {face_id: row for face_id, row in zip(ids, rows, strict=True) if face_id not in deleted}
    slices = [q.quantize(ids[i : i + 250], rows[i : i + 250]) for i in range(0, 8000, 250)]  # 32 slices
    live_ids = [face_id for face_id in ids if face_id in live]
    for k in (1, 40, 500):
        result = search(slices, live, query, k, 0.5)
        expected = exact_top(live_ids, np.stack([live[i] for i in live_ids]), query, k, 0.5)
        assert [m for m, _ in result.matches] == expected


def test_empty_shard_has_no_candidates_and_is_complete():
    shard = q.quantize([], np.empty((0, q.DIM), np.float32))
    query = unit_rows(np.random.default_rng(12), 1)[0]
    shortlist = q.candidates(shard, query, 5, 0.3)
    assert shortlist.face_ids == () and q.rescore(shortlist, {}, query, 5, 0.3) == q.Rescored((), True)
    assert q.rescore(q.merge([], 5, 0.3), {}, query, 5, 0.3).complete


def test_k_larger_than_the_shard_returns_every_face_above_the_threshold():
    rng = np.random.default_rng(13)
    query = unit_rows(rng, 1)[0]
    ids, rows = face_ids(rng, 40), clustered(rng, 40, query)
    result = search([q.quantize(ids, rows)], dict(zip(ids, rows, strict=True)), query, 1000, 0.3)
    assert [m for m, _ in result.matches] == exact_top(ids, rows, query, 1000, 0.3)
    assert len(result.matches) == int(np.sum(rows @ query >= 0.3))


def test_duplicate_scores_are_all_candidates_and_rank_by_face_id():
    rng = np.random.default_rng(14)
    query = unit_rows(rng, 1)[0]
    ids = face_ids(rng, 30)
    rows = np.repeat(clustered(rng, 1, query), 30, axis=0)  # 30 faces, one score
    shard = q.quantize(ids, rows)
    shortlist = q.candidates(shard, query, 5, 0.3)
    assert len(shortlist.face_ids) == 30  # all tie with the 5th best
    result = q.rescore(shortlist, dict(zip(ids, rows, strict=True)), query, 5, 0.3)
    assert [m for m, _ in result.matches] == sorted(ids)[:5] and result.complete


def test_k_zero_asks_for_nothing():
    rng = np.random.default_rng(15)
    query = unit_rows(rng, 1)[0]
    ids, rows = face_ids(rng, 10), unit_rows(rng, 10)
    shortlist = q.candidates(q.quantize(ids, rows), query, 0, -1.0)
    assert shortlist.face_ids == () and q.rescore(shortlist, {}, query, 0, -1.0).complete
