"""Under `make serve`, concurrent writers get DynamoDB's per-request atomicity: no face lost, none doubled.

Over real HTTP against a `python -m local.serve` subprocess and its embedded moto, which is where
moto's thread-unsafety lost acknowledged faces (issue 10). Each writer is its own boto3 client with
retries off, so a 5xx is seen, not hidden by a retry.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import ANNA, ANNA_SMILING, BEN, photo, side_by_side
from tests.functional.serve_process import Served, serve

WRITERS = 16
ROUNDS = 4
DELETERS = 8  # from the second round on, racing the writers, one face per DeleteFaces
SETUP_SCRIPTS = 2  # callers of CreateCollection on the existing collection (ResourceAlreadyExists) all along
ROUND_TIMEOUT = 240  # seconds; a round that has not finished by then fails the test instead of hanging it


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve("--threads", "8") as running:
        yield running


@dataclass
class Ledger:
    """What the service acknowledged, and every error it answered, across all threads."""

    indexed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, call: Callable[[], None], what: str) -> None:
        try:
            call()
        except ClientError as error:
            meta = error.response.get("ResponseMetadata", {})
            with self.lock:
                self.errors.append(f"{what}: HTTP {meta.get('HTTPStatusCode')} {error.response['Error']}")
        except BotoCoreError as error:
            with self.lock:
                self.errors.append(f"{what}: {type(error).__name__} {error}")


def weigh_down_the_table(served: Served, items: int = 400) -> None:
    """Unrelated items in the service's table, as other collections would put there.

    moto's transactions take time in proportion to the table; that time is the window in which
    unserialised requests trample each other, so a table with some weight is the honest test.
    """
    import boto3

    dynamodb = boto3.client("dynamodb", endpoint_url=served.backend, region_name="us-east-1",
                            aws_access_key_id="moto", aws_secret_access_key="moto")
    for start in range(0, items, 25):
        batch = [{"PutRequest": {"Item": {"pk": {"S": "unrelated"}, "sk": {"S": f"{i:06d}"},
                                          "Blob": {"B": bytes(512)}}}}
                 for i in range(start, min(start + 25, items))]
        dynamodb.batch_write_item(RequestItems={"facesearch": batch})


def listed_faces(client, collection: str) -> list[str]:  # type: ignore[no-untyped-def]
    pages = client.get_paginator("list_faces").paginate(CollectionId=collection, PaginationConfig={"PageSize": 100})
    return [face["FaceId"] for page in pages for face in page["Faces"]]


def test_concurrent_index_and_delete_faces_keep_every_acknowledged_face_exactly_once(served):
    images = [photo(ANNA), photo(BEN), photo(ANNA_SMILING), side_by_side(ANNA, BEN)]  # 1, 1, 1 and 2 faces
    clients = [served.client() for _ in range(WRITERS + DELETERS + SETUP_SCRIPTS)]
    clients[0].create_collection(CollectionId="race")
    weigh_down_the_table(served)
    ledger = Ledger()
    previous_round: list[str] = []

    def index(writer: int, round_: int) -> None:
        answer = clients[writer].index_faces(CollectionId="race", Image={"Bytes": images[writer % len(images)]},
                                             ExternalImageId=f"round{round_}-writer{writer}", MaxFaces=10)
        with ledger.lock:
            ledger.indexed.extend(record["Face"]["FaceId"] for record in answer["FaceRecords"])

    def delete(deleter: int, face_ids: list[str]) -> None:
        for face_id in face_ids:  # one at a time: as many transactions as possible racing the writers'
            answer = clients[WRITERS + deleter].delete_faces(CollectionId="race", FaceIds=[face_id])
            assert answer["DeletedFaces"] == [face_id], answer  # it existed
            with ledger.lock:
                ledger.deleted.append(face_id)

    def create_again(script: int, stop: threading.Event) -> None:
        """A set-up script's idempotent CreateCollection: each is a transaction that is cancelled."""
        client = clients[WRITERS + DELETERS + script]
        while not stop.wait(0.02):
            with pytest.raises(client.exceptions.ResourceAlreadyExistsException):
                client.create_collection(CollectionId="race")

    with ThreadPoolExecutor(max_workers=WRITERS + DELETERS + SETUP_SCRIPTS) as pool:
        for round_ in range(ROUNDS):
            start = threading.Barrier(WRITERS + (DELETERS if previous_round else 0))
            before = len(ledger.indexed)

            def started(call: Callable[[], None], what: str, barrier: threading.Barrier = start) -> None:
                barrier.wait(timeout=60)
                ledger.record(call, what)

            jobs = [pool.submit(started, lambda w=w, r=round_: index(w, r), f"IndexFaces r{round_} w{w}")
                    for w in range(WRITERS)]
            if previous_round:  # half of the last round's faces go, in disjoint slices, while new ones come
                doomed = previous_round[::2]
                jobs += [pool.submit(started, lambda d=d, doomed=doomed: delete(d, doomed[d::DELETERS]),
                                     f"DeleteFaces r{round_} d{d}")
                         for d in range(DELETERS)]
            stop = threading.Event()
            scripts = [pool.submit(ledger.record, lambda i=i, stop=stop: create_again(i, stop),
                                   f"CreateCollection s{i}")
                       for i in range(SETUP_SCRIPTS)]
            done, pending = wait(jobs, timeout=ROUND_TIMEOUT)
            stop.set()
            assert not pending, f"round {round_} did not finish within {ROUND_TIMEOUT} s"
            done |= wait(scripts, timeout=60).done
            for job in done:
                job.result()  # an assertion inside a thread fails the test here
            previous_round = ledger.indexed[before:]

    assert ledger.errors == []  # not one 5xx (nor any other error) in the whole race
    expected_faces = WRITERS * ROUNDS * 5 // 4  # a quarter of the writers index the two-face photo
    assert len(ledger.indexed) == expected_faces
    assert len(set(ledger.indexed)) == len(ledger.indexed)  # no FaceId handed out twice
    listed = listed_faces(clients[0], "race")
    doubled = [face_id for face_id, times in Counter(listed).items() if times > 1]
    assert doubled == []
    assert set(listed) == set(ledger.indexed) - set(ledger.deleted)  # every acknowledged write, nothing else
    assert clients[0].describe_collection(CollectionId="race")["FaceCount"] == len(listed)
