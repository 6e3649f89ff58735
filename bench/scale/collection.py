"""The collection bench.scale measures: compact shards generated one at a time, with the exact float32 answer
and the compact shortlists of every query tracked as they are made."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from bench.common.progress import log
from bench.scale import data
from facesearch.index import quantized as q
from facesearch.vision.similarity import cosine_similarities, top_k

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
MAX_FACES = (1, 10, 100, 1000, 4096)
TIMED_K, TIMED_COSINE = 100, 0.5  # the scan timed in sections 3 and 7: MaxFaces 100 at about Similarity 80
MILLION = 1_000_000


@dataclass
class Reference:
    """A query's exact float32 best faces (cosine >= min threshold, at most 4096) over the whole collection."""

    scores: np.ndarray
    where: np.ndarray  # global row number: shard * shard_rows + row

    def add(self, cosines: np.ndarray, base: int, keep: int, floor: float) -> None:
        hits = np.flatnonzero(cosines >= floor)
        scores = np.concatenate([self.scores, cosines[hits]])
        where = np.concatenate([self.where, hits + base])
        best = top_k(scores, keep)
        self.scores, self.where = scores[best], where[best]


@dataclass
class Collection:
    shards: list[q.QuantizedShard]
    fp32: list[np.ndarray]  # the first shards (up to 1M faces) as float32 too, for the baseline
    fp32_ids: list[np.ndarray]  # their ids as today's '<U36' strings
    references: list[Reference]
    merged: dict[tuple[int, int, float], q.Shortlist]  # (query, MaxFaces, threshold) -> over all shards
    exact: list[dict[str, np.ndarray]]  # per query: exact embeddings of every face still shortlisted
    worst_error_ratio: float  # max |int8 score - exact| / bound, over every face and query
    bound_misses: int  # faces whose error exceeded the bound
    deltas: list[float]


def build(faces: int, shard_rows: int, model: data.FaceModel, probes: data.Probes,
          seed: int) -> Collection:
    """Generate the shards one at a time; track the exact reference and the compact shortlists as we go."""
    count = math.ceil(faces / shard_rows)
    queries = probes.queries
    references = [Reference(np.empty(0, np.float32), np.empty(0, np.int64)) for _ in queries]
    merged = {(j, k, t): q.merge([], k, t) for j in range(len(queries)) for k in MAX_FACES for t in THRESHOLDS}
    exact: list[dict[str, np.ndarray]] = [{} for _ in queries]
    collection = Collection([], [], [], references, merged, exact, 0.0, 0, [])
    started = time.perf_counter()
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        rows_here = min(shard_rows, faces - i * shard_rows)
        real = probes.gallery[i::count][:rows_here]
        rows = np.concatenate([real, data.draw(model, rng, rows_here - len(real))]).astype(np.float32)
        codes, scales = q.quantize_rows(rows)
        shard = q.QuantizedShard(data.raw_ids(rng, rows_here), q.to_excess(codes), scales)
        collection.shards.append(shard)
        if i * shard_rows < min(faces, MILLION):
            collection.fp32.append(rows)
            collection.fp32_ids.append(np.array(shard.face_ids(np.arange(rows_here)), dtype="<U36"))
        for j, query in enumerate(queries):
            cosines = cosine_similarities(query, rows)  # today's exact float32 scan
            references[j].add(cosines, i * shard_rows, max(MAX_FACES), min(THRESHOLDS))
            approx, delta = q.approx_scores(shard, query)
            collection.deltas.append(delta)
            error = np.abs(approx - cosines)
            collection.worst_error_ratio = max(collection.worst_error_ratio, float(error.max()) / delta)
            collection.bound_misses += int(np.sum(error > delta))
            wanted: set[str] = set()
            for k in MAX_FACES:
                for t in THRESHOLDS:
                    part = q.shortlist(shard, approx, delta, k, t)
                    merged[(j, k, t)] = q.merge([merged[(j, k, t)], part], k, t)
                    wanted.update(merged[(j, k, t)].face_ids)
            new = {face_id: rows[r] for face_id, r in zip(*_rows_of(shard, wanted), strict=True)}
            exact[j] = {face_id: vector for face_id, vector in (exact[j] | new).items() if face_id in wanted}
        if (i + 1) % 10 == 0 or i + 1 == count:
            log(f"  built {i + 1}/{count} shards ({(i + 1) * shard_rows:,} faces), "
                f"{time.perf_counter() - started:.0f} s")
    return collection


def _rows_of(shard: q.QuantizedShard, wanted: set[str]) -> tuple[list[str], list[int]]:
    """The shard's rows whose face ids are in `wanted` (ids compared as raw bytes: no decoding of all)."""
    raw = {bytes.fromhex(face_id.replace("-", "")) for face_id in wanted}
    as_bytes = shard.ids.view("S16").reshape(-1)
    rows = list(np.flatnonzero(np.isin(as_bytes, np.array(sorted(raw), dtype="S16")))) if raw else []
    return shard.face_ids(np.array(rows, dtype=np.int64)), [int(r) for r in rows]


def face_id_at(collection: Collection, where: int, shard_rows: int) -> str:
    shard = collection.shards[where // shard_rows]
    return shard.face_ids(np.array([where % shard_rows]))[0]
