"""Compact shards: int8 codes with a per-row scale, a scan over them, and exact re-scoring of the best.

Why: an exact float32 scan already runs at the machine's read bandwidth, so only fewer bytes per face make
a big collection faster or cheaper to hold. A face here costs 148 bytes in S3 (16 raw UUID bytes, a float32
scale, 128 8-bit codes) and 152 in a warm cache (+ a float32 row offset), instead of 656 for float32 rows
with 36-character ids (512 + 144 bytes).

Search results must not change, so the int8 scores only choose candidates; each candidate is re-scored
with its exact float32 embedding (the search reads every candidate's face item anyway, to check that the
face still exists). `error_bound` gives the largest difference between an int8 score and the exact cosine,
and `candidates` keeps every face that could, within that bound, belong to the exact top k above the
threshold:

    approx >= min_cosine - delta              (it may still clear the threshold), and
    approx >= kth_best_approx - 2 * delta     (it may still beat the k-th best face).

A face left out is therefore below `unseen_below` in exact cosine; `rescore` uses that to tell whether its
exact top k is final or, because some candidates were deleted, the scan must be widened.

The scan kernel is SimSIMD's 8-bit dot product (`simsimd.cdist`): runtime-dispatched AVX2 / AVX-512 /
NEON / SVE kernels, exact integer sums, reads the codes in place (no copy, also from a read-only buffer), in
a sub-2-MB wheel for Linux x86_64 and aarch64. Codes are kept excess-128 (code + 128, as uint8) because its
unsigned kernel ran about 10 % faster than the signed one here; the offset comes back out exactly with one
per-row constant. bench/scale.py measures it against onnxruntime's MatMulInteger / MatMulNBits and numpy.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import simsimd

from facesearch.index import shard_bytes
from facesearch.index.shard_bytes import DIM, ID_BYTES, decode_face_ids, encode_face_ids

CODE_MAX = 127  # symmetric codes; -128 is never used, so negation can never overflow
EXCESS = 128  # stored code = signed code + EXCESS
MISS_PROBABILITY = 1e-9  # Hoeffding tail allowed per face for the probabilistic bound (see error_bound)
_FLOAT_SLACK = 1e-5  # float32 rounding in the scale products and the exact dot, far above the real ~1e-7

@dataclass(frozen=True)
class QuantizedShard:
    """n faces: row r's embedding is about scales[r] * (codes[r] - 128) (each component within scales[r] / 2)."""

    ids: np.ndarray  # (n, 16) uint8: the raw bytes of each face's UUID
    codes: np.ndarray  # (n, DIM) uint8, C-contiguous: the int8 code + 128 (1..255)
    scales: np.ndarray  # (n,) float32

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    @property
    def nbytes(self) -> int:
        """What the shard holds in memory once scanned (the cache's cost of it)."""
        return int(self.ids.nbytes + self.codes.nbytes + self.scales.nbytes + 4 * len(self))

    @functools.cached_property
    def offsets(self) -> np.ndarray:
        """(n,) float32 128 * sum(codes[r]): what excess-128 adds to a row's dot product (exact < 2^24)."""
        if len(self) == 0:
            return np.empty(0, np.float32)
        sums = np.empty((1, len(self)), np.float32)
        simsimd.cdist(np.ones((1, DIM), np.uint8), self.codes, metric="dot", out=sums)
        offsets: np.ndarray = sums[0] * np.float32(EXCESS)
        return offsets

    @functools.cached_property
    def max_scale(self) -> float:
        """The coarsest row's step: it sets the shard's error bound."""
        return float(self.scales.max()) if len(self) else 0.0

    def face_ids(self, rows: np.ndarray) -> list[str]:
        return decode_face_ids(self.ids[rows])


@dataclass(frozen=True)
class Shortlist:
    """Candidate faces of one scan (or of a merge of scans) with their int8 scores, best first.

    Every face not listed whose exact cosine is at least the threshold has exact cosine < unseen_below
    (-inf when no face above the threshold was left out).
    """

    face_ids: tuple[str, ...]
    approx: np.ndarray  # (m,) float32 int8 scores, descending
    delta: float  # the error bound the list was cut with
    unseen_below: float


@dataclass(frozen=True)
class Rescored:
    matches: tuple[tuple[str, float], ...]  # (face id, exact cosine), best first, ties by face id
    complete: bool  # False: deleted candidates may hide live faces; scan again with a larger k


