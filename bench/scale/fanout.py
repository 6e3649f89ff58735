"""Section 7 of bench.scale, the fan-out: worker processes scan slices of compact shards as Lambda invocations would,
and a model turns the measured parts into end-to-end latencies for collections of any size.

Measured here: the time one worker (one core) takes to scan a slice and merge its shards' shortlists, the
size of what it sends back, and the time the caller takes to merge S slices' shortlists. Not measurable
here, so parameters (override them on the command line): the Lambda Invoke round trip, S3 GET throughput
for a cold slice, and DynamoDB BatchGetItem latency for the face items of the final shortlist.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from multiprocessing.connection import Connection

import numpy as np

from bench.scale.collection import MILLION, TIMED_COSINE, TIMED_K, Collection
from facesearch.index import quantized as q


@dataclass(frozen=True)
class CloudParams:
    """Defaults are assumptions, not measurements; each says where its number comes from."""

    # Synchronous Invoke of a warm function from inside Lambda, request + response (assumption: AWS
    # publishes no figure; tens of ms is what is commonly observed for small payloads).
    invoke_p50_ms: float = 15.0
    invoke_p95_ms: float = 45.0
    # One invocation's S3 GET throughput (assumption: third-party measurements of a single Lambda's download
    # bandwidth report 400-700 Mbit/s; AWS's S3 performance guide recommends 8-16 MB byte-range GETs in
    # parallel for more). 75 MB/s = 600 Mbit/s.
    s3_mb_per_s: float = 75.0
    s3_first_byte_ms: float = 30.0  # assumption
    # DynamoDB BatchGetItem of up to 100 face items (assumption from AWS's "single-digit millisecond"
    # claim for GetItem; a batch of 100 is slower), run `ddb_parallel` at a time.
    ddb_batch_p50_ms: float = 8.0
    ddb_batch_p95_ms: float = 20.0
    ddb_parallel: int = 16


@dataclass(frozen=True)
class SliceResult:
    shortlist: q.Shortlist
    seconds: float  # the worker's scan + merge of the slice, elapsed
    cpu_seconds: float  # the same in the worker's CPU time (what a dedicated vCPU would take)


def scan_slice(shards: Sequence[q.QuantizedShard], query: np.ndarray, k: int, min_cosine: float) -> SliceResult:
    started, started_cpu = time.perf_counter(), time.thread_time()
    merged = q.merge([q.candidates(shard, query, k, min_cosine) for shard in shards], k, min_cosine)
    return SliceResult(merged, time.perf_counter() - started, time.thread_time() - started_cpu)


def _serve(conn: Connection, slices: Sequence[Sequence[q.QuantizedShard]]) -> None:
    while (request := conn.recv()) is not None:
        query, k, min_cosine = request
        conn.send([scan_slice(shards, query, k, min_cosine) for shards in slices])


class WorkerPool:
    """`workers` forked processes, each owning some slices (inherited by fork: no copy of the shards)."""

    def __init__(self, slices: Sequence[Sequence[q.QuantizedShard]], workers: int) -> None:
        context = multiprocessing.get_context("fork")
        self.connections: list[Connection] = []
        self.processes = []
        for w in range(workers):
            mine = [slices[i] for i in range(w, len(slices), workers)]
            parent, child = context.Pipe()
            process = context.Process(target=_serve, args=(child, mine), daemon=True)
            process.start()
            self.connections.append(parent)
            self.processes.append(process)

    def search(self, query: np.ndarray, k: int, min_cosine: float) -> list[SliceResult]:
        for conn in self.connections:
            conn.send((query, k, min_cosine))
        return [result for conn in self.connections for result in conn.recv()]

    def close(self) -> None:
        for conn in self.connections:
            conn.send(None)
        for process in self.processes:
            process.join(timeout=10)


def payload_bytes(shortlist: q.Shortlist) -> int:
    """About what a slice's JSON answer holds: per candidate a 36-char id and a score."""
    return 64 + len(shortlist.face_ids) * (36 + 4 + 12)


def lognormal(rng: np.random.Generator, p50: float, p95: float, size: int | tuple[int, ...]) -> np.ndarray:
    sigma = math.log(p95 / p50) / 1.6449 if p95 > p50 else 0.0
    return p50 * np.exp(sigma * rng.standard_normal(size))


def item_reads_ms(items: int, params: CloudParams, rng: np.random.Generator) -> float:
    """BatchGetItem calls of 100 items, `ddb_parallel` at a time: each round waits for its slowest call."""
    calls = math.ceil(items / 100)
    total = 0.0
    while calls > 0:
        batch = min(calls, params.ddb_parallel)
        total += float(lognormal(rng, params.ddb_batch_p50_ms, params.ddb_batch_p95_ms, batch).max())
        calls -= batch
    return total


@dataclass(frozen=True)
class Modelled:
    faces: int
    slices: int
    p50_ms: float
    p95_ms: float
    cold_extra_ms: float  # added when every slice must first GET its shards from S3


