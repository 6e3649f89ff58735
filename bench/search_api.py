"""Face search through the API (boto3 against `make serve`): LFW rank-1, threshold 80, latency at 1k and 100k.

    .venv/bin/python bench/search_api.py                 # full run (~40 min on this 2-CPU box)
    .venv/bin/python bench/search_api.py --limit 50      # 50 people, a couple of minutes
    .venv/bin/python bench/search_api.py --endpoint http://127.0.0.1:8085 --access-key-id ... \\
        --secret-access-key ... --backend http://127.0.0.1:<moto port>   # against a running `make serve`

What it does, all through boto3's "rekognition" client, one request at a time (client wall time):
1. LFW gallery (~1k faces): the people of the shared LFW View 2 folds with >= 2 photos (801 people, 3,330
   more photos). The first photo of each person is indexed with IndexFaces (ExternalImageId=<Name>, default
   MaxFaces and QualityFilter); when it holds several faces, the one whose box centre is nearest the photo
   centre is kept (LFW labels the centre face) and the others are removed with DeleteFaces, as a user who
   knows whom each photo shows would do. Plain `MaxFaces=1` keeps the *largest* face instead: the report
   says how often that would have enrolled the wrong person.
2. Probes: every other photo of those people, SearchFacesByImage(MaxFaces=5, FaceMatchThreshold=0) on the
   photo as it is (the service searches with the largest face, as Rekognition does). rank-1 = the top
   match's ExternalImageId is the probe's person; "correct >= 80" = the top match is right with Similarity
   >= 80 (what a caller at Rekognition's default threshold sees), "wrong >= 80" = the top match is somebody
   else at >= 80. A probe whose searched face is not the centre one is also searched again on a crop
   around its centre face (found with DetectFaces): the second rank-1 line.
3. 100k: a second collection gets the first --pad-people (100) gallery photos through IndexFaces, then is
   padded to 100,000 faces with synthetic unit vectors (np.random.default_rng(0)) written straight into
   the backend (moto) in the segment layout that IndexFaces calls leave behind (tiered compaction:
   32,768-row level-5 shards, then 512, 8, 1 rows ...), with their face items (BatchWriteItem) and the
   META item's SegmentRefs/FaceCount. (10 x 10k rows on one level would not stay put: plan_merge merges 8
   objects of a level whenever they total <= 100k rows.) Then: a cold and a warm SearchFacesByImage,
   --index-at-pad (3) IndexFaces at 100k, and --latency-probes (200) probe photos of those people searched
   against the 1k and the 100k collection, interleaved, for comparable latency.
   Real faces go in before the padding because moto deep-copies the whole table once per action of every
   TransactWriteItems: under `make serve`, IndexFaces slows down with the number of items in the table
   (seconds per call at 100k), which is moto's cost, not the service's; the bench measures it separately.
4. Where the time of a search goes, measured in this process on the same inputs: JPEG decode +
   detect + align + embed (the int8 pipeline the service runs), the exact scan of 100k rows
   (facesearch.index.search.scan over in-memory segments), the DynamoDB reads against moto (GetItem META +
   BatchGetItem of the candidates), and a DescribeCollection round trip (HTTP + SigV4 + handler + GetItem).

Needs ../shared (or $FACESEARCH_SHARED); exits 0 with a message when it is missing. Never copies LFW.
Starts `python -m local.serve` itself on a free port (with its own keys and moto port) unless --endpoint
is given; the 100k padding needs the backend endpoint (--backend; automatic when the bench starts the
server). A benchmark: it prints numbers and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "functions" / "api"))

REGION = "us-east-1"
DEFAULT_TABLE = "facesearch"
DEFAULT_BUCKET = "facesearch-local"
EMBEDDING_DIM = 128
CENTRE_TOLERANCE = 0.10  # a face box centre further than this (fraction of the photo side) is "off-centre"


# --- data -----------------------------------------------------------------------------------------------


def shared_dir() -> Path | None:
    env = os.environ.get("FACESEARCH_SHARED")
    path = Path(env) if env else REPO.parent / "shared"
    return path if (path / "faces" / "lfw" / "people.txt").is_file() else None


@dataclass(frozen=True)
class Person:
    name: str
    photos: tuple[Path, ...]  # sorted; photos[0] is the gallery photo


def lfw_people(lfw: Path) -> list[Person]:
    """People of people.txt (fold order) with >= 2 photos on disk."""
    lines = [line.split() for line in (lfw / "people.txt").read_text().splitlines() if line.strip()]
    people = []
    for parts in lines:
        if len(parts) != 2:
            continue  # the number of folds, and each fold's people count
        name = parts[0]
        photos = tuple(sorted((lfw / "images" / name).glob(f"{name}_*.jpg")))
        if len(photos) >= 2:
            people.append(Person(name, photos))
    return people


# --- statistics and printing ----------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def ms(values: Sequence[float], q: float) -> str:
    return f"{1000 * pct(values, q):.1f}" if len(values) else "-"


def ratio(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100.0 * part / whole:.2f} %" if whole else f"{part}/0"


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(map(str, header))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def fmt(row: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                 for i, (cell, w) in enumerate(zip(row, widths, strict=True))) + " |"

    return "\n".join([title, line, fmt(cells[0]), line, *(fmt(row) for row in cells[1:]), line])


def latency_row(label: str, values: Sequence[float]) -> list[Any]:
    return [label, len(values), ms(values, 50), ms(values, 95), ms(values, 99) if len(values) >= 100 else "-",
            f"{1000 * max(values):.1f}" if values else "-"]


LATENCY_HEADER = ["call (client wall time, ms)", "n", "p50", "p95", "p99", "max"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the service ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Endpoint:
    url: str
    key_id: str
    secret: str
    backend: str | None  # the S3/DynamoDB endpoint behind it (moto), for padding
    table: str
    bucket: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # serve.py stops moto on KeyboardInterrupt
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(startup_timeout: float) -> Endpoint:
    port, moto_port = free_port(), free_port()
    key_id, secret = "FSKBENCH" + secrets.token_hex(6).upper(), secrets.token_urlsafe(30)
    env = dict(os.environ)
    for name in ("FACESEARCH_BACKEND", "FACESEARCH_AWS_ENDPOINT", "FACESEARCH_S3_ENDPOINT",
                 "FACESEARCH_DYNAMODB_ENDPOINT"):
        env.pop(name, None)  # the bench's server always gets its own embedded moto
    env.update(FACESEARCH_ACCESS_KEY_ID=key_id, FACESEARCH_SECRET_ACCESS_KEY=secret,
               FACESEARCH_MOTO_PORT=str(moto_port), PYTHONUNBUFFERED="1")
    log_file = Path(tempfile.mkstemp(prefix="facesearch-bench-serve-", suffix=".log")[1])
    with log_file.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "local.serve", "--port", str(port)], cwd=REPO,
                                   env=env, stdout=sink, stderr=subprocess.STDOUT)
    endpoint = Endpoint(f"http://127.0.0.1:{port}", key_id, secret, f"http://127.0.0.1:{moto_port}",
                        env.get("TABLE_NAME", DEFAULT_TABLE), env.get("BUCKET_NAME", DEFAULT_BUCKET),
                        process, log_file)
    client = rekognition(endpoint, timeout=5)
    deadline = time.monotonic() + startup_timeout
    while True:
        if process.poll() is not None:
            raise SystemExit(f"local.serve exited with {process.returncode}:\n{log_file.read_text()[-3000:]}")
        try:
            client.list_collections(MaxResults=1)
            return endpoint
        except Exception:
            if time.monotonic() > deadline:
                endpoint.stop()
                raise SystemExit(f"local.serve did not answer within {startup_timeout:.0f} s; see {log_file}")
            time.sleep(0.25)


def rekognition(endpoint: Endpoint, timeout: float = 600) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=timeout, connect_timeout=10)
    return boto3.client("rekognition", endpoint_url=endpoint.url, region_name=REGION,
                        aws_access_key_id=endpoint.key_id, aws_secret_access_key=endpoint.secret,
                        config=config)


def backend_client(endpoint: Endpoint, name: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(name, endpoint_url=endpoint.backend, region_name=REGION,
                        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "moto"),
                        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "moto"),
                        config=Config(max_pool_connections=16,
                                      retries={"max_attempts": 5, "mode": "standard"}))


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def box_centre_distance(box: dict[str, float]) -> float:
    cx, cy = box["Left"] + box["Width"] / 2, box["Top"] + box["Height"] / 2
    return float(np.hypot(cx - 0.5, cy - 0.5))


# --- gallery ---------------------------------------------------------------------------------------------


@dataclass
class GalleryStats:
    photos: int = 0
    indexed: int = 0  # people whose centre face is in the collection
    index_latency: list[float] = field(default_factory=list)
    multi_face: int = 0  # gallery photos with more than one face indexed
    largest_not_centre: int = 0  # ...where the largest face is not the centre one (MaxFaces=1 would be wrong)
    centre_filtered: int = 0  # the centre face was only in UnindexedFaces (QualityFilter AUTO)
    no_face: int = 0
    deleted: int = 0
    unindexed_reasons: dict[str, int] = field(default_factory=dict)


def index_centre_face(client: Any, collection_id: str, person: Person, stats: GalleryStats) -> str | None:
    """IndexFaces the person's first photo; keep its centre face, delete the others. Returns the FaceId."""
    image = person.photos[0].read_bytes()
    response, seconds = timed(client.index_faces, CollectionId=collection_id, Image={"Bytes": image},
                              ExternalImageId=person.name)
    stats.photos += 1
    stats.index_latency.append(seconds)
    records = response["FaceRecords"]
    for unindexed in response.get("UnindexedFaces", []):
        for reason in unindexed["Reasons"]:
            stats.unindexed_reasons[reason] = stats.unindexed_reasons.get(reason, 0) + 1
    if not records:
        if response.get("UnindexedFaces"):
            stats.centre_filtered += 1
        else:
            stats.no_face += 1
        return None
    distances = [box_centre_distance(r["Face"]["BoundingBox"]) for r in records]
    centre = int(np.argmin(distances))
    unindexed = [box_centre_distance(u["FaceDetail"]["BoundingBox"])
                 for u in response.get("UnindexedFaces", [])]
    if unindexed and min(unindexed) < distances[centre] and distances[centre] > CENTRE_TOLERANCE:
        stats.centre_filtered += 1  # the labelled face was filtered out; an off-centre face got indexed
    if len(records) > 1:
        stats.multi_face += 1
        if centre != 0:  # FaceRecords come largest first
            stats.largest_not_centre += 1
        others = [r["Face"]["FaceId"] for i, r in enumerate(records) if i != centre]
        client.delete_faces(CollectionId=collection_id, FaceIds=others)
        stats.deleted += len(others)
    stats.indexed += 1
    return str(records[centre]["Face"]["FaceId"])


