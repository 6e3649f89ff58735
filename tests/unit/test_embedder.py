"""SFace embeddings: unit vectors, the same for a face alone or in a group photo's batch, flip-augmented."""

from __future__ import annotations

import numpy as np
import pytest

from facesearch.vision import onnx as models
from facesearch.vision.embedder import EMBEDDING_SIZE, MAX_BATCH, Embedder
from tests.conftest import MODEL_DIR


@pytest.fixture(scope="module")
def session():  # type: ignore[no-untyped-def]
    return models.embedder_session(MODEL_DIR, 1)


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (2 * MAX_BATCH + 1, 112, 112, 3), dtype=np.uint8)


def test_each_face_gets_one_unit_vector(session, crops: np.ndarray) -> None:
    vectors = Embedder(session).embed(crops)
    assert vectors.shape == (len(crops), EMBEDDING_SIZE)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_a_face_embeds_the_same_alone_as_among_many(session, crops: np.ndarray) -> None:
    embedder = Embedder(session)
    together = embedder.embed(crops)
    alone = np.stack([embedder.embed(crop)[0] for crop in crops])
    assert np.array_equal(together, alone)


def test_flip_sums_the_face_and_its_mirror(session, crops: np.ndarray) -> None:
    plain = Embedder(session, flip=False)
    face, mirror = plain.embed(crops[:1])[0], plain.embed(crops[:1, :, ::-1])[0]
    expected = (face + mirror) / np.linalg.norm(face + mirror)
    assert np.allclose(Embedder(session).embed(crops[:1])[0], expected, atol=1e-5)


def test_no_crops_no_vectors(session) -> None:
    assert Embedder(session).embed(np.empty((0, 112, 112, 3), np.uint8)).shape == (0, EMBEDDING_SIZE)


def test_crops_of_another_size_are_refused(session) -> None:
    with pytest.raises(ValueError, match="112"):
        Embedder(session).embed(np.zeros((1, 100, 100, 3), np.uint8))