def model(faces: int, slice_rows: int, slice_ms: np.ndarray, merge_ms: dict[int, np.ndarray],
          shortlist_size: np.ndarray, bytes_per_face: float, params: CloudParams, rng: np.random.Generator,
          requests: int = 20_000) -> Modelled:
    """End-to-end search latency (query vector in, ranked face items out) for `faces` faces.

    slices = ceil(faces / slice_rows); one slice is scanned in place, more are invoked in parallel:
        max over slices (invoke + slice scan) + merge of the slices' shortlists + face-item reads.
    slice_ms are measured for slices of slice_rows faces (a smaller last slice is taken as a full one).
    """
    slices = max(1, math.ceil(faces / slice_rows))
    scan = rng.choice(slice_ms, size=(requests, slices))
    if slices > 1:
        invoke = lognormal(rng, params.invoke_p50_ms, params.invoke_p95_ms, (requests, slices))
        fan = (scan + invoke).max(axis=1) + rng.choice(merge_ms[slices], size=requests)
    else:
        fan = scan[:, 0]
    reads = np.array([item_reads_ms(int(m), params, rng) for m in rng.choice(shortlist_size, size=2000)])
    total = fan + rng.choice(reads, size=requests)
    slice_mb = min(faces, slice_rows) * bytes_per_face / 1e6
    cold = params.s3_first_byte_ms + slice_mb / params.s3_mb_per_s * 1e3
    return Modelled(faces, slices, float(np.percentile(total, 50)), float(np.percentile(total, 95)), cold)


def section_fanout(collection: Collection, queries: np.ndarray, slice_rows: int, shard_rows: int, workers: int,
                   params: CloudParams, rng: np.random.Generator) -> None:
    per_slice = max(1, slice_rows // shard_rows)
    slices = [collection.shards[i : i + per_slice] for i in range(0, len(collection.shards), per_slice)]
    pool = WorkerPool(slices, workers)
    try:
        slice_ms, slice_cpu_ms, merge_ms_run, payloads, finals = [], [], [], [], []
        shortlists: list[q.Shortlist] = []
        for query in queries:
            results = pool.search(query, TIMED_K, TIMED_COSINE)
            full = [r for r, shards in zip(results, _owned(slices, workers), strict=True)
                    if sum(len(s) for s in shards) == per_slice * shard_rows]
            slice_ms += [r.seconds * 1e3 for r in (full or results)]
            slice_cpu_ms += [r.cpu_seconds * 1e3 for r in (full or results)]
            payloads += [payload_bytes(r.shortlist) for r in results]
            started = time.perf_counter()
            merged = q.merge([r.shortlist for r in results], TIMED_K, TIMED_COSINE)
            merge_ms_run.append((time.perf_counter() - started) * 1e3)
            finals.append(len(merged.face_ids))
            shortlists += [r.shortlist for r in results]
    finally:
        pool.close()
    targets = (MILLION, 5 * MILLION, 20 * MILLION)
    other_rows = (500_000, 2 * MILLION, 5 * MILLION)
    counts = {max(1, math.ceil(f / rows)) for f in targets for rows in (slice_rows, *other_rows)}
    merge_ms = {count: _merge_ms(shortlists, count, rng) for count in sorted(counts)}
    slice_arr, slice_cpu = np.array(slice_ms), np.array(slice_cpu_ms)
    print(f"\n7. fan-out: {len(slices)} slices of up to {per_slice * shard_rows:,} faces over {workers} worker "
          f"processes, {len(queries)} queries (MaxFaces {TIMED_K}, cosine >= {TIMED_COSINE})")
    print(f"   per-slice scan+merge (one core): p50 {np.percentile(slice_arr, 50):.1f} ms, "
          f"p95 {np.percentile(slice_arr, 95):.1f} ms elapsed; CPU time p50 {np.percentile(slice_cpu, 50):.1f}, "
          f"p95 {np.percentile(slice_cpu, 95):.1f} ms; answer payload p50 {np.median(payloads) / 1e3:.1f} KB")
    print(f"   caller's merge of {len(slices)} shortlists: p50 {np.median(merge_ms_run):.2f} ms; "
          f"final shortlist p50 {np.median(finals):.0f} faces (face items read)")
    print("   parameters: " + ", ".join(f"{f.name}={getattr(params, f.name)}" for f in fields(params)))
    bytes_per_face = collection.shards[0].nbytes / len(collection.shards[0])
    print("   modelled end-to-end (query vector in, face items read), from the elapsed | the CPU-time slice times:")
    print(f"   {'faces':>12}{'slice rows':>12}{'slices':>8}{'p50 ms':>9}{'p95 ms':>9}{'| p50':>8}{'p95':>7}"
          f"{'cold +ms':>10}")
    rows_measured = per_slice * shard_rows
    final_sizes = np.array(finals)
    for faces, rows in [(f, slice_rows) for f in targets] + [(20 * MILLION, r) for r in other_rows]:
        scale = rows / rows_measured  # other slice sizes: the measured slice time scaled linearly
        wall = model(faces, rows, slice_arr * scale, merge_ms, final_sizes, bytes_per_face, params, rng)
        cpu = model(faces, rows, slice_cpu * scale, merge_ms, final_sizes, bytes_per_face, params, rng)
        note = "" if rows == slice_rows else "  (slice time scaled)"
        print(f"   {faces:12,}{rows:12,}{wall.slices:8}{wall.p50_ms:9.1f}{wall.p95_ms:9.1f}{cpu.p50_ms:8.1f}"
              f"{cpu.p95_ms:7.1f}{wall.cold_extra_ms:10.0f}{note}")


def _merge_ms(shortlists: list[q.Shortlist], count: int, rng: np.random.Generator) -> np.ndarray:
    """The caller's merge of `count` slice answers, drawn from the measured ones."""
    samples = []
    for _ in range(30):
        parts = [shortlists[i] for i in rng.integers(0, len(shortlists), count)]
        started = time.perf_counter()
        q.merge(parts, TIMED_K, TIMED_COSINE)
        samples.append((time.perf_counter() - started) * 1e3)
    return np.array(samples)


def _owned(slices: list[list[q.QuantizedShard]], workers: int) -> list[list[q.QuantizedShard]]:
    """Slices in the order WorkerPool.search returns their results."""
    return [slices[i] for w in range(workers) for i in range(w, len(slices), workers)]