def build_gallery(client: Any, collection_id: str, people: Sequence[Person], label: str) -> GalleryStats:
    stats = GalleryStats()
    started = time.monotonic()
    for i, person in enumerate(people, 1):
        index_centre_face(client, collection_id, person, stats)
        if i % 100 == 0 or i == len(people):
            log(f"{label}: indexed {i}/{len(people)} ({time.monotonic() - started:.0f} s, "
                f"p50 {ms(stats.index_latency, 50)} ms)")
    return stats


# --- probes ------------------------------------------------------------------------------------------------


@dataclass
class Probe:
    person: str
    path: Path


@dataclass
class ProbeResult:
    probe: Probe
    seconds: float
    top: str | None  # ExternalImageId of the best match
    top_similarity: float
    mate_similarity: float | None  # the person's gallery face among the returned matches
    searched_box: dict[str, float] | None
    error: str | None = None

    @property
    def off_centre(self) -> bool:
        return self.searched_box is not None and box_centre_distance(self.searched_box) > CENTRE_TOLERANCE

    @property
    def correct(self) -> bool:
        return self.top == self.probe.person


def search(client: Any, collection_id: str, probe: Probe, image: bytes, max_faces: int = 5,
           threshold: float = 0.0) -> ProbeResult:
    start = time.perf_counter()
    try:
        response = client.search_faces_by_image(CollectionId=collection_id, Image={"Bytes": image},
                                                MaxFaces=max_faces, FaceMatchThreshold=threshold)
    except client.exceptions.InvalidParameterException as error:
        return ProbeResult(probe, time.perf_counter() - start, None, 0.0, None, None, str(error))
    seconds = time.perf_counter() - start
    matches = response["FaceMatches"]
    top = matches[0]["Face"].get("ExternalImageId") if matches else None
    mate = [m["Similarity"] for m in matches if m["Face"].get("ExternalImageId") == probe.person]
    return ProbeResult(probe, seconds, top, matches[0]["Similarity"] if matches else 0.0,
                       max(mate) if mate else None, response.get("SearchedFaceBoundingBox"))


