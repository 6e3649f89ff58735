"""Fan-out for bench/scale.py: worker processes scan slices of compact shards as Lambda invocations would,
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
from dataclasses import dataclass
from multiprocessing.connection import Connection

import numpy as np

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
