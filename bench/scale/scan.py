"""Sections 1-4 of bench.scale: bytes per face, how face-like the synthetic faces are, the warm scan on one
core against a plain read and numpy's float32 scan, and other int8 kernels on the same codes."""

from __future__ import annotations

import numpy as np

from bench.common.timing import alternate_medians
from bench.scale import data, kernels
from bench.scale.collection import MILLION, TIMED_COSINE, TIMED_K, Collection
from facesearch.index import quantized as q
from facesearch.vision.similarity import cosine_similarities, top_k


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


def section_likeness(identities: np.ndarray | None, embeddings: np.ndarray | None, model: data.FaceModel,
                     rng: np.random.Generator) -> None:
    print("\n2. cosine percentiles of different faces (p50 / p99 / p99.9 / max of 200k pairs)")
    synthetic = data.draw(model, rng, 400_000)
    pairs = np.einsum("ij,ij->i", synthetic[:200_000], synthetic[200_000:])
    rows = [("synthetic", pairs)]
    if identities is not None and embeddings is not None:
        rows.insert(0, ("LFW different people", data.impostor_cosines(identities, embeddings, rng)))
    for label, values in rows:
        p = np.percentile(values, [50, 99, 99.9])
        print(f"   {label:22} {p[0]:6.3f} {p[1]:6.3f} {p[2]:6.3f} {values.max():6.3f}")


def section_scan(collection: Collection, queries: np.ndarray, rounds: int) -> None:
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

    timed = alternate_medians({
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
        whole = alternate_medians({
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


def section_kernels(collection: Collection, queries: np.ndarray, rounds: int) -> None:
    first = collection.shards[: len(collection.fp32)]
    stored = np.concatenate([s.codes for s in first])  # excess-128 uint8, as shipped
    codes = (stored ^ np.uint8(0x80)).view(np.int8)  # the signed codes, for the kernels that want them
    scales = np.concatenate([s.scales for s in first])
    one = q.QuantizedShard(np.zeros((len(codes), q.ID_BYTES), np.uint8), stored, scales)
    query = queries[0]
    query_codes, _ = q.quantize_query(query)
    exact_dots = codes[:2000].astype(np.int32) @ query_codes.astype(np.int32)
    integer = kernels.matmul_integer(codes)
    assert np.array_equal(integer(query_codes)[:2000, 0], exact_dots)
    nbits = kernels.matmul_nbits(stored, scales)
    blocks = kernels.numpy_blocks(codes)
    q.approx_scores(one, query)  # computes the row offsets once, as a warm shard has them
    words = stored.view(np.uint64).reshape(-1)
    timed = alternate_medians({
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