def centre_crop(client: Any, image: bytes) -> bytes | None:
    """The photo cut around its centre face (DetectFaces), so that face is the one searched."""
    from PIL import Image

    faces = client.detect_faces(Image={"Bytes": image})["FaceDetails"]
    if not faces:
        return None
    box = min((f["BoundingBox"] for f in faces), key=box_centre_distance)
    picture = Image.open(io.BytesIO(image)).convert("RGB")
    w, h = picture.size
    cx, cy = (box["Left"] + box["Width"] / 2) * w, (box["Top"] + box["Height"] / 2) * h
    half = 0.9 * max(box["Width"] * w, box["Height"] * h)  # the face plus a margin: no neighbour larger
    crop = picture.crop((int(max(0, cx - half)), int(max(0, cy - half)), int(min(w, cx + half)),
                         int(min(h, cy + half))))
    out = io.BytesIO()
    crop.save(out, format="JPEG", quality=95)
    return out.getvalue()


@dataclass
class ProbeStats:
    results: list[ProbeResult]
    recropped: dict[int, ProbeResult]  # index in results -> the search on the centre-face crop

    def summary(self, threshold: float = 80.0) -> dict[str, Any]:
        n = len(self.results)
        final = [self.recropped.get(i, r) for i, r in enumerate(self.results)]
        return {
            "probes": n,
            "no_face": sum(r.error is not None for r in self.results),
            "off_centre": sum(r.off_centre for r in self.results),
            "rank1": sum(r.correct for r in self.results),
            "rank1_centre": sum(r.correct for r in final),
            "mate_in_top5": sum(r.mate_similarity is not None for r in self.results),
            "correct_at": sum(r.correct and r.top_similarity >= threshold for r in self.results),
            "wrong_at": sum((not r.correct) and r.top is not None and r.top_similarity >= threshold
                            for r in self.results),
            "mate_at": sum(r.mate_similarity is not None and r.mate_similarity >= threshold
                           for r in self.results),
            "correct_at_centre": sum(r.correct and r.top_similarity >= threshold for r in final),
            "wrong_at_centre": sum((not r.correct) and r.top is not None and r.top_similarity >= threshold
                                   for r in final),
        }


