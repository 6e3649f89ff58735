"""Cosine similarity of unit embeddings and its map to Rekognition's 0-100 Similarity.

Rekognition's default FaceMatchThreshold is 80, so Similarity 80 must sit at the cosine where
different people almost never match. The map is piecewise linear through measured knots:

    cosine  -1 .. COS_LOW  -> 0 .. SIM_LOW     (different people live here)
    COS_LOW .. COS_80      -> SIM_LOW .. 80    (80 = the threshold at FAR 0.1 % on LFW)
    COS_80 .. COS_99       -> 80 .. 99         (typical same-person pairs)
    COS_99 .. 1            -> 99 .. 100        (near-identical photos)

Calibrated with `bench/accuracy.py --calibrate` on the shared LFW View 2 folds 1-5 (3,000 pairs), int8
pipeline (fp32 YuNet + int8 SFace, flip-augmented embeddings), measured cosines:
- FAR 0.1 % threshold 0.329 (fp32: 0.330); the highest different-person cosine 0.347 (fp32: 0.340).
  COS_80 = 0.34: at Similarity 80, 1 of the 1,500 different-person pairs (0.07 %) matches, and 98.7 %
  of the same-person pairs do (bench output "TAR@80"/"FAR@80").
- same-person median 0.680 (fp32: 0.681): COS_99 = 0.68, a typical genuine match reads 99; the same
  photo re-encoded gives ~0.99+ -> 100.
- 99th percentile of different-person cosines 0.289: COS_LOW = 0.29 -> Similarity 20, so almost every
  different-person pair stays under 20.
"""

from __future__ import annotations

import numpy as np

COS_LOW = 0.29
SIM_LOW = 20.0
COS_80 = 0.34
COS_99 = 0.68

_KNOTS_COS = np.array([-1.0, COS_LOW, COS_80, COS_99, 1.0])
_KNOTS_SIM = np.array([0.0, SIM_LOW, 80.0, 99.0, 100.0])


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
