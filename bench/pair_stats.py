"""All-pairs cosine statistics: histograms of genuine and impostor cosines, rates, and the impostor-tail fit.

Counting every pair of 6,162 LFW faces (19 M) as fine histograms keeps the work to chunked matrix
products and `bincount`s: FMR(c) = impostor pairs with cosine >= c / all impostor pairs, TAR(c) the same
for genuine pairs, both read off reverse cumulative sums. Pure functions of arrays; no I/O.

Beyond what 19 M pairs resolve (FMR below ~1e-6) the rate is extrapolated from a least-squares fit of
log10 FMR against cosine over the measured tail, with an uncertainty from resampling *identities* (pairs
of one person are not independent), see `fit_tail` and `bootstrap_tail`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

BINS = 20_000  # cosine -1..1 in steps of 1e-4
TAIL_COSINE = 0.25  # impostor pairs above this are also kept one by one (for the bootstrap)


def cosine_bin(cosines: np.ndarray) -> np.ndarray:
    """Bin index (0..BINS-1) of each cosine: bin k holds [-1 + k/1e4, -1 + (k+1)/1e4)."""
    return np.clip(np.floor((cosines.astype(np.float64) + 1.0) * (BINS / 2)), 0, BINS - 1).astype(np.int64)


def bin_start(k: np.ndarray | int) -> np.ndarray:
    return np.asarray(k, dtype=np.float64) * (2 / BINS) - 1.0


@dataclass(frozen=True)
class PairCounts:
    """Histograms of pair cosines, optionally split into `groups` (a pair's group comes from its faces)."""

    genuine: np.ndarray  # (groups, BINS) int64
    impostor: np.ndarray  # (groups, BINS) int64
    tail_left: np.ndarray  # (t,) row of A of every impostor pair with cosine >= TAIL_COSINE
    tail_right: np.ndarray  # (t,) row of B
    tail_cosine: np.ndarray  # (t,) float32

    def merged(self) -> PairCounts:
        return PairCounts(self.genuine.sum(0, keepdims=True), self.impostor.sum(0, keepdims=True),
                          self.tail_left, self.tail_right, self.tail_cosine)


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def count_pairs(
    a: np.ndarray,
    a_identity: np.ndarray,
    a_photo: np.ndarray,
    b: np.ndarray | None = None,
    b_identity: np.ndarray | None = None,
    b_photo: np.ndarray | None = None,
    excluded: tuple[tuple[int, int], ...] = (),
    a_group: np.ndarray | None = None,
    b_group: np.ndarray | None = None,
    groups: int = 1,
    chunk: int = 512,
) -> PairCounts:
    """Every pair between rows of `a` and rows of `b` (or, without `b`, every unordered pair within `a`).

    Genuine = same identity, impostor = different identity; pairs of the same photo never count (a
    degraded photo against its own original is not a comparison of two photos). `excluded` holds
    (photo, identity) label errors: those pairs are dropped. A pair's group is max(a_group, b_group),
    so with groups ranked worst-last a pair counts in the group of its worse face.
    """
    within = b is None
    b = a if b is None else b
    b_identity = a_identity if b_identity is None else b_identity
    b_photo = a_photo if b_photo is None else b_photo
    a_group = np.zeros(len(a), np.int64) if a_group is None else a_group
    b_group = (a_group if within else np.zeros(len(b), np.int64)) if b_group is None else b_group
    genuine = np.zeros(groups * BINS, np.int64)
    impostor = np.zeros(groups * BINS, np.int64)
    tails: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for rows in _chunks(len(a), chunk):
        cosines = a[rows] @ b.T
        keep = a_photo[rows, None] != b_photo[None, :]
        if within:
            keep &= np.arange(rows.start, rows.stop)[:, None] < np.arange(len(b))[None, :]
        for photo, identity in excluded:
            keep &= ~((a_photo[rows, None] == photo) & (b_identity[None, :] == identity))
            keep &= ~((a_identity[rows, None] == identity) & (b_photo[None, :] == photo))
        same = a_identity[rows, None] == b_identity[None, :]
        index = np.maximum(a_group[rows, None], b_group[None, :]) * BINS + cosine_bin(cosines)
        genuine += np.bincount(index[keep & same], minlength=groups * BINS)
        impostor += np.bincount(index[keep & ~same], minlength=groups * BINS)
        left, right = np.nonzero(keep & ~same & (cosines >= TAIL_COSINE))
        tails.append((left + rows.start, right, cosines[left, right]))
    if not tails:  # no rows in `a`
        tails.append((np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)))
    tail_left, tail_right, tail_cosine = (np.concatenate(parts) for parts in zip(*tails, strict=True))
    return PairCounts(genuine.reshape(groups, BINS), impostor.reshape(groups, BINS),
                      tail_left, tail_right, tail_cosine.astype(np.float32))


