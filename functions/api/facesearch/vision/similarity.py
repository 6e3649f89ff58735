"""Cosine similarity of unit embeddings and its map to Rekognition's 0-100 Similarity.

Similarity is defined by the false-match rate (FMR) per comparison it lets through, because that is
how users judge Rekognition's: at its default threshold 80 it falsely matched 28 of 535 people
against 25,000 photos in the 2018 ACLU test, about 2e-6 per comparison. Here

    Similarity = 80 - 10 * log10(FMR / 2e-6)   (one decade of FMR per 10 points)

so 50 <-> 2e-3, 70 <-> 2e-5, 80 <-> 2e-6, 90 <-> 2e-7, 99 <-> 2.5e-8. The knots below are the cosines
where the shipped pipeline (fp32 YuNet + int8 SFace, flip-augmented) reaches those rates on all 18.9 M
impostor pairs of the shared LFW folds 1-5, label errors cleaned (`bench/calibration.py`, numbers in
bench/results/calibration.json and README's Similarity table):
- 30-70 are measured (at least 100 impostor pairs above each knot);
- 80-99 are extrapolated from a straight-line fit of log10 FMR against cosine over the measured tail
  (FMR 1e-4 down to 10 pairs, cosine 0.42-0.536, rms 0.025 decades; 90 % identity-bootstrap
  interval of the 80 knot: cosine 0.494-0.518). At 80 the measured rate agrees (1.7e-6, 33 pairs).
  Further out 19 M pairs hold too few impostors to check the line: at the 90 and 99 knots 5 and 2 pairs
  remain (2.6e-7 and 1.1e-7 measured against 2e-7 and 2.5e-8 fitted), so 99 is uncertain by a
  factor of a few; several of those last pairs are lookalikes that may be label errors.
Between knots the map is linear in cosine; below the 30 knot (FMR 0.2) it runs linearly to cosine -1.
The same photo re-encoded embeds at cosine > 0.95, far above the 99 knot, so it reads >= 99.
"""

from __future__ import annotations

import numpy as np

# (cosine, Similarity), both increasing; derived by bench/calibration.py (tests/unit/test_similarity_table.py
# checks they are the ones in bench/results/calibration.json).
KNOTS: tuple[tuple[float, float], ...] = (
    (-1.0, 0.0),
    (0.1672, 30.0),
    (0.2739, 40.0),
    (0.3464, 50.0),
    (0.4048, 60.0),
    (0.4556, 70.0),
    (0.5047, 80.0),
    (0.554, 90.0),
    (0.5787, 95.0),
    (0.5985, 99.0),
    (1.0, 100.0),
)

_KNOTS_COS = np.array([cosine for cosine, _ in KNOTS])
_KNOTS_SIM = np.array([level for _, level in KNOTS])


def cosine_similarities(query: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(n,) cosines between a unit (128,) query and unit (n, 128) rows."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or len(matrix) == 0:
        return np.empty(0, dtype=np.float32)
    return matrix @ np.asarray(query, dtype=np.float32).reshape(-1)


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(m, n) cosines between unit rows of a (m, 128) and b (n, 128)."""
    return np.asarray(a, dtype=np.float32) @ np.asarray(b, dtype=np.float32).T


def to_similarity(cosine: np.ndarray | float) -> np.ndarray:
    """Rekognition Similarity (0-100) for cosine(s); monotonic increasing."""
    return np.asarray(np.interp(np.clip(cosine, -1.0, 1.0), _KNOTS_COS, _KNOTS_SIM))


def to_cosine(similarity: np.ndarray | float) -> np.ndarray:
    """Inverse of to_similarity: the cosine threshold for a FaceMatchThreshold (0-100)."""
    return np.asarray(np.interp(np.clip(similarity, 0.0, 100.0), _KNOTS_SIM, _KNOTS_COS))


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores, best first (argpartition, then sort only those k)."""
    scores = np.asarray(scores)
    if k <= 0 or scores.size == 0:
        return np.empty(0, dtype=np.int64)
    if k < scores.size:
        candidates = np.argpartition(-scores, k - 1)[:k]
    else:
        candidates = np.arange(scores.size)
    return candidates[np.argsort(-scores[candidates], kind="stable")]
