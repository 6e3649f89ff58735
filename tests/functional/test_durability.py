"""No face lost, duplicated or half-written: concurrent writers, injected crashes, deletes vs searches."""

from __future__ import annotations

import datetime
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import ANNA, ANNA_SMILING, BEN, make_client, photo

PHOTOS = [ANNA, ANNA_SMILING, BEN]


@pytest.fixture
def people(rekognition):
    rekognition.create_collection(CollectionId="people")
    return rekognition


def services():
    from facesearch import services as warm

    return warm.services()


def stored(collection_id: str):
    return services().storage.collections.get(collection_id)


def objects(aws, environment) -> list[str]:
    listed = aws["s3"].list_objects_v2(Bucket=environment["BUCKET_NAME"])
    return [obj["Key"] for obj in listed.get("Contents", [])]


def all_face_ids(client) -> list[str]:
    pages = client.get_paginator("list_faces").paginate(CollectionId="people")
    return [face["FaceId"] for page in pages for face in page["Faces"]]


_copies = itertools.count()


def index(client, name: str) -> str:
    """Index one more copy of a photo: each under its own ExternalImageId, so none is a repeat of another."""
    response = client.index_faces(CollectionId="people", Image={"Bytes": photo(name)},
                                  ExternalImageId=f"copy-{next(_copies)}")
    return response["FaceRecords"][0]["Face"]["FaceId"]


def test_eight_concurrent_index_faces_keep_every_face_exactly_once(people):
    clients = [make_client() for _ in range(8)]  # one client per thread, as botocore advises
    with ThreadPoolExecutor(max_workers=8) as pool:
        indexed = list(pool.map(lambda i: index(clients[i], PHOTOS[i % 3]), range(8)))
    listed = all_face_ids(people)
    assert sorted(listed) == sorted(indexed)
    assert len(set(listed)) == 8
    assert people.describe_collection(CollectionId="people")["FaceCount"] == 8
    for face_id in indexed:  # each is searchable: the other photos of the same person find it
        found = people.search_faces(CollectionId="people", FaceId=face_id, MaxFaces=10, FaceMatchThreshold=0)
        assert len(found["FaceMatches"]) == 7
        assert face_id not in [match["Face"]["FaceId"] for match in found["FaceMatches"]]
    collection = stored("people")
    assert sum(ref.count for ref in collection.segments) == 8  # compaction kept every row once


def test_a_crash_between_the_segment_write_and_the_commit_leaves_nothing_visible(people, aws, environment,
                                                                                    monkeypatch):
    kept = index(people, ANNA)
    from facesearch.storage import FaceRepo

    def crash(self, *args, **kwargs):
        raise ConnectionError("the function died before DynamoDB answered")

    monkeypatch.setattr(FaceRepo, "add", crash)
    with pytest.raises(people.exceptions.InternalServerError):
        people.index_faces(CollectionId="people", Image={"Bytes": photo(BEN)})
    monkeypatch.undo()
    assert all_face_ids(people) == [kept]
    assert people.describe_collection(CollectionId="people")["FaceCount"] == 1
    ben = people.search_faces_by_image(CollectionId="people", Image={"Bytes": photo(BEN)})
    assert ben["FaceMatches"] == []
    assert len(objects(aws, environment)) == 2  # the committed segment and the orphan
    compactor = services().index.compactor
    collection = stored("people")
    assert compactor.sweep(collection) == 0  # too young: it may belong to a write in flight
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=16)
    assert compactor.sweep(collection, now=later) == 1
    assert objects(aws, environment) == [ref.key for ref in collection.segments]
    assert people.search_faces_by_image(CollectionId="people", Image={"Bytes": photo(ANNA_SMILING)})["FaceMatches"]