def at_least(histogram: np.ndarray) -> np.ndarray:
    """(BINS,) pairs with cosine >= bin_start(k), for each k."""
    return np.cumsum(histogram[::-1])[::-1]


def rate_at(histogram: np.ndarray, cosine: float) -> tuple[float, int]:
    """(share, count) of the pairs with cosine >= `cosine` (to the 1e-4 bin the cosine falls in)."""
    total = int(histogram.sum())
    count = int(histogram[int(cosine_bin(np.array([cosine]))[0]):].sum())
    return (count / total if total else float("nan")), count


def cosine_at_rate(histogram: np.ndarray, rate: float) -> float:
    """Lowest bin start whose >= share is <= `rate` (the threshold that keeps FMR within `rate`)."""
    shares = at_least(histogram) / histogram.sum()
    return float(bin_start(int(np.argmax(shares <= rate))))


@dataclass(frozen=True)
class TailFit:
    """log10 FMR(c) = intercept + slope * c, fitted over cosines [low, high]."""

    intercept: float
    slope: float
    low: float
    high: float
    rms: float  # residual, in decades

    def log10_fmr(self, cosine: np.ndarray | float) -> np.ndarray:
        return self.intercept + self.slope * np.asarray(cosine, dtype=np.float64)

    def cosine(self, fmr: float) -> float:
        return float((np.log10(fmr) - self.intercept) / self.slope)


def fit_tail(impostor: np.ndarray, high_fmr: float, min_pairs: int, step: float = 0.0025) -> TailFit:
    """Fit log10 FMR linearly in cosine from where FMR = `high_fmr` to where `min_pairs` pairs remain.

    An exponential tail (straight in log FMR) is what the measured LFW tail looks like between 1e-3
    and 1e-6 (the bench prints the residual). Points are on a `step` grid, weighted by the square root
    of their pair count (Poisson: the log of a count n has a standard error of ~1/sqrt(n)).
    """
    count = at_least(impostor)
    total = impostor.sum()
    low = cosine_at_rate(impostor, high_fmr)
    last = int(np.nonzero(count >= min_pairs)[0][-1])
    high = float(bin_start(last))
    grid = np.arange(low, high + 1e-9, step)
    counts = count[cosine_bin(grid)].astype(np.float64)
    y = np.log10(counts / total)
    weights = np.sqrt(counts)
    slope, intercept = np.polyfit(grid, y, 1, w=weights)
    residual = y - (intercept + slope * grid)
    rms = float(np.sqrt(np.average(residual**2, weights=weights)))
    return TailFit(float(intercept), float(slope), low, high, rms)


def bootstrap_tail(
    counts: PairCounts,
    identity_a: np.ndarray,
    identity_b: np.ndarray,
    faces_per_identity: np.ndarray,
    fit: TailFit,
    targets: tuple[float, ...],
    rounds: int = 200,
    seed: int = 0,
    step: float = 0.0025,
) -> np.ndarray:
    """(rounds, len(targets)) cosines at the target FMRs, refitting on identity-resampled tails.

    Each round draws identities with replacement (weight w = times drawn); an impostor pair of
    identities a != b then counts w_a * w_b times, and the number of impostor pairs becomes
    (sum(w n)^2 - sum(w^2 n^2)) / 2 for n faces per identity. The fit uses `fit`'s range and grid.
    """
    rng = np.random.default_rng(seed)
    people = len(faces_per_identity)
    grid = np.arange(fit.low, fit.high + 1e-9, step)
    order = np.argsort(counts.tail_cosine)
    cosines = counts.tail_cosine[order].astype(np.float64)
    left, right = identity_a[counts.tail_left[order]], identity_b[counts.tail_right[order]]
    positions = np.searchsorted(cosines, grid)
    out = np.empty((rounds, len(targets)))
    n = faces_per_identity.astype(np.float64)
    for r in range(rounds):
        w = np.bincount(rng.integers(0, people, people), minlength=people).astype(np.float64)
        total = ((w * n).sum() ** 2 - (w**2 * n**2).sum()) / 2
        weights = w[left] * w[right]
        above = np.cumsum(weights[::-1])[::-1]
        above = np.append(above, 0.0)[positions]
        ok = above > 0
        y = np.log10(above[ok] / total)
        slope, intercept = np.polyfit(grid[ok], y, 1, w=np.sqrt(above[ok]))
        out[r] = [(np.log10(t) - intercept) / slope for t in targets]
    return out
