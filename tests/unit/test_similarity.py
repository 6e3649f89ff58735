"""Cosine maths and the cosine -> Rekognition Similarity map."""

from __future__ import annotations

import numpy as np
import pytest

from facesearch.vision import similarity
from facesearch.vision.similarity import cosine_matrix, cosine_similarities, to_cosine, to_similarity, top_k


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def test_cosines_of_unit_vectors() -> None:
    rng = np.random.default_rng(0)
    matrix = unit(rng.normal(size=(20, 128)))
    query = matrix[3]
    scores = cosine_similarities(query, matrix)
    assert scores.shape == (20,)
    assert scores[3] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(scores, [float(np.dot(query, row)) for row in matrix], atol=1e-6)
    np.testing.assert_allclose(
        cosine_matrix(matrix[:2], matrix)[1], cosine_similarities(matrix[1], matrix), atol=1e-6
    )
    assert cosine_similarities(query, np.empty((0, 128), np.float32)).shape == (0,)


def test_map_is_monotonic_and_bounded() -> None:
    cosines = np.linspace(-1, 1, 2001)
    sims = to_similarity(cosines)
    assert sims[0] == 0.0 and sims[-1] == 100.0
    assert (np.diff(sims) > 0).all()
    assert to_similarity(1.5) == 100.0 and to_similarity(-3) == 0.0


def test_map_hits_its_knots() -> None:
    for cosine, level in similarity.KNOTS:
        assert to_similarity(cosine) == pytest.approx(level)
        assert to_cosine(level) == pytest.approx(cosine)


def test_knots_increase_in_both_cosine_and_similarity() -> None:
    cosines, levels = zip(*similarity.KNOTS, strict=True)
    assert cosines[0] == -1.0 and cosines[-1] == 1.0 and levels[0] == 0.0 and levels[-1] == 100.0
    assert (np.diff(cosines) > 0).all() and (np.diff(levels) > 0).all()


def test_default_threshold_is_far_stricter_than_a_typical_stranger() -> None:
    """Similarity 80 sits well above different people: 1 in 1,000 LFW impostor pairs reaches cosine 0.365."""
    assert 0.45 < float(to_cosine(80)) < 0.6
    assert to_cosine(50) < to_cosine(70) < to_cosine(80) < to_cosine(90) < to_cosine(99) < 0.75


def test_same_photo_scores_at_least_99() -> None:
    """A re-encoded copy of a photo embeds to cosine > 0.95 (tests/unit/test_pipeline.py)."""
    assert to_similarity(0.95) >= 99.0
    assert to_similarity(1.0) == 100.0


def test_inverse_map_round_trips() -> None:
    for sim in (0.0, 10.0, 50.0, 75.0, 80.0, 95.0, 99.5, 100.0):
        assert to_similarity(to_cosine(sim)) == pytest.approx(sim)


def test_top_k_returns_the_best_first() -> None:
    scores = np.array([0.1, 0.9, 0.3, 0.95, 0.5])
    assert top_k(scores, 2).tolist() == [3, 1]
    assert top_k(scores, 10).tolist() == [3, 1, 4, 2, 0]
    assert top_k(scores, 0).tolist() == []
    assert top_k(np.array([]), 3).tolist() == []
