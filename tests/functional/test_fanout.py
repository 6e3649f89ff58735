"""A big collection's search split across invocations: many slices give the answer one scan gives, and a slice
that fails or never answers fails the search with Rekognition's InternalServerError, promptly."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import ANNA, ANNA_SMILING, BEN, photo

PHOTOS = (ANNA, ANNA_SMILING, BEN)


@pytest.fixture
def twelve_faces(rekognition):
    rekognition.create_collection(CollectionId="people")
    for copy in range(12):
        rekognition.index_faces(CollectionId="people", Image={"Bytes": photo(PHOTOS[copy % 3])},
                                ExternalImageId=f"copy-{copy}")
    return rekognition


def probe(client, **extra):
    return client.search_faces_by_image(CollectionId="people", Image={"Bytes": photo(ANNA_SMILING)},
                                        FaceMatchThreshold=0, MaxFaces=20, **extra)


@pytest.fixture
def embedding_index(twelve_faces):
    from facesearch import services

    return services.services().index


def matches(response) -> list[tuple[str, float]]:
    return [(m["Face"]["FaceId"], round(m["Similarity"], 4)) for m in response["FaceMatches"]]


def test_many_slices_merge_into_the_answer_of_one_scan(twelve_faces, embedding_index, monkeypatch):
    local = matches(probe(twelve_faces))
    seen: list[int] = []
    original = embedding_index.run_slice

    def counting(event):
        seen.append(len(event["keys"]))
        return original(event)

    from facesearch import services
    from facesearch.index.fanout import slices

    segments = services.services().storage.collections.get("people").segments
    monkeypatch.setattr(embedding_index, "run_slice", counting)
    for rows in (1, 3, 5):
        seen.clear()
        monkeypatch.setattr(embedding_index, "fanout_rows", rows)
        assert matches(probe(twelve_faces)) == local
        assert len(seen) == len(slices(segments, rows)) > 1
    assert len(local) == 12


def test_a_failing_slice_fails_the_search_with_an_internal_server_error(twelve_faces, embedding_index, monkeypatch):
    original = embedding_index.run_slice
    calls = iter(range(1000))

    def flaky(event):
        if next(calls) == 2:
            raise ConnectionError("the slice's function crashed")
        return original(event)

    monkeypatch.setattr(embedding_index, "run_slice", flaky)
    monkeypatch.setattr(embedding_index, "fanout_rows", 2)
    with pytest.raises(twelve_faces.exceptions.InternalServerError):
        probe(twelve_faces)


def test_a_slice_that_never_answers_fails_the_search_within_the_timeout(twelve_faces, monkeypatch):
    from facesearch import services

    monkeypatch.setenv("FACESEARCH_FANOUT_TIMEOUT", "1")
    monkeypatch.setenv("FACESEARCH_FANOUT_ROWS", "4")
    services.reset()
    embedding_index = services.services().index
    original, release = embedding_index.run_slice, threading.Event()

    def stuck(event):
        if len(event["keys"]) and event["keys"][0].endswith(embedding_index_keys[0]):
            release.wait(30)
        return original(event)

    embedding_index_keys = [ref.key for ref in services.services().storage.collections.get("people").segments]
    monkeypatch.setattr(embedding_index, "run_slice", stuck)
    started = time.monotonic()
    try:
        with pytest.raises(twelve_faces.exceptions.InternalServerError):
            probe(twelve_faces)
    finally:
        release.set()
    assert time.monotonic() - started < 10
