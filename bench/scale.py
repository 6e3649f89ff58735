"""Scale: compact int8 shards against float32, 1M to 20M faces, one core per scan, and a fan-out model.

    .venv/bin/python -m bench.scale --faces 5000000
    .venv/bin/python -m bench.scale --faces 20000000 --queries 10 --no-kernels

Every number is printed next to a baseline measured in the same run (the machine is shared: timings
alternate the contenders round by round and report medians):
1. bytes per face in S3 and in a warm cache: today's float32 .npz segment vs a compact shard;
2. how face-like the synthetic faces are: their cosine percentiles vs real different-person LFW pairs;
3. warm scan on one core: a plain read of the same bytes (the bandwidth), numpy's float32 scan of 1M faces,
   the compact scan of 1M and of all N faces: ms, GB/s and the fraction of the bandwidth;
4. other int8 kernels on the same 1M codes (onnxruntime MatMulInteger / MatMulNBits, numpy blocks);
5. recall of the exact float32 top-MaxFaces above the threshold over all N faces, for cosine thresholds
   0.3-0.7 and MaxFaces 1-4096, with the over-fetch (face items read per search) it costs;
6. the error bound: the largest |int8 score - exact cosine| seen, as a fraction of the bound used;
7. fan-out: worker processes scan slices (as Lambda invocations would); per-slice and merge times are
   measured, and the end-to-end p50/p95 for 1M, 5M and 20M faces is modelled from them plus the
   parameters of bench/scale_fanout.CloudParams (invoke, S3, DynamoDB: assumptions, overridable).

The collection: N faces in shards of --shard-rows, drawn from a Gaussian fitted to the shipped pipeline's
LFW embeddings (bench/scale_lfw.py), with the real LFW faces spread over the shards; the queries are real
LFW photos whose person is in the collection. Without ../shared the faces are isotropic (said in the output).

What decides the shard size: S3 GET efficiency (AWS recommends 8-16 MB ranges; 100k compact faces = 14.8
MB), compaction's write amplification (each merge rewrites its inputs), the META item's segment map (one
entry per object in a 400 KB DynamoDB item) and the cache's eviction unit. What decides the slice size:
the memory of one invocation (152 bytes per face cached: 5M faces = 760 MB of a 1,769 MB function) and
the latency budget: a slice should scan in about the invoke overhead (1M faces in ~15-25 ms here), since
the slowest of S parallel invocations sets the latency and more slices mean more tail.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, fields

# Imported for its side effect, one BLAS thread (one core per scan, as one Lambda vCPU): the variables it sets
# are read when numpy loads, so it must come before numpy, and the split below keeps isort from moving it.
from bench import scale_threads  # noqa: F401

# isort: split
import numpy as np

from bench import scale_data, scale_fanout, scale_kernels, scale_lfw
from facesearch.index import quantized as q
from facesearch.index import shards as segments
from facesearch.vision.similarity import cosine_similarities, top_k

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
MAX_FACES = (1, 10, 100, 1000, 4096)
TIMED_K, TIMED_COSINE = 100, 0.5  # the scan timed in sections 3 and 7: MaxFaces 100 at about Similarity 80
MILLION = 1_000_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median_ms(samples: list[float]) -> float:
    return float(np.median(samples) * 1e3)


@dataclass(frozen=True)
class Timing:
    wall_ms: float  # median elapsed time
    cpu_ms: float  # median CPU time of this thread: what a dedicated core would take, less memory contention


def alternate(contenders: dict[str, Callable[[], object]], rounds: int) -> dict[str, Timing]:
    """Medians of each contender, run round-robin (order reversed every round) so all see the same load."""
    names = list(contenders)
    for name in names:
        contenders[name]()
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            started, started_cpu = time.perf_counter(), time.thread_time()
            contenders[name]()
            cpu[name].append(time.thread_time() - started_cpu)
            wall[name].append(time.perf_counter() - started)
    return {name: Timing(median_ms(wall[name]), median_ms(cpu[name])) for name in names}


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


def build(faces: int, shard_rows: int, model: scale_data.FaceModel, probes: scale_data.Probes,
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
        rows = np.concatenate([real, scale_data.draw(model, rng, rows_here - len(real))]).astype(np.float32)
        codes, scales = q.quantize_rows(rows)
        shard = q.QuantizedShard(scale_data.raw_ids(rng, rows_here), q.to_excess(codes), scales)
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


def section_sizes(collection: Collection) -> None:
    rows, ids = collection.fp32[0], collection.fp32_ids[0]
    compact = collection.shards[0]
    n = len(rows)
    fp32_bytes = np.asarray(rows, np.float32).nbytes + np.asarray(ids, dtype="<U36").nbytes  # rows + 36-char ids
    s3_fp32, s3_compact = fp32_bytes / n, len(q.to_bytes(compact)) / n
    mem_fp32, mem_compact = fp32_bytes / n, compact.nbytes / n
    print(f"\n1. bytes per face (one shard of {n} faces)")
    print(f"   {'':18}{'fp32 rows':>12}{'compact':>10}{'ratio':>8}")
    print(f"   {'S3 object':18}{s3_fp32:12.1f}{s3_compact:10.1f}{s3_fp32 / s3_compact:8.2f}")
    print(f"   {'warm cache':18}{mem_fp32:12.1f}{mem_compact:10.1f}{mem_fp32 / mem_compact:8.2f}")
    for label, faces in (("1M", MILLION), ("20M", 20 * MILLION)):
        print(f"   {label} faces cached: fp32 {mem_fp32 * faces / 1e9:.2f} GB, "
              f"compact {mem_compact * faces / 1e9:.2f} GB")


def section_likeness(identities: np.ndarray | None, embeddings: np.ndarray | None, model: scale_data.FaceModel,
                     rng: np.random.Generator) -> None:
    print("\n2. cosine percentiles of different faces (p50 / p99 / p99.9 / max of 200k pairs)")
    synthetic = scale_data.draw(model, rng, 400_000)
    pairs = np.einsum("ij,ij->i", synthetic[:200_000], synthetic[200_000:])
    rows = [("synthetic", pairs)]
    if identities is not None and embeddings is not None:
        rows.insert(0, ("LFW different people", scale_data.impostor_cosines(identities, embeddings, rng)))
    for label, values in rows:
        p = np.percentile(values, [50, 99, 99.9])
        print(f"   {label:22} {p[0]:6.3f} {p[1]:6.3f} {p[2]:6.3f} {values.max():6.3f}")


def section_scan(collection: Collection, queries: np.ndarray, rounds: int) -> dict[str, float]:
    first = collection.shards[: len(collection.fp32)]
    faces = sum(len(s) for s in first)
    query = queries[0]
    words = [s.codes.view(np.uint64).reshape(-1) for s in first]
    fp32_words = [rows.view(np.uint64).reshape(-1) for rows in collection.fp32]

    def fp32_scan() -> None:  # what search.scan does per object before its face-id bookkeeping
        for ids, rows in zip(collection.fp32_ids, collection.fp32, strict=True):
            scores = cosine_similarities(query, rows)
            hits = np.flatnonzero(scores >= TIMED_COSINE)
            [str(ids[i]) for i in hits[top_k(scores[hits], TIMED_K)]]

    def compact_scan() -> None:
        q.merge([q.candidates(s, query, TIMED_K, TIMED_COSINE) for s in first], TIMED_K, TIMED_COSINE)

    timed = alternate({
        "read codes": lambda: [np.add.reduce(w) for w in words],
        "read fp32": lambda: [np.add.reduce(w) for w in fp32_words],
        "fp32 scan": fp32_scan,
        "compact kernel": lambda: [q.approx_scores(s, query) for s in first],
        "compact scan": compact_scan,
    }, rounds)
    code_bytes = sum(s.codes.nbytes for s in first)  # what "read codes" reads; the scan also reads 8 B/face more
    fp32_bytes = sum(rows.nbytes for rows in collection.fp32)
    read = timed["read codes"]
    print(f"\n3. warm scan of {faces:,} faces on one core (MaxFaces {TIMED_K}, cosine >= {TIMED_COSINE}), "
          f"medians of {rounds} alternating rounds; wall time and this thread's CPU time")
    print(f"   {'':16}{'wall ms':>9}{'cpu ms':>8}{'GB/s':>7}{'of read bw':>11}{'(cpu)':>7}"
          f"{'x fp32 scan':>12}{'(cpu)':>7}")
    for name, nbytes in (("read codes", code_bytes), ("read fp32", fp32_bytes), ("fp32 scan", fp32_bytes),
                         ("compact kernel", code_bytes), ("compact scan", code_bytes)):
        t = timed[name]
        fraction = nbytes / t.wall_ms / (code_bytes / read.wall_ms)
        fraction_cpu = nbytes / t.cpu_ms / (code_bytes / read.cpu_ms)
        print(f"   {name:16}{t.wall_ms:9.1f}{t.cpu_ms:8.1f}{nbytes / t.wall_ms / 1e6:7.2f}{fraction:11.2f}"
              f"{fraction_cpu:7.2f}{timed['fp32 scan'].wall_ms / t.wall_ms:12.2f}"
              f"{timed['fp32 scan'].cpu_ms / t.cpu_ms:7.2f}")
    if len(collection.shards) > len(first):
        everything = collection.shards
        words_all = [s.codes.view(np.uint64).reshape(-1) for s in everything]
        whole = alternate({
            "read codes": lambda: [np.add.reduce(w) for w in words_all],
            "compact scan": lambda: q.merge([q.candidates(s, query, TIMED_K, TIMED_COSINE) for s in everything],
                                            TIMED_K, TIMED_COSINE),
        }, max(3, rounds // 3))
        n_all = sum(len(s) for s in everything)
        scan, plain = whole["compact scan"], whole["read codes"]
        print(f"   all {n_all:,} faces: compact scan {scan.wall_ms:.0f} ms wall / {scan.cpu_ms:.0f} ms cpu "
              f"({scan.wall_ms / n_all * MILLION:.1f} / {scan.cpu_ms / n_all * MILLION:.1f} ms per 1M); plain read "
              f"{plain.wall_ms:.0f} / {plain.cpu_ms:.0f} ms: {plain.wall_ms / scan.wall_ms:.2f} / "
              f"{plain.cpu_ms / scan.cpu_ms:.2f} of read bw")
    return timed


def section_kernels(collection: Collection, queries: np.ndarray, rounds: int) -> None:
    first = collection.shards[: len(collection.fp32)]
    stored = np.concatenate([s.codes for s in first])  # excess-128 uint8, as shipped
    codes = (stored ^ np.uint8(0x80)).view(np.int8)  # the signed codes, for the kernels that want them
    scales = np.concatenate([s.scales for s in first])
    one = q.QuantizedShard(np.zeros((len(codes), q.ID_BYTES), np.uint8), stored, scales)
    query = queries[0]
    query_codes, _ = q.quantize_query(query)
    exact_dots = codes[:2000].astype(np.int32) @ query_codes.astype(np.int32)
    integer = scale_kernels.matmul_integer(codes)
    assert np.array_equal(integer(query_codes)[:2000, 0], exact_dots)
    nbits = scale_kernels.matmul_nbits(stored, scales)
    blocks = scale_kernels.numpy_blocks(codes)
    q.approx_scores(one, query)  # computes the row offsets once, as a warm shard has them
    words = stored.view(np.uint64).reshape(-1)
    timed = alternate({
        "read codes": lambda: np.add.reduce(words),
        "simsimd (shipped)": lambda: q.approx_scores(one, query),
        "ort MatMulInteger": lambda: integer(query_codes),
        "ort MatMulNBits": lambda: nbits.run(query),
        "numpy blocks": lambda: blocks(query),
    }, rounds)
    approx, _ = q.approx_scores(one, query)
    print(f"\n4. int8 kernels on one {len(codes):,}-row array, one thread (score only, no selection)")
    print(f"   {'':20}{'wall ms':>9}{'cpu ms':>8}{'of read bw':>11}{'(cpu)':>7}   note")
    notes = {
        "read codes": "np.add.reduce over the same bytes",
        "simsimd (shipped)": "unsigned kernel, exact integer dots; includes offset and scale passes",
        "ort MatMulInteger": "codes as an OrtValue over numpy (no copy); int32 out",
        "ort MatMulNBits": f"needs a session per shard: built in {nbits.build_seconds * 1e3:.0f} ms (prepack copy); "
                           f"max |diff| vs simsimd {np.abs(nbits.run(query) - approx).max():.4f}",
        "numpy blocks": "4096-row float32 blocks + sgemv",
    }
    read = timed["read codes"]
    for name, t in timed.items():
        print(f"   {name:20}{t.wall_ms:9.1f}{t.cpu_ms:8.1f}{read.wall_ms / t.wall_ms:11.2f}"
              f"{read.cpu_ms / t.cpu_ms:7.2f}   {notes[name]}")


def section_recall(collection: Collection, queries: np.ndarray, shard_rows: int) -> None:
    faces = sum(len(s) for s in collection.shards)
    print(f"\n5. recall of the exact float32 top-MaxFaces at or above the threshold, {len(queries)} queries "
          f"over {faces:,} faces")
    print("   cells: recall % (answers in exactly the exact order / queries) [+ mean face items read beyond the")
    print("   exact answer's own: the over-fetch's cost in DynamoDB reads]")
    print(f"   {'cosine':>8}" + "".join(f"{'MaxFaces ' + str(k):>24}" for k in MAX_FACES))
    references = []
    for ref in collection.references:
        pairs = [(float(score), _face_id(collection, int(where), shard_rows))
                 for score, where in zip(ref.scores, ref.where, strict=True)]
        references.append(sorted(pairs, key=lambda pair: (-pair[0], pair[1])))
    total_hit = total_ref = 0
    misses: list[str] = []
    for t in THRESHOLDS:
        cells = []
        for k in MAX_FACES:
            hit = ref_count = same_order = 0
            reads = []
            for j, query in enumerate(queries):
                expected = [face_id for score, face_id in references[j] if score >= t][:k]
                shortlist = collection.merged[(j, k, t)]
                result = q.rescore(shortlist, collection.exact[j], query, k, t)
                got = [face_id for face_id, _ in result.matches]
                assert result.complete, "no face was deleted, so every answer must be complete"
                missing = set(expected) - set(got)
                if missing:
                    misses.append(_explain(missing, references[j], result, collection.exact[j], query, k, t))
                hit += len(set(got) & set(expected))
                ref_count += len(expected)
                same_order += got == expected
                reads.append(len(shortlist.face_ids) - len(expected))
            total_hit += hit
            total_ref += ref_count
            recall = 100.0 * hit / ref_count if ref_count else 100.0
            cells.append(f"{recall:7.2f} ({same_order}/{len(queries)}) [+{np.mean(reads):.0f}]")
        print(f"   {t:8.1f}" + "".join(f"{cell:>24}" for cell in cells))
    print(f"   overall: {total_hit}/{total_ref} exact answers found = {100.0 * total_hit / max(total_ref, 1):.3f} %")
    for line in misses:
        print("   missed: " + line)
    print("\n6. the error bound (every face, every query)")
    print(f"   bound used (delta): median {np.median(collection.deltas):.4f}, max {np.max(collection.deltas):.4f}; "
          f"worst |int8 - exact| seen = {collection.worst_error_ratio:.2f} x delta; faces past the bound: "
          f"{collection.bound_misses}")


def _explain(missing: set[str], reference: list[tuple[float, str]], result: q.Rescored,
             exact: dict[str, np.ndarray], query: np.ndarray, k: int, t: float) -> str:
    """Why an exact answer was not returned: its scores in the reference and in the re-scoring."""
    scores = {face_id: score for score, face_id in reference}
    parts = []
    for face_id in sorted(missing):
        rescored = float(np.asarray(exact[face_id], np.float32) @ query) if face_id in exact else None
        parts.append(f"{face_id} reference {scores[face_id]:.8f}, re-scored "
                     f"{'not shortlisted' if rescored is None else f'{rescored:.8f}'}")
    last = result.matches[-1][1] if result.matches else float("nan")
    return f"MaxFaces {k}, cosine >= {t}: " + "; ".join(parts) + f"; answer's last score {last:.8f}"


def _face_id(collection: Collection, where: int, shard_rows: int) -> str:
    shard = collection.shards[where // shard_rows]
    return shard.face_ids(np.array([where % shard_rows]))[0]


def section_fanout(collection: Collection, queries: np.ndarray, slice_rows: int, shard_rows: int, workers: int,
                   params: scale_fanout.CloudParams, rng: np.random.Generator) -> None:
    per_slice = max(1, slice_rows // shard_rows)
    slices = [collection.shards[i : i + per_slice] for i in range(0, len(collection.shards), per_slice)]
    pool = scale_fanout.WorkerPool(slices, workers)
    try:
        slice_ms, slice_cpu_ms, merge_ms_run, payloads, finals = [], [], [], [], []
        shortlists: list[q.Shortlist] = []
        for query in queries:
            results = pool.search(query, TIMED_K, TIMED_COSINE)
            full = [r for r, shards in zip(results, _owned(slices, workers), strict=True)
                    if sum(len(s) for s in shards) == per_slice * shard_rows]
            slice_ms += [r.seconds * 1e3 for r in (full or results)]
            slice_cpu_ms += [r.cpu_seconds * 1e3 for r in (full or results)]
            payloads += [scale_fanout.payload_bytes(r.shortlist) for r in results]
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
        wall = scale_fanout.model(faces, rows, slice_arr * scale, merge_ms, final_sizes, bytes_per_face, params, rng)
        cpu = scale_fanout.model(faces, rows, slice_cpu * scale, merge_ms, final_sizes, bytes_per_face, params, rng)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=MILLION, help="collection size, up to 20M")
    parser.add_argument("--shard-rows", type=int, default=segments.MAX_SHARD_ROWS)
    parser.add_argument("--slice-rows", type=int, default=MILLION, help="faces per fan-out invocation")
    parser.add_argument("--queries", type=int, default=30, help="LFW queries for recall and fan-out")
    parser.add_argument("--rounds", type=int, default=15, help="alternating timing rounds")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for the fan-out")
    parser.add_argument("--no-kernels", action="store_true", help="skip section 4")
    parser.add_argument("--seed", type=int, default=12)
    for f in fields(scale_fanout.CloudParams):
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    args = parser.parse_args()
    params = scale_fanout.CloudParams(**{f.name: getattr(args, f.name) for f in fields(scale_fanout.CloudParams)})
    rng = np.random.default_rng(args.seed)

    shared = scale_lfw.shared_dir()
    identities = embeddings = None
    if shared is None:
        print("NOTE: ../shared not found: isotropic synthetic faces and queries (recall is then optimistic)")
        model = scale_data.isotropic()
        queries = scale_data.draw(model, rng, args.queries)
        probes = scale_data.Probes(queries, np.empty((0, q.DIM), np.float32), np.zeros((args.queries, 0), bool))
    else:
        lfw = scale_lfw.lfw_embeddings(shared)
        identities, embeddings = lfw.identities, lfw.embeddings
        model = scale_data.fitted(embeddings)
        probes = scale_data.lfw_probes(identities, embeddings, args.queries, rng)
        print(f"LFW: {len(embeddings)} embeddings by the shipped pipeline ({lfw.missed} photos without a face); "
              f"{len(probes.queries)} queries, {len(probes.gallery)} real faces in the collection")
    print(f"collection: {args.faces:,} faces in shards of {args.shard_rows:,}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    collection = build(args.faces, args.shard_rows, model, probes, args.seed)
    section_sizes(collection)
    section_likeness(identities, embeddings, model, rng)
    section_scan(collection, probes.queries, args.rounds)
    if not args.no_kernels:
        section_kernels(collection, probes.queries, args.rounds)
    section_recall(collection, probes.queries, args.shard_rows)
    section_fanout(collection, probes.queries, args.slice_rows, args.shard_rows, args.workers, params, rng)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