def run_probes(client: Any, collection_id: str, probes: Sequence[Probe], label: str) -> ProbeStats:
    results: list[ProbeResult] = []
    started = time.monotonic()
    for i, probe in enumerate(probes, 1):
        results.append(search(client, collection_id, probe, probe.path.read_bytes()))
        if i % 500 == 0 or i == len(probes):
            log(f"{label}: searched {i}/{len(probes)} ({time.monotonic() - started:.0f} s, "
                f"p50 {ms([r.seconds for r in results], 50)} ms, rank-1 so far "
                f"{sum(r.correct for r in results) / len(results):.2%})")
    recropped: dict[int, ProbeResult] = {}
    for i, result in enumerate(results):
        if result.off_centre or result.error is not None:
            crop = centre_crop(client, result.probe.path.read_bytes())
            if crop is not None:
                recropped[i] = search(client, collection_id, result.probe, crop)
    return ProbeStats(results, recropped)


# --- padding ---------------------------------------------------------------------------------------------


def tier_sizes(n: int, fan_in: int = 8, max_rows: int = 100_000) -> list[tuple[int, int]]:
    """(level, rows) of the objects tiered compaction leaves for n faces indexed one at a time."""
    top = 0
    while fan_in ** (top + 1) <= max_rows:
        top += 1  # the highest level an object can reach: 8**5 = 32,768 rows (8**6 > 100k)
    objects = []
    remaining = n
    for level in range(top, -1, -1):
        size = fan_in**level
        count = remaining // size
        if level < top:
            count = min(count, fan_in - 1)
        objects.extend((level, size) for _ in range(count))
        remaining -= count * size
    return objects


@dataclass
class Padding:
    faces: int
    objects: list[tuple[int, int]]
    s3_seconds: float
    items_seconds: float
    meta_seconds: float
    batch_calls: int


def pad_collection(endpoint: Endpoint, collection_id: str, n: int, workers: int = 4) -> Padding:
    """Add n synthetic faces to the collection directly in the backend, as IndexFaces would have."""
    from facesearch.index import shards as segments
    from facesearch.settings import FACE_MODEL_VERSION
    from facesearch.storage.table import collection_key, from_item, to_item

    dynamodb, s3 = backend_client(endpoint, "dynamodb"), backend_client(endpoint, "s3")
    meta = from_item(dynamodb.get_item(TableName=endpoint.table, Key=collection_key(collection_id),
                                       ConsistentRead=True)["Item"])
    uid = meta["Uid"]
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, EMBEDDING_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    face_ids = [str(uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | i, version=4)) for i in range(n)]
    objects = tier_sizes(n)

    refs: dict[str, dict[str, Any]] = {}
    start, s3_start = 0, time.perf_counter()
    segment_of: list[str] = []
    for level, rows in objects:
        segment_id = segments.new_segment_id()
        key = segments.segment_key(uid, segment_id, level)
        data = segments.make_segment(face_ids[start : start + rows], vectors[start : start + rows])
        s3.put_object(Bucket=endpoint.bucket, Key=key, Body=segments.encode(data),
                      ContentType="application/octet-stream")
        refs[segment_id] = {"Key": key, "Count": rows, "Level": level}
        segment_of.extend([segment_id] * rows)
        start += rows
    s3_seconds = time.perf_counter() - s3_start

    now = Decimal(repr(round(time.time(), 6)))
    box = {"Width": Decimal("0.3"), "Height": Decimal("0.4"), "Left": Decimal("0.35"), "Top": Decimal("0.3")}

    def item(i: int) -> dict[str, Any]:
        return to_item({"pk": f"F#{uid}", "sk": face_ids[i], "ImageId": str(uuid.UUID(int=i + 1, version=4)),
                        "ExternalImageId": f"synthetic-{i:06d}", "BoundingBox": box,
                        "Confidence": Decimal("99.9"), "IndexFacesModelVersion": FACE_MODEL_VERSION,
                        "Embedding": vectors[i].tobytes(), "Segment": segment_of[i], "IndexedAt": now})

    def write(batch: range) -> int:
        pending: dict[str, Any] = {endpoint.table: [{"PutRequest": {"Item": item(i)}} for i in batch]}
        calls = 0
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            calls += 1
        return calls

    items_start = time.perf_counter()
    batches = [range(s, min(s + 25, n)) for s in range(0, n, 25)]
    calls = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, count in enumerate(pool.map(write, batches), 1):
            calls += count
            if done % 1000 == 0:
                log(f"padding: {done * 25}/{n} face items ({time.perf_counter() - items_start:.0f} s)")
    items_seconds = time.perf_counter() - items_start

    meta_start = time.perf_counter()
    names = {f"#s{i}": segment_id for i, segment_id in enumerate(refs)}
    values = {f":r{i}": ref for i, ref in enumerate(refs.values())}
    dynamodb.update_item(
        TableName=endpoint.table, Key=collection_key(collection_id),
        UpdateExpression="SET " + ", ".join(f"SegmentRefs.#s{i} = :r{i}" for i in range(len(refs)))
        + " ADD FaceCount :n",
        ConditionExpression="Uid = :uid", ExpressionAttributeNames=names,
        ExpressionAttributeValues=to_item({**values, ":n": n, ":uid": uid}),
    )
    return Padding(n, objects, s3_seconds, items_seconds, time.perf_counter() - meta_start, calls)


