"""Synthetic collections for bench/scale.py: faces drawn like real embeddings, with real LFW faces mixed in.

Random unit vectors in 128 dimensions are far easier than faces: their cosines to a query are about
N(0, 1/128), so almost nothing sits near a threshold of 0.3. Real embeddings are not isotropic (different
people still share a mean direction and correlated components), so synthetic faces here are drawn from a
Gaussian fitted to the LFW embeddings (mean + full covariance) and normalised; bench/scale.py prints their
cosine percentiles next to those of real different-person LFW pairs so the likeness can be judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIM = 128


@dataclass(frozen=True)
class FaceModel:
    """A Gaussian over embedding space: mean + factor @ z for standard normal z, then normalised."""

    mean: np.ndarray  # (DIM,)
    factor: np.ndarray  # (DIM, DIM) lower-triangular, factor @ factor.T = covariance


def fitted(embeddings: np.ndarray) -> FaceModel:
    rows = np.asarray(embeddings, dtype=np.float64)
    covariance = np.cov(rows, rowvar=False) + 1e-6 * np.eye(DIM)
    return FaceModel(rows.mean(axis=0), np.linalg.cholesky(covariance))


def isotropic() -> FaceModel:
    return FaceModel(np.zeros(DIM), np.eye(DIM))


def draw(model: FaceModel, rng: np.random.Generator, count: int) -> np.ndarray:
    """(count, DIM) float32 unit rows."""
    z = rng.standard_normal((count, DIM), dtype=np.float32)
    rows = z @ model.factor.T.astype(np.float32) + model.mean.astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def raw_ids(rng: np.random.Generator, count: int) -> np.ndarray:
    """(count, 16) uint8 random version-4 UUIDs, as a compact shard stores them."""
    ids = rng.integers(0, 256, (count, 16), dtype=np.uint8)
    ids[:, 6] = (ids[:, 6] & 0x0F) | 0x40
    ids[:, 8] = (ids[:, 8] & 0x3F) | 0x80
    return ids


@dataclass(frozen=True)
class Probes:
    """Real queries whose own person is in the gallery, and the gallery rows that are real LFW faces."""

    queries: np.ndarray  # (q, DIM)
    gallery: np.ndarray  # (g, DIM): every other LFW embedding
    same_person: np.ndarray  # (q, g) bool


def lfw_probes(identities: np.ndarray, embeddings: np.ndarray, count: int, rng: np.random.Generator) -> Probes:
    """`count` people with at least two photos: one photo each is a query, every other photo is gallery."""
    _, first, counts = np.unique(identities, return_index=True, return_counts=True)
    eligible = first[counts >= 2]
    chosen = np.sort(rng.choice(eligible, size=min(count, len(eligible)), replace=False))
    keep = np.ones(len(embeddings), dtype=bool)
    keep[chosen] = False
    gallery_ids = identities[keep]
    same = identities[chosen][:, None] == gallery_ids[None, :]
    return Probes(embeddings[chosen], embeddings[keep], same)


def impostor_cosines(identities: np.ndarray, embeddings: np.ndarray, rng: np.random.Generator,
                     pairs: int = 200_000) -> np.ndarray:
    """Cosines of random different-person LFW pairs: the distribution synthetic faces should resemble."""
    a = rng.integers(0, len(embeddings), pairs)
    b = rng.integers(0, len(embeddings), pairs)
    different = identities[a] != identities[b]
    return np.asarray(np.einsum("ij,ij->i", embeddings[a[different]], embeddings[b[different]]))