def test_a_crash_in_the_middle_of_compaction_loses_nothing(people, aws, environment, monkeypatch):
    from facesearch.index.shards import FAN_IN
    from facesearch.storage import CollectionRepo

    def crash(self, *args, **kwargs):
        raise ConnectionError("the function died before the segment swap")

    monkeypatch.setattr(CollectionRepo, "replace_segments", crash)
    indexed = [index(people, PHOTOS[i % 3]) for i in range(FAN_IN)]  # the last write triggers compaction
    collection = stored("people")
    assert [ref.level for ref in collection.segments] == [0] * FAN_IN  # the swap never happened
    assert len(objects(aws, environment)) == FAN_IN + 1  # ...and the merged shard is an orphan
    assert sorted(all_face_ids(people)) == sorted(indexed)
    assert people.describe_collection(CollectionId="people")["FaceCount"] == FAN_IN
    monkeypatch.undo()
    people.delete_faces(CollectionId="people", FaceIds=[indexed[0]])
    newest = index(people, BEN)  # the next write compacts for real, dropping the deleted face's row
    collection = stored("people")
    assert sorted(ref.level for ref in collection.segments) == [0, 1]
    assert sum(ref.count for ref in collection.segments) == FAN_IN
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=16)
    services().index.compactor.sweep(collection, now=later)
    assert sorted(objects(aws, environment)) == sorted(ref.key for ref in collection.segments)
    assert sorted(all_face_ids(people)) == sorted([*indexed[1:], newest])
    assert people.describe_collection(CollectionId="people")["FaceCount"] == FAN_IN


def test_no_deleted_face_is_returned_by_a_search_that_starts_after_delete_faces_returns(people):
    indexed = [index(people, PHOTOS[i % 2]) for i in range(6)]  # six faces of one person
    deleted_at: dict[str, float] = {}
    observations: list[tuple[float, set[str]]] = []
    stop = threading.Event()

    def searcher() -> None:
        client = make_client()
        while not stop.is_set():
            started = time.monotonic()
            response = client.search_faces_by_image(CollectionId="people", Image={"Bytes": photo(ANNA)},
                                                    MaxFaces=10, FaceMatchThreshold=0)
            observations.append((started, {match["Face"]["FaceId"] for match in response["FaceMatches"]}))

    threads = [threading.Thread(target=searcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    deleter = make_client()
    for face_id in indexed[:4]:
        deleter.delete_faces(CollectionId="people", FaceIds=[face_id])
        deleted_at[face_id] = time.monotonic()
        time.sleep(0.05)
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join()
    assert observations
    for started, seen in observations:
        for face_id, when in deleted_at.items():
            if started > when:
                assert face_id not in seen
    assert set(all_face_ids(people)) == set(indexed[4:])


def test_an_index_faces_that_compacts_reads_the_collection_item_once(people):
    from facesearch.index.shards import FAN_IN

    for i in range(FAN_IN - 1):
        index(people, PHOTOS[i % 3])
    meta_reads: list[str] = []

    from facesearch.storage.keys import collection_key

    meta = collection_key("people")

    def count(params, **_):
        if params["Key"]["pk"]["S"] == meta["pk"]:
            meta_reads.append(params["Key"]["pk"]["S"])

    client = services().storage.collections.table.client
    client.meta.events.register("provide-client-params.dynamodb.GetItem", count)
    try:
        index(people, BEN)  # fills level 0: this request compacts
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.GetItem", count)
    assert [ref.level for ref in stored("people").segments] == [1]  # it did compact
    assert meta_reads == [meta["pk"]]


def test_vectors_of_another_face_model_are_never_mixed_into_a_collection(people, monkeypatch):
    index(people, ANNA)
    monkeypatch.setattr(services().index, "model_version", "8.0")
    for call in (lambda: people.index_faces(CollectionId="people", Image={"Bytes": photo(BEN)}),
                 lambda: people.search_faces_by_image(CollectionId="people", Image={"Bytes": photo(ANNA)})):
        with pytest.raises(people.exceptions.InvalidParameterException, match=r"FaceModelVersion 7\.0"):
            call()
    monkeypatch.undo()
    assert len(all_face_ids(people)) == 1
