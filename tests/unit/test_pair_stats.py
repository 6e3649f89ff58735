"""The all-pairs counting behind the Similarity calibration, against brute force on small random sets."""

from __future__ import annotations

import numpy as np
import pytest

from bench import pair_stats


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def faces() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    identity = rng.integers(0, 12, 60)
    centres = rng.normal(size=(12, 16))
    embedding = unit(centres[identity] + 0.8 * rng.normal(size=(60, 16)))
    return embedding, identity, np.arange(60)


def test_within_set_counts_every_unordered_pair_once(faces: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    embedding, identity, photo = faces
    counts = pair_stats.count_pairs(embedding, identity, photo, chunk=7)
    upper = np.triu_indices(len(embedding), 1)
    cosines = (embedding @ embedding.T)[upper]
    same = identity[upper[0]] == identity[upper[1]]
    assert counts.genuine.sum() == same.sum() and counts.impostor.sum() == (~same).sum()
    for threshold in (0.0, 0.3, 0.6):
        assert pair_stats.rate_at(counts.impostor[0], threshold)[1] == ((cosines >= threshold) & ~same).sum()
        assert pair_stats.rate_at(counts.genuine[0], threshold)[1] == ((cosines >= threshold) & same).sum()
    assert len(counts.tail_cosine) == ((cosines >= pair_stats.TAIL_COSINE) & ~same).sum()


def test_label_errors_and_same_photo_pairs_are_left_out(faces: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    embedding, identity, photo = faces
    other = int(identity[0] + 1) % 12
    clean = pair_stats.count_pairs(embedding, identity, photo)
    cleaned = pair_stats.count_pairs(embedding, identity, photo, excluded=((0, other),))
    assert clean.impostor.sum() - cleaned.impostor.sum() == (identity == other).sum()
    across = pair_stats.count_pairs(embedding[:10], identity[:10], photo[:10], embedding, identity, photo)
    assert across.genuine.sum() + across.impostor.sum() == 10 * 60 - 10  # a photo is never paired with itself


def test_pairs_count_in_the_group_of_their_worse_face(faces: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    embedding, identity, photo = faces
    group = (np.arange(60) >= 30).astype(np.int64)
    counts = pair_stats.count_pairs(embedding, identity, photo, a_group=group, groups=2)
    assert counts.genuine[0].sum() + counts.impostor[0].sum() == 30 * 29 // 2  # both faces in group 0
    assert counts.genuine[1].sum() + counts.impostor[1].sum() == 60 * 59 // 2 - 30 * 29 // 2
    whole = pair_stats.count_pairs(embedding, identity, photo)
    np.testing.assert_array_equal(counts.merged().impostor[0], whole.impostor[0])


def test_tail_fit_recovers_an_exponential_tail() -> None:
    """Impostor cosines with P(cos >= c) = 10 ** (2 - 10 c) for c >= 0.2: the fit finds slope -10."""
    rng = np.random.default_rng(0)
    cosines = 0.2 + rng.exponential(1 / (10 * np.log(10)), 2_000_000)
    histogram = np.bincount(pair_stats.cosine_bin(cosines), minlength=pair_stats.BINS)
    fit = pair_stats.fit_tail(histogram, high_fmr=1e-2, min_pairs=20)
    assert fit.slope == pytest.approx(-10, rel=0.03)
    assert fit.cosine(1e-5) == pytest.approx(0.2 + 5 / 10, abs=0.01)
    assert fit.low == pytest.approx(0.4, abs=0.002)


def test_cosine_at_rate_is_the_lowest_threshold_within_the_rate() -> None:
    histogram = np.zeros(pair_stats.BINS, np.int64)
    histogram[pair_stats.cosine_bin(np.array([0.1, 0.2, 0.3, 0.4]))] = 1
    assert pair_stats.cosine_at_rate(histogram, 0.5) == pytest.approx(0.2001, abs=1e-4)
    assert pair_stats.rate_at(histogram, 0.3)[0] == 0.5
