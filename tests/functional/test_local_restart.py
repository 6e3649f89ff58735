"""`make serve` forgets nothing it acknowledged: kill -9 of every process it started, at random moments
under 16 concurrent writers, then `make serve` again on the same data directory (issue 19).

Over real HTTP against `python -m local.serve` subprocesses and their embedded moto backends. Each
round starts the server on the data directory the last round killed, checks that every acknowledged
collection, face, deletion, user and association is there (faces exactly once, FaceCount exact,
searchable), then lets 16 writers loose and kills everything after a random delay. A request in flight
at the kill may or may not have taken effect; the check allows exactly those and nothing else.

FACESEARCH_KILL_SEED=<n> replays a run's random choices (the seed is printed).
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import ANNA, ANNA_SMILING, BEN, photo, side_by_side
from tests.functional.serve_process import Served, serve

ROUNDS = 3  # kills; a last start then checks what the third kill left
# fold the logs into snapshots every ~0.3 s of write work: compactions run while the writers race, and the
# restarts load snapshots as well as logs
COMPACT = {"FACESEARCH_COMPACT_SECONDS": "0.3"}
INDEXERS, DELETERS, USER_MAKERS, COLLECTION_MAKERS = 10, 2, 2, 2  # 16 writers
COLLECTION = "people"
PHOTOS = {"anna": photo(ANNA), "ben": photo(BEN), "anna-smiling": photo(ANNA_SMILING),
          "anna+ben": side_by_side(ANNA, BEN)}


@dataclass
class Ledger:
    """What was acknowledged, and what was in flight when the processes died (may or may not have happened)."""

    collections: set[str] = field(default_factory=lambda: {COLLECTION})
    faces: dict[str, str] = field(default_factory=dict)  # FaceId -> the photo it came from
    deletable: list[str] = field(default_factory=list)  # faces the deleters may take (never associated)
    associable: list[str] = field(default_factory=list)  # faces the user makers may take (never deleted)
    deleted: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    associated: dict[str, str] = field(default_factory=dict)  # FaceId -> UserId
    maybe_indexed: dict[str, str] = field(default_factory=dict)  # ExternalImageId -> photo, not answered
    maybe_deleted: set[str] = field(default_factory=set)
    maybe_users: set[str] = field(default_factory=set)
    maybe_associated: dict[str, str] = field(default_factory=dict)
    maybe_collections: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Killed(Exception):
    pass


def call(ledger: Ledger, killed: threading.Event, what: str, request: Callable[[], Any],
         in_flight: Callable[[], None]) -> Any:
    """Make one request. Unanswered because the processes were killed: note it as in flight and stop the writer."""
    try:
        answer = request()
    except (ClientError, BotoCoreError) as error:
        if killed.is_set():
            with ledger.lock:
                in_flight()
            raise Killed from error
        with ledger.lock:
            ledger.errors.append(f"{what}: {error}")
        raise
    with ledger.lock:
        ledger.calls[what.split()[0]] += 1
    return answer


def writer(role: str, number: int, round_: int, served: Served, ledger: Ledger, killed: threading.Event,
           rng: random.Random) -> None:
    client = served.client(read_timeout=60)
    step = 0
    while not killed.is_set():
        step += 1
        tag = f"r{round_}-{role}{number}-{step}"
        try:
            if role == "index":
                index_one(client, tag, number, ledger, killed)
            elif role == "delete":
                delete_one(client, ledger, killed, rng)
            elif role == "user":
                make_user(client, tag, ledger, killed, rng)
            else:
                make_collection(client, f"col-{tag}", ledger, killed)
        except Killed:
            return
        except (ClientError, BotoCoreError):
            return  # an error before the kill: in ledger.errors, fails the test


def index_one(client: Any, tag: str, number: int, ledger: Ledger, killed: threading.Event) -> None:
    name = list(PHOTOS)[(number + len(tag)) % len(PHOTOS)]
    answer = call(ledger, killed, f"IndexFaces {tag}",
                  lambda: client.index_faces(CollectionId=COLLECTION, Image={"Bytes": PHOTOS[name]},
                                             ExternalImageId=tag, MaxFaces=10),
                  lambda: ledger.maybe_indexed.__setitem__(tag, name))
    with ledger.lock:
        for record in answer["FaceRecords"]:
            face_id = record["Face"]["FaceId"]
            ledger.faces[face_id] = name
            (ledger.deletable if number % 2 else ledger.associable).append(face_id)


def make_collection(client: Any, name: str, ledger: Ledger, killed: threading.Event) -> None:
    call(ledger, killed, f"CreateCollection {name}", lambda: client.create_collection(CollectionId=name),
         lambda: ledger.maybe_collections.add(name))
    with ledger.lock:
        ledger.collections.add(name)
    time.sleep(0.2)


def delete_one(client: Any, ledger: Ledger, killed: threading.Event, rng: random.Random) -> None:
    with ledger.lock:
        face_id = ledger.deletable.pop(rng.randrange(len(ledger.deletable))) if ledger.deletable else None
    if face_id is None:
        time.sleep(0.1)
        return
    answer = call(ledger, killed, f"DeleteFaces {face_id}",
                  lambda: client.delete_faces(CollectionId=COLLECTION, FaceIds=[face_id]),
                  lambda: ledger.maybe_deleted.add(face_id))
    with ledger.lock:
        if answer["DeletedFaces"] != [face_id]:
            ledger.errors.append(f"DeleteFaces {face_id}: {answer}")
        ledger.deleted.add(face_id)


def make_user(client: Any, tag: str, ledger: Ledger, killed: threading.Event, rng: random.Random) -> None:
    user = f"user-{tag}"
    call(ledger, killed, f"CreateUser {user}", lambda: client.create_user(CollectionId=COLLECTION, UserId=user),
         lambda: ledger.maybe_users.add(user))
    with ledger.lock:
        ledger.users.add(user)
        face_id = ledger.associable.pop(rng.randrange(len(ledger.associable))) if ledger.associable else None
    if face_id is None:
        return
    answer = call(ledger, killed, f"AssociateFaces {user}",
                  lambda: client.associate_faces(CollectionId=COLLECTION, UserId=user, FaceIds=[face_id]),
                  lambda: ledger.maybe_associated.__setitem__(face_id, user))
    with ledger.lock:
        if [face["FaceId"] for face in answer["AssociatedFaces"]] != [face_id]:
            ledger.errors.append(f"AssociateFaces {user}: {answer}")
        ledger.associated[face_id] = user


def listed_faces(client: Any) -> list[dict[str, Any]]:
    pages = client.get_paginator("list_faces").paginate(CollectionId=COLLECTION, PaginationConfig={"PageSize": 200})
    return [face for page in pages for face in page["Faces"]]


def check_and_settle(served: Served, ledger: Ledger) -> dict[str, int]:
    """Everything acknowledged is back, exactly once; what was in flight either happened whole or not at all.

    Then the in-flight requests are settled as what they turned out to be, so the next round holds the
    server to them too.
    """
    client = served.client()
    faces = listed_faces(client)
    by_id = {face["FaceId"]: face for face in faces}
    assert len(by_id) == len(faces), "a face listed twice"
    assert client.describe_collection(CollectionId=COLLECTION)["FaceCount"] == len(faces)

    alive = set(ledger.faces) - ledger.deleted
    missing = alive - set(by_id) - ledger.maybe_deleted
    assert not missing, f"{len(missing)} acknowledged faces lost"
    assert not (ledger.deleted & set(by_id)), "an acknowledged delete undone"
    extra = {face_id for face_id in set(by_id) - alive if by_id[face_id].get("ExternalImageId") not in
             ledger.maybe_indexed}
    assert not extra, f"faces nobody indexed: {extra}"

    users = {user["UserId"] for page in client.get_paginator("list_users").paginate(CollectionId=COLLECTION)
             for user in page["Users"]}
    assert ledger.users <= users, f"acknowledged users lost: {ledger.users - users}"
    assert users <= ledger.users | ledger.maybe_users
    for face_id, user in ledger.associated.items():
        assert by_id[face_id].get("UserId") == user, f"association {face_id} -> {user} lost"
    collections = {name for page in client.get_paginator("list_collections").paginate()
                   for name in page["CollectionIds"]}
    assert ledger.collections <= collections, f"acknowledged collections lost: {ledger.collections - collections}"
    assert collections <= ledger.collections | ledger.maybe_collections

    anna = {face_id for face_id in by_id if ledger.faces.get(face_id) == "anna"}  # the same photo: ~100
    matches = client.search_faces_by_image(CollectionId=COLLECTION, Image={"Bytes": PHOTOS["anna"]},
                                           MaxFaces=4096, FaceMatchThreshold=95)["FaceMatches"]
    assert anna <= {match["Face"]["FaceId"] for match in matches}, "an acknowledged face is not searchable"

    in_flight = (len(ledger.maybe_indexed) + len(ledger.maybe_deleted) + len(ledger.maybe_users)
                 + len(ledger.maybe_associated) + len(ledger.maybe_collections))
    before = settled_count(ledger)
    for face_id, face in by_id.items():  # in-flight IndexFaces that took effect are acknowledged from now on
        if face_id not in ledger.faces:
            ledger.faces[face_id] = ledger.maybe_indexed[face["ExternalImageId"]]
    ledger.deleted |= ledger.maybe_deleted - set(by_id)
    ledger.deletable = [face_id for face_id in ledger.deletable if face_id in by_id]
    ledger.users |= ledger.maybe_users & users
    ledger.associated.update({face_id: user for face_id, user in ledger.maybe_associated.items()
                              if by_id.get(face_id, {}).get("UserId") == user})
    ledger.collections |= ledger.maybe_collections & collections
    ledger.maybe_indexed, ledger.maybe_deleted, ledger.maybe_users = {}, set(), set()
    ledger.maybe_associated, ledger.maybe_collections = {}, set()
    return {"faces": len(by_id), "users": len(users), "collections": len(collections), "in flight": in_flight,
            "of which took effect": settled_count(ledger) - before}


def settled_count(ledger: Ledger) -> int:
    return (len(ledger.faces) + len(ledger.deleted) + len(ledger.users) + len(ledger.associated)
            + len(ledger.collections))


def test_kill_9_of_everything_at_random_points_under_16_writers_loses_nothing_acknowledged(tmp_path):
    seed = int(os.environ.get("FACESEARCH_KILL_SEED") or time.time_ns() % 1_000_000)
    print(f"FACESEARCH_KILL_SEED={seed}")
    rng = random.Random(seed)
    ledger = Ledger()
    roles = (["index"] * INDEXERS + ["delete"] * DELETERS + ["user"] * USER_MAKERS
             + ["collection"] * COLLECTION_MAKERS)
    for round_ in range(ROUNDS + 1):
        with serve("--threads", "8", data_dir=tmp_path, env=COMPACT) as served:
            if round_ == 0:
                served.client().create_collection(CollectionId=COLLECTION)
            else:
                restored = [line.strip() for line in served.banner.splitlines() if "restored" in line]
                print(f"round {round_}: {restored}\n  checked", check_and_settle(served, ledger))
            if round_ == ROUNDS:
                break
            killed = threading.Event()
            threads = [threading.Thread(target=writer, args=(role, number, round_, served, ledger, killed,
                                                             random.Random(rng.random())))
                       for number, role in enumerate(roles)]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(1.5, 5.0))  # the random point
            killed.set()
            pids = served.kill_everything()
            for thread in threads:
                thread.join(timeout=90)
            assert not any(thread.is_alive() for thread in threads)
            assert ledger.errors == [], ledger.errors  # nothing failed before the kill
            print(f"round {round_}: killed {pids} after {dict(ledger.calls)} acknowledged calls")
    assert len(ledger.faces) > 20 and ledger.deleted and ledger.associated  # the race did happen


FACES = 10_000
DELETED = 1_000


def synthetic_faces(n: int) -> list[Any]:
    """n faces with random unit embeddings (they match no real face), as the index's bulk load takes them."""
    import uuid

    import numpy as np

    from facesearch.geometry import BoundingBox
    from facesearch.storage import FaceRecord
    from facesearch.vision import FACE_MODEL_VERSION

    rng = np.random.default_rng(19)
    vectors = rng.standard_normal((n, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    box = BoundingBox(width=0.3, height=0.4, left=0.35, top=0.3)
    return [FaceRecord(face_id=str(uuid.UUID(int=i + 1, version=4)), image_id=str(uuid.UUID(int=n + i + 1, version=4)),
                       bounding_box=box, confidence=99.9, model_version=FACE_MODEL_VERSION,
                       external_image_id=f"synthetic-{i:05d}", embedding=vectors[i].tobytes())
            for i in range(n)]


def test_a_restart_at_10k_faces_loads_the_state_not_its_history(tmp_path, monkeypatch):
    """10k faces loaded, 1k deleted; the first restart replays that history and compacts it, the next one loads
    only the snapshot: a dozen records for 9k faces instead of the hundreds of requests that made them."""
    from facesearch.services import build_services
    from facesearch.settings import Settings
    from local import backend as local_backend
    from local.durable import Compaction

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "moto")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "moto")
    with serve(data_dir=tmp_path) as served:
        client = served.client()
        client.create_collection(CollectionId="big")
        services = build_services(Settings(table_name="facesearch", bucket_name="facesearch-local",
                                           s3_endpoint=served.backend, dynamodb_endpoint=served.backend))
        faces = synthetic_faces(FACES)
        started = time.perf_counter()
        calls = services.index.bulk_load(services.storage.collections.get("big"), faces)
        loaded = time.perf_counter() - started
        gone = [face.face_id for face in faces[:DELETED]]
        assert client.delete_faces(CollectionId="big", FaceIds=gone)["DeletedFaces"] == gone
        served.kill_everything()
    print(f"\n{FACES:,} faces bulk-loaded in {loaded:.1f} s ({calls} BatchWriteItem calls), {DELETED:,} deleted")

    started = time.perf_counter()  # the history: every write since the last compaction, then a compaction
    replayed = local_backend.start(data_dir=tmp_path, timeout=600, compaction=Compaction(min_seconds=0, ratio=0))
    first = time.perf_counter() - started
    replayed.process.kill()
    replayed.process.wait()
    notes = "\n  ".join(replayed.notes)
    print(f"restart 1 (history) {first:.1f} s to listening:\n  {notes}")

    started = time.perf_counter()
    with serve(data_dir=tmp_path) as served:
        second = time.perf_counter() - started
        restored = {line.split(":", 1)[0].split()[-1]: line.strip() for line in served.banner.splitlines()
                    if line.strip().startswith("restored")}
        print(f"restart 2 (snapshot) {second:.1f} s to the banner (make serve's own start included):\n  "
              + "\n  ".join(restored.values()))
        client = served.client()
        assert client.describe_collection(CollectionId="big")["FaceCount"] == FACES - DELETED
        probe = faces[-1].face_id
        matches = client.search_faces(CollectionId="big", FaceId=probe, FaceMatchThreshold=0, MaxFaces=5)
        assert len(matches["FaceMatches"]) == 5 and matches["SearchedFaceId"] == probe
    dynamodb = restored["dynamodb"]
    assert "log: 0 records" in dynamodb  # nothing of the history is replayed any more...
    found = re.search(r"dynamodb: ([\d,]+) items .*\.wal: ([\d,]+) records", dynamodb)
    assert found, dynamodb
    items, records = (int(number.replace(",", "")) for number in found.groups())
    assert items >= FACES - DELETED  # ...the snapshot holds the state: every face item (and the collection's)
    assert records <= items // 1000 + 5  # in records of 1,000 items, not the requests that wrote them