def transaction_cost(endpoint: Endpoint, collection_id: str, repeats: int = 3) -> tuple[int, float]:
    """(items in the table, median seconds) of a one-action TransactWriteItems (a ConditionCheck).

    moto deep-copies the whole table once per action of a transaction (for its rollback), so this grows
    with the table; IndexFaces of one face is a two-action transaction (face Put + META update).
    """
    from facesearch.storage.table import collection_key

    dynamodb = backend_client(endpoint, "dynamodb")
    action = {"ConditionCheck": {"TableName": endpoint.table, "Key": collection_key(collection_id),
                                 "ConditionExpression": "attribute_exists(pk)"}}
    seconds = [timed(dynamodb.transact_write_items, TransactItems=[action])[1] for _ in range(repeats)]
    items = int(dynamodb.describe_table(TableName=endpoint.table)["Table"].get("ItemCount", 0))
    return items, float(np.median(seconds))


# --- where the time goes -----------------------------------------------------------------------------------


def breakdown(endpoint: Endpoint, client: Any, collection_id: str | None, images: Sequence[bytes],
              pad: int) -> list[list[Any]]:
    """Parts of a SearchFacesByImage, each timed in this process (p50 over the same probe photos)."""
    from facesearch.index import search as search_module
    from facesearch.index import shards as segments
    from facesearch.storage.table import Table
    from facesearch.vision.imaging import decode_image
    from facesearch.vision.pipeline import get_pipeline
    from facesearch.vision.similarity import to_cosine

    rows: list[list[Any]] = []
    pipeline = get_pipeline("int8")
    pipeline.analyze(decode_image(images[0]))  # sessions built, first-run cost paid
    decode_t, analyze_t, queries = [], [], []
    for raw in images:
        decoded, seconds = timed(decode_image, raw)
        decode_t.append(seconds)
        faces, seconds = timed(pipeline.analyze, decoded)
        analyze_t.append(seconds)
        if faces:
            queries.append(faces[0].embedding)
    rows.append(["JPEG decode (imaging.decode_image)", len(decode_t), ms(decode_t, 50), ms(decode_t, 95)])
    rows.append(["detect + align + embed, all faces (pipeline.analyze)", len(analyze_t), ms(analyze_t, 50),
                 ms(analyze_t, 95)])

    if pad and queries:
        rng = np.random.default_rng(0)
        vectors = rng.standard_normal((pad, EMBEDDING_DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids = np.array([f"{i:08d}-0000-4000-8000-000000000000" for i in range(pad)], dtype="<U36")
        store: dict[str, segments.SegmentData] = {}
        start = 0
        for n, (_level, rows_n) in enumerate(tier_sizes(pad)):
            store[f"k{n}"] = segments.SegmentData(ids[start : start + rows_n],
                                                  vectors[start : start + rows_n])
            start += rows_n

        class Cached:
            def get(self, key: str) -> segments.SegmentData:
                return store[key]

        keys = list(store)
        for threshold, label in ((0.0, "FaceMatchThreshold 0"), (80.0, "FaceMatchThreshold 80")):
            min_cosine = float(to_cosine(threshold))
            t = [timed(search_module.scan, Cached(), keys, q, 13, min_cosine)[1] for q in queries]
            rows.append([f"exact scan of {pad:,} rows in {len(keys)} segments, k=13, {label}", len(t),
                         ms(t, 50), ms(t, 95)])
        t = [timed(np.dot, vectors, q)[1] for q in queries]
        rows.append([f"  of which the bare matrix-vector product ({pad:,} x 128 float32)", len(t), ms(t, 50),
                     ms(t, 95)])

    if endpoint.backend and collection_id:
        dynamodb = backend_client(endpoint, "dynamodb")
        dynamo_table = Table(dynamodb, endpoint.table)
        collection, seconds = timed(dynamo_table.get_collection, collection_id)
        meta_t = [timed(dynamo_table.get_collection, collection_id)[1] for _ in range(50)]
        rows.append([f"GetItem META from moto ({len(collection.segments)} SegmentRefs)", len(meta_t),
                     ms(meta_t, 50), ms(meta_t, 95)])
        face_ids: list[str] = []
        for ref in collection.segments[:1]:
            face_ids = [str(f) for f in segments.decode(
                backend_client(endpoint, "s3").get_object(Bucket=endpoint.bucket, Key=ref.key)["Body"].read()
            ).face_ids[:13]]
        if face_ids:
            get_t = [timed(dynamo_table.get_items, f"F#{collection.uid}", face_ids)[1] for _ in range(50)]
            rows.append(["BatchGetItem of 13 face items from moto (MaxFaces 5 + 8)", len(get_t),
                         ms(get_t, 50), ms(get_t, 95)])
        describe_t = [timed(client.describe_collection, CollectionId=collection_id)[1] for _ in range(50)]
        rows.append(["DescribeCollection round trip (HTTP+SigV4+handler+GetItem)", len(describe_t),
                     ms(describe_t, 50), ms(describe_t, 95)])
    return rows


def model_digests() -> dict[str, str]:
    """sha256 prefixes of the int8 model files the server will load (they may be rebuilt meanwhile)."""
    import hashlib

    from facesearch.vision import onnx as models

    try:
        files = models.model_files("int8")
    except models.ModelsNotFoundError as error:
        return {"error": str(error)}
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            for path in (files.detector, files.embedder)}


# --- main --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=0, help="only the first N people (0 = all 801)")
    parser.add_argument("--pad", type=int, default=100_000, help="faces in the padded collection (0 = skip)")
    parser.add_argument("--pad-people", type=int, default=100,
                        help="real gallery faces indexed into the padded collection (after the padding)")
    parser.add_argument("--index-at-pad", type=int, default=3,
                        help="IndexFaces calls timed after the padding (each costs ~minutes under moto)")
    parser.add_argument("--latency-probes", type=int, default=200,
                        help="probe photos searched against both collections, interleaved")
    parser.add_argument("--endpoint", help="a running `make serve` (else the bench starts one)")
    parser.add_argument("--access-key-id", default=os.environ.get("FACESEARCH_ACCESS_KEY_ID"))
    parser.add_argument("--secret-access-key", default=os.environ.get("FACESEARCH_SECRET_ACCESS_KEY"))
    parser.add_argument("--backend", help="its S3/DynamoDB endpoint (moto), needed for the padding")
    parser.add_argument("--keep", action="store_true", help="leave the collections (with --endpoint)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    command = " ".join(shlex.quote(part) for part in [Path(sys.executable).name, *sys.argv])
    report: dict[str, Any] = {"command": command}

    shared = shared_dir()
    if shared is None:
        print("SKIP: the shared face sets are missing (../shared/faces/lfw or $FACESEARCH_SHARED); "
              "nothing to benchmark.")
        return 0
    people = lfw_people(shared / "faces" / "lfw")
    if args.limit:
        people = people[: args.limit]
    probes = [Probe(p.name, photo) for p in people for photo in p.photos[1:]]
    wall_start = time.monotonic()
    load_start = os.getloadavg()
    report["models"] = model_digests()

    if args.endpoint:
        key_id = args.access_key_id
        secret = args.secret_access_key
        if not (key_id and secret):
            keys = json.loads((REPO / ".cache" / "dev-keys.json").read_text())
            key_id, secret = keys["AccessKeyId"], keys["SecretAccessKey"]
        endpoint = Endpoint(args.endpoint.rstrip("/"), key_id, secret, args.backend,
                            os.environ.get("TABLE_NAME", DEFAULT_TABLE),
                            os.environ.get("BUCKET_NAME", DEFAULT_BUCKET))
    else:
        log("starting local.serve")
        endpoint, seconds = timed(start_server, 120.0)
        log(f"local.serve answered after {seconds:.1f} s at {endpoint.url} (backend {endpoint.backend})")
    client = rekognition(endpoint)
    run_id = time.strftime("%Y%m%d%H%M%S")
    small_id, large_id = f"bench-lfw-{run_id}", f"bench-100k-{run_id}"
    created: list[str] = []
    try:
        # 1. the LFW gallery
        client.create_collection(CollectionId=small_id)
        created.append(small_id)
        gallery = build_gallery(client, small_id, people, "gallery")
        small_faces = client.describe_collection(CollectionId=small_id)["FaceCount"]

        # 2. probes: accuracy and latency at ~1k
        first_search = search(client, small_id, probes[0], probes[0].path.read_bytes())
        stats = run_probes(client, small_id, probes, "probes")
        summary = stats.summary()

        # 3. the padded collection
        latency_probes = [p for p in probes if p.person in {q.name for q in people[: args.pad_people]}]
        latency_probes = latency_probes[: args.latency_probes] or probes[: args.latency_probes]
        padding = None
        large: dict[str, Any] = {}
        transactions: list[tuple[str, int, int, float]] = []
        if endpoint.backend:
            transactions.append(("after the LFW gallery", 3, *transaction_cost(endpoint, small_id)))
        if args.pad and endpoint.backend is None:
            log("no --backend: skipping the padded collection")
        elif args.pad:
            pad_people = people[: args.pad_people]
            client.create_collection(CollectionId=large_id)
            created.append(large_id)
            # real faces first: once the table holds 100k items, every IndexFaces costs moto a deep copy of it
            large["gallery"] = build_gallery(client, large_id, pad_people,
                                             "real faces for the large collection")
            log(f"padding {large_id} with {args.pad - large['gallery'].indexed:,} synthetic faces")
            padding = pad_collection(endpoint, large_id, args.pad - large["gallery"].indexed)
            log(f"padding done: S3 {padding.s3_seconds:.1f} s, items {padding.items_seconds:.1f} s")
            large["faces"] = client.describe_collection(CollectionId=large_id)["FaceCount"]
            image = latency_probes[0].path.read_bytes()
            large["cold"] = search(client, large_id, latency_probes[0], image).seconds
            large["warm_first"] = [search(client, large_id, latency_probes[0], image).seconds
                                   for _ in range(3)]
            transactions.append((f"after padding to {large['faces']:,}", 1,
                                 *transaction_cost(endpoint, large_id, repeats=1)))
            late = people[args.pad_people : args.pad_people + args.index_at_pad]
            large["index_late"] = []
            for person in late:
                log(f"IndexFaces at {large['faces']:,} faces ({person.name})")
                large["index_late"].append(timed(client.index_faces, CollectionId=large_id, MaxFaces=1,
                                                 ExternalImageId=person.name,
                                                 Image={"Bytes": person.photos[0].read_bytes()})[1])
            large["faces"] = client.describe_collection(CollectionId=large_id)["FaceCount"]
            log("interleaved searches, 1k and 100k")
            both_small, both_large = [], []
            for probe in latency_probes:  # interleaved, so load changes hit both alike
                image = probe.path.read_bytes()
                both_small.append(search(client, small_id, probe, image))
                both_large.append(search(client, large_id, probe, image))
            large["small"], large["large"] = both_small, both_large
            default_large, default_small = [], []
            for probe in latency_probes:
                image = probe.path.read_bytes()
                default_small.append(timed(client.search_faces_by_image, CollectionId=small_id,
                                           Image={"Bytes": image})[1])
                default_large.append(timed(client.search_faces_by_image, CollectionId=large_id,
                                           Image={"Bytes": image})[1])
            large["default_small"], large["default_large"] = default_small, default_large

        # 4. where the time goes
        images = [p.path.read_bytes() for p in latency_probes]
        log("breakdown")
        parts = breakdown(endpoint, client, large_id if padding else small_id, images,
                          large["faces"] if padding else 0)
        for label, repeats, items, seconds in transactions:
            parts.append([f"moto TransactWriteItems, 1 action, {label} ({items:,} items in the table)",
                          repeats, f"{1000 * seconds:.1f}", ""])
    finally:
        if args.endpoint and not args.keep:
            for collection_id in created:
                try:
                    client.delete_collection(CollectionId=collection_id)
                except Exception as error:
                    log(f"could not delete {collection_id}: {error}")
        endpoint.stop()

    # --- report ---------------------------------------------------------------------------------------
    wall = time.monotonic() - wall_start
    s = summary
    out = []
    out.append(table(
        f"LFW through the API ({endpoint.url}): gallery = first photo of each person with >= 2 photos",
        ["", "value"],
        [
            ["people (gallery photos)", gallery.photos],
            ["gallery faces kept (centre face of the photo)", f"{gallery.indexed} (FaceCount {small_faces})"],
            ["gallery photos with > 1 face indexed", gallery.multi_face],
            ["  of which the largest face is not the centre one (MaxFaces=1 would enrol the wrong face)",
             gallery.largest_not_centre],
            ["gallery photos whose centre face QualityFilter AUTO dropped", gallery.centre_filtered],
            ["gallery photos with no face", gallery.no_face],
            ["probes (the other photos)", s["probes"]],
            ["probes with no face found", s["no_face"]],
            ["probes whose searched (largest) face is off-centre", s["off_centre"]],
            ["rank-1, photo as is (largest face)", ratio(s["rank1"], s["probes"])],
            ["rank-1, off-centre probes cropped to the centre face", ratio(s["rank1_centre"], s["probes"])],
            ["true mate among the top 5", ratio(s["mate_in_top5"], s["probes"])],
            ["true mate at Similarity >= 80", ratio(s["mate_at"], s["probes"])],
            ["top match correct and >= 80 (as is)", ratio(s["correct_at"], s["probes"])],
            ["top match WRONG and >= 80 (as is: false match)", ratio(s["wrong_at"], s["probes"])],
            ["top match correct and >= 80 (centre crop)", ratio(s["correct_at_centre"], s["probes"])],
            ["top match WRONG and >= 80 (centre crop)", ratio(s["wrong_at_centre"], s["probes"])],
        ],
    ))
    rows = [
        latency_row(f"IndexFaces, {small_faces:,}-face collection", gallery.index_latency),
        latency_row("  first 100 of them", gallery.index_latency[:100]),
        latency_row("  last 100 of them", gallery.index_latency[-100:]),
        latency_row("SearchFacesByImage (MaxFaces 5, threshold 0), all probes",
                    [r.seconds for r in stats.results]),
        ["  first search of the run", 1, f"{1000 * first_search.seconds:.1f}", "", "", ""],
    ]
    if padding:
        lg = large["gallery"]
        rows += [
            latency_row("IndexFaces, real faces of the large collection (before padding)", lg.index_latency),
            latency_row(f"IndexFaces at {large['faces']:,} faces (MaxFaces 1)", large["index_late"]),
            [f"SearchFacesByImage {large['faces']:,} faces, COLD (shards from S3)", 1,
             f"{1000 * large['cold']:.1f}", "", "", ""],
            latency_row("  same photo again, warm", large["warm_first"]),
            latency_row(f"SearchFacesByImage, {small_faces:,} faces (interleaved, MaxFaces 5, thr 0)",
                        [r.seconds for r in large["small"]]),
            latency_row(f"SearchFacesByImage, {large['faces']:,} faces (interleaved, MaxFaces 5, thr 0)",
                        [r.seconds for r in large["large"]]),
            latency_row(f"SearchFacesByImage, {small_faces:,} faces (defaults: MaxFaces 80, thr 80)",
                        large["default_small"]),
            latency_row(f"SearchFacesByImage, {large['faces']:,} faces (defaults: MaxFaces 80, thr 80)",
                        large["default_large"]),
        ]
    out.append(table("Latency (one request at a time)", LATENCY_HEADER, rows))
    if padding:
        agree = sum(a.top == b.top for a, b in zip(large["small"], large["large"], strict=True))
        right = sum(r.correct for r in large["large"])
        objects: dict[int, list[int]] = {}
        for level, rows_n in padding.objects:
            objects.setdefault(level, []).append(rows_n)
        layout = ", ".join(f"L{level}: {len(v)} x {v[0]:,}"
                           for level, v in sorted(objects.items(), reverse=True))
        out.append(table(f"The {large['faces']:,}-face collection", ["", "value"], [
            ["synthetic faces (random unit vectors, rng 0)", f"{padding.faces:,}"],
            ["their segment objects (as tiered compaction leaves them)", layout],
            ["S3 PutObject of the segments", f"{padding.s3_seconds:.1f} s"],
            ["BatchWriteItem of the face items (4 threads, 25 a call)",
             f"{padding.items_seconds:.1f} s, {padding.batch_calls} calls"],
            ["UpdateItem META", f"{padding.meta_seconds * 1000:.0f} ms"],
            ["real faces indexed before the padding (API)", large["gallery"].indexed],
            ["real faces indexed after the padding (API, MaxFaces 1)", len(large["index_late"])],
            ["latency probes: rank-1 at 100k", ratio(right, len(large["large"]))],
            ["latency probes: same top match at 1k and 100k", ratio(agree, len(large["large"]))],
        ]))
    out.append(table("Where a SearchFacesByImage's time goes (measured in the bench process, same photos)",
                     ["part", "n", "p50 ms", "p95 ms"], parts))
    load_end = os.getloadavg()
    models_end = model_digests()
    if models_end != report["models"]:
        out.append(f"WARNING: the model files changed during the run (now {models_end}); the server kept the "
                   "ones it loaded first, the breakdown used the new ones")
    out.append(f"command: {command}\n"
               f"models (int8, at start): {', '.join(f'{k} {v}' for k, v in report['models'].items())}\n"
               f"wall time: {wall / 60:.1f} min; load average (1/5/15 min) at start "
               f"{'/'.join(f'{v:.1f}' for v in load_start)}, "
               f"at end {'/'.join(f'{v:.1f}' for v in load_end)}, "
               f"{os.cpu_count()} CPUs")
    print("\n\n".join(out), flush=True)

    if args.json:
        report.update(summary=summary, wall_seconds=wall, gallery={k: v for k, v in vars(gallery).items()
                                                                     if k != "index_latency"},
                      index_p50=pct(gallery.index_latency, 50),
                      search_p50=pct([r.seconds for r in stats.results], 50))
        if padding:
            report.update(search_p50_interleaved_small=pct([r.seconds for r in large["small"]], 50),
                          search_p50_interleaved_large=pct([r.seconds for r in large["large"]], 50),
                          search_cold_large=large["cold"], faces_large=large["faces"])
        report["probes"] = [
            {"person": r.probe.person, "photo": r.probe.path.name, "top": r.top,
             "top_similarity": round(r.top_similarity, 3), "mate_similarity": r.mate_similarity,
             "off_centre": r.off_centre, "error": r.error, "ms": round(1000 * r.seconds, 1),
             "centre_crop_top": stats.recropped[i].top if i in stats.recropped else None}
            for i, r in enumerate(stats.results)
        ]
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