def quantize_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 codes, scales) of float rows: scale = max |component| / 127, code = round(component / scale)."""
    matrix = np.asarray(matrix, dtype=np.float32).reshape(-1, DIM)
    peak = np.abs(matrix).max(axis=1) if len(matrix) else np.empty(0, np.float32)
    scales = (peak / CODE_MAX).astype(np.float32)
    safe = np.where(scales > 0, scales, np.float32(1.0))
    codes = np.clip(np.rint(matrix / safe[:, None]), -CODE_MAX, CODE_MAX).astype(np.int8)
    return codes, scales


def quantize(face_ids: Sequence[str], embeddings: np.ndarray) -> QuantizedShard:
    """A shard of unit (or shorter) rows; the error bound assumes no row is longer than 1."""
    matrix = np.asarray(embeddings, dtype=np.float32).reshape(len(face_ids), DIM)
    if len(matrix) and float(np.linalg.norm(matrix, axis=1).max()) > 1.0 + 1e-3:
        raise ValueError("embeddings must be unit vectors")
    codes, scales = quantize_rows(matrix)
    return QuantizedShard(encode_face_ids(face_ids), to_excess(codes), scales)


def to_excess(codes: np.ndarray) -> np.ndarray:
    """int8 codes as stored: code + 128 in a uint8 (the same bits with the sign bit flipped)."""
    return np.ascontiguousarray(np.asarray(codes, dtype=np.int8).view(np.uint8) ^ np.uint8(0x80))


def concat(parts: Sequence[QuantizedShard]) -> QuantizedShard:
    """One shard of several (compaction): lossless, as every row keeps its own scale."""
    if not parts:
        return QuantizedShard(np.empty((0, ID_BYTES), np.uint8), np.empty((0, DIM), np.uint8), np.empty(0, np.float32))
    return QuantizedShard(
        np.concatenate([part.ids for part in parts]),
        np.concatenate([part.codes for part in parts]),
        np.concatenate([part.scales for part in parts]).astype(np.float32, copy=False),
    )


def take(shard: QuantizedShard, keep: np.ndarray) -> QuantizedShard:
    """The rows of `shard` selected by a boolean mask or row numbers (compaction drops deleted faces)."""
    return QuantizedShard(shard.ids[keep], np.ascontiguousarray(shard.codes[keep]), shard.scales[keep])


def dequantize(shard: QuantizedShard) -> np.ndarray:
    rows: np.ndarray = (shard.codes.astype(np.float32) - EXCESS) * shard.scales.reshape(-1, 1)
    return rows


def quantize_query(query: np.ndarray) -> tuple[np.ndarray, float]:
    """(int8 codes, scale) of the query, quantized like a row."""
    codes, scales = quantize_rows(np.asarray(query, dtype=np.float32).reshape(1, DIM))
    return codes.reshape(DIM), float(scales[0])


def error_bound(row_scale: float, query: np.ndarray, query_scale: float) -> float:
    """Largest |exact cosine - int8 score| for a unit row quantized with step `row_scale`.

    With x = x^ + ex and q = q^ + eq (rounding errors, |ex_i| <= s/2, |eq_i| <= s_q/2), the error is
    ex.q + x^.eq. Worst case: (s/2)|q|_1 + (s_q/2)|x^|_1. Treating the rounding errors as independent
    (what rounding of unrelated values gives; bench/scale.py checks it on real embeddings), Hoeffding's
    inequality bounds the error by t with probability 1 - MISS_PROBABILITY, where
    t^2 = (s^2 |q|^2 + s_q^2 |x^|^2) ln(2 / p) / 2: about 4x tighter. The smaller of the two is used.
    Both grow with s, so the shard's largest scale gives one bound for all of its rows.
    """
    q = np.asarray(query, dtype=np.float64).reshape(-1)
    x_l1 = math.sqrt(DIM) + DIM * row_scale / 2  # |x^|_1 <= |x|_1 + |ex|_1, |x|_1 <= sqrt(DIM) |x|_2
    x_l2 = 1.0 + math.sqrt(DIM) * row_scale / 2  # |x^|_2 <= |x|_2 + |ex|_2
    worst = row_scale / 2 * float(np.abs(q).sum()) + query_scale / 2 * x_l1
    spread = (row_scale * float(np.linalg.norm(q))) ** 2 + (query_scale * x_l2) ** 2
    likely = math.sqrt(spread * math.log(2 / MISS_PROBABILITY) / 2)
    return min(worst, likely) + _FLOAT_SLACK


def approx_scores(shard: QuantizedShard, query: np.ndarray) -> tuple[np.ndarray, float]:
    """(n,) int8 cosine estimates of a unit query against every row, and their error bound."""
    query_codes, query_scale = quantize_query(query)
    delta = error_bound(shard.max_scale, query, query_scale)
    if len(shard) == 0:
        return np.empty(0, np.float32), delta
    # (c + 128).(p + 128) = c.p + 128 sum(c + 128) + 128 sum(p): every term an integer below 2^24, so exact in
    # float32; subtracting the row's offset and the query's leaves the signed dot product c.p.
    dots = np.empty((1, len(shard)), dtype=np.float32)
    simsimd.cdist(to_excess(query_codes)[None], shard.codes, metric="dot", out=dots)
    scores = dots[0]
    scores -= shard.offsets
    scores -= np.float32(EXCESS * int(query_codes.astype(np.int64).sum()))
    scores *= shard.scales
    scores *= np.float32(query_scale)
    return scores, delta


def _select(approx: np.ndarray, delta: float, k: int, min_cosine: float) -> tuple[np.ndarray, float]:
    """Indices of the rows that may be in the exact top k at or above min_cosine (best first), and the
    exact cosine every other such row stays below."""
    if k <= 0:
        return np.empty(0, np.int64), -math.inf
    hits = np.flatnonzero(approx >= np.float32(min_cosine - delta))
    unseen_below = -math.inf
    if len(hits) > k:
        kth = float(-np.partition(-approx[hits], k - 1)[k - 1])
        hits = hits[approx[hits] >= np.float32(kth - 2 * delta)]
        unseen_below = kth - delta
    order = np.argsort(-approx[hits], kind="stable")
    return hits[order], unseen_below


def candidates(shard: QuantizedShard, query: np.ndarray, k: int, min_cosine: float) -> Shortlist:
    """The faces of `shard` that may be among the exact k best at or above min_cosine, best first."""
    approx, delta = approx_scores(shard, query)
    return shortlist(shard, approx, delta, k, min_cosine)


def shortlist(shard: QuantizedShard, approx: np.ndarray, delta: float, k: int, min_cosine: float) -> Shortlist:
    """`candidates` from scores already computed: a wider k after deletions needs no second scan."""
    rows, unseen_below = _select(approx, delta, k, min_cosine)
    return Shortlist(tuple(shard.face_ids(rows)), approx[rows], delta, unseen_below)


def merge(parts: Sequence[Shortlist], k: int, min_cosine: float) -> Shortlist:
    """One shortlist of several shards' (or fan-out slices'): the same rule over their union.

    Sound because each part already holds its shard's share of the exact top k, and a shard's k-th best
    score is never above the union's, so the union's cut only drops faces the parts' cuts would allow.
    """
    if not parts:
        return Shortlist((), np.empty(0, np.float32), 0.0, -math.inf)
    face_ids = tuple(face_id for part in parts for face_id in part.face_ids)
    approx = np.concatenate([part.approx for part in parts]).astype(np.float32, copy=False)
    delta = max(part.delta for part in parts)
    rows, cut_below = _select(approx, delta, k, min_cosine)
    unseen_below = max([cut_below, *(part.unseen_below for part in parts)])
    return Shortlist(tuple(face_ids[row] for row in rows), approx[rows], delta, unseen_below)


def rescore(
    shortlist: Shortlist, exact: Mapping[str, np.ndarray], query: np.ndarray, k: int, min_cosine: float
) -> Rescored:
    """The exact k best at or above min_cosine among the shortlisted faces found in `exact`.

    `exact` maps the face ids whose face items exist to their float32 embeddings; a shortlisted face
    missing from it was deleted (or is excluded) and is skipped. The answer is complete when no face left
    out of the shortlist could still enter the top k.
    """
    live = [face_id for face_id in shortlist.face_ids if face_id in exact]
    if live:
        matrix = np.stack([np.asarray(exact[face_id], dtype=np.float32).reshape(DIM) for face_id in live])
        cosines = matrix @ np.asarray(query, dtype=np.float32).reshape(DIM)
    else:
        cosines = np.empty(0, np.float32)
    ranked = sorted(
        ((face_id, float(cosine)) for face_id, cosine in zip(live, cosines, strict=True) if cosine >= min_cosine),
        key=lambda match: (-match[1], match[0]),
    )[: max(k, 0)]
    bound = shortlist.unseen_below
    complete = bound <= min_cosine or (len(ranked) >= k and ranked[k - 1][1] >= bound)
    return Rescored(tuple(ranked), complete)


def to_bytes(shard: QuantizedShard) -> bytes:
    """The shard's S3 object (shard_bytes.py has the layout)."""
    return shard_bytes.pack(shard.ids, shard.codes, shard.scales)


def from_bytes(raw: bytes) -> QuantizedShard:
    """The shard in `raw`, as read-only views of it (no copy); a malformed object raises ValueError."""
    return QuantizedShard(*shard_bytes.unpack(raw))


__all__ = [
    "DIM",
    "ID_BYTES",
    "QuantizedShard",
    "Rescored",
    "Shortlist",
    "candidates",
    "concat",
    "decode_face_ids",
    "dequantize",
    "encode_face_ids",
    "from_bytes",
    "merge",
    "quantize",
    "rescore",
    "shortlist",
    "take",
    "to_bytes",
]
