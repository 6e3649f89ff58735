"""Sections 5-6 of bench.scale: recall of the exact float32 answer through the compact scan and re-scoring,
with the over-fetch it costs, and the largest int8 error seen against the bound used."""

from __future__ import annotations

import numpy as np

from bench.scale.collection import MAX_FACES, THRESHOLDS, Collection, face_id_at
from facesearch.index import quantized as q


def section_recall(collection: Collection, queries: np.ndarray, shard_rows: int) -> None:
    faces = sum(len(s) for s in collection.shards)
    print(f"\n5. recall of the exact float32 top-MaxFaces at or above the threshold, {len(queries)} queries "
          f"over {faces:,} faces")
    print("   cells: recall % (answers in exactly the exact order / queries) [+ mean face items read beyond the")
    print("   exact answer's own: the over-fetch's cost in DynamoDB reads]")
    print(f"   {'cosine':>8}" + "".join(f"{'MaxFaces ' + str(k):>24}" for k in MAX_FACES))
    references = []
    for ref in collection.references:
        pairs = [(float(score), face_id_at(collection, int(where), shard_rows))
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


