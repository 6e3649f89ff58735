"""Where a SearchFacesByImage's time goes: each part timed alone in the bench process, on the same photos.

The parts are the service's own seams: the vision pipeline, the index's scanner over the collection's
shards (warm, in memory), the storage repositories' reads against the backend, plus a full round trip and
moto's cost of one transaction action (which grows with the table: moto deep-copies it per action).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from bench.common import models
from bench.common.server import Rekognition
from bench.common.timing import ms, timed
from facesearch.index import quantized
from facesearch.index.scan import scan
from facesearch.services import Services
from facesearch.storage import Collection
from facesearch.vision.image_decoder import decode_image
from facesearch.vision.similarity import to_cosine

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, ConditionCheckTypeDef

MAX_FACES = 5  # what the probes ask for
REPEATS = 50  # calls per storage read timed
Row = list[object]


def _row(label: str, seconds: Sequence[float]) -> Row:
    return [label, len(seconds), ms(seconds, 50), ms(seconds, 95)]


def pipeline_rows(images: Sequence[bytes]) -> tuple[list[Row], list[np.ndarray]]:
    """JPEG decode and detect + align + embed (the int8 pipeline the service runs); the largest faces' vectors."""
    pipeline = models.pipeline()
    pipeline.analyze(decode_image(images[0]))  # sessions built, first-run cost paid
    decode_t, analyze_t, queries = [], [], []
    for raw in images:
        decoded, seconds = timed(decode_image, raw)
        decode_t.append(seconds)
        faces, seconds = timed(pipeline.analyze, decoded)
        analyze_t.append(seconds)
        if faces:
            queries.append(faces[0].vector)
    return [_row("JPEG decode (image_decoder.decode_image)", decode_t),
            _row("detect + align + embed, all faces (pipeline.analyze)", analyze_t)], queries


def scan_rows(services: Services, collection: Collection, queries: Sequence[np.ndarray]) -> list[Row]:
    """The index's scan of the collection's own compact shards, loaded once and then warm in memory."""
    cache = services.index.cache
    keys = [ref.key for ref in collection.segments]
    shards = [cache.get(key) for key in keys]
    rows_n = sum(len(shard) for shard in shards)
    rows: list[Row] = []
    for threshold in (0.0, 80.0):
        min_cosine = float(to_cosine(threshold))
        t = [timed(scan, cache, keys, q, MAX_FACES, min_cosine)[1] for q in queries]
        rows.append(_row(f"index.scan of {rows_n:,} rows in {len(keys)} compact shards (warm), k={MAX_FACES}, "
                         f"FaceMatchThreshold {threshold:.0f}", t))
    t = [timed(lambda q: [quantized.approx_scores(shard, q) for shard in shards], q)[1] for q in queries]
    rows.append(_row(f"  of which the int8 kernel over {rows_n:,} x 128 codes", t))
    return rows


def storage_rows(services: Services, client: Rekognition, collection: Collection) -> list[Row]:
    """The reads a search makes (META, then the candidates' face items), and a whole API round trip."""
    repo = services.storage
    meta_t = [timed(repo.collections.get, collection.collection_id)[1] for _ in range(REPEATS)]
    rows = [_row(f"collections.get: GetItem META from moto ({len(collection.segments)} SegmentRefs)", meta_t)]
    largest = max(collection.segments, key=lambda ref: ref.count, default=None)  # holds k faces if any does
    shard = services.index.cache.get(largest.key) if largest else None
    face_ids = shard.face_ids(np.arange(min(len(shard), MAX_FACES))) if shard is not None else []
    if face_ids:
        get_t = [timed(repo.faces.get_many, collection, face_ids)[1] for _ in range(REPEATS)]
        rows.append(_row(f"faces.get_many: BatchGetItem of {len(face_ids)} face items from moto "
                         f"(MaxFaces {MAX_FACES})", get_t))
    describe_t = [timed(client.describe_collection, CollectionId=collection.collection_id)[1]
                  for _ in range(REPEATS)]
    rows.append(_row("DescribeCollection round trip (HTTP+SigV4+handler+GetItem)", describe_t))
    return rows


def breakdown(services: Services | None, client: Rekognition, collection_id: str, images: Sequence[bytes],
              scan: bool) -> list[Row]:
    """Parts of a SearchFacesByImage, each timed here (p50 over the same probe photos); `scan` for the padded one."""
    rows, queries = pipeline_rows(images)
    if services is None:
        return rows  # no backend: only the pipeline can be timed here
    collection = services.storage.collections.get(collection_id)
    if scan and queries:
        rows += scan_rows(services, collection, queries)
    return rows + storage_rows(services, client, collection)


def _placeholder(attribute_type: str) -> AttributeValueTypeDef:
    return {"N": "0"} if attribute_type == "N" else {"B": b"bench"} if attribute_type == "B" else {"S": "bench"}


def transaction_cost(dynamodb: DynamoDBClient, table: str, repeats: int = 3) -> tuple[int, float]:
    """(items in the table, median seconds) of a one-action TransactWriteItems (a ConditionCheck).

    moto deep-copies the whole table once per action of a transaction (for its rollback), so this grows
    with the table; IndexFaces of one face is a two-action transaction (face Put + META update). The check
    names a key no item has (built from the table's key schema), so it passes and writes nothing.
    """
    description = dynamodb.describe_table(TableName=table)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])}
    names = [k["AttributeName"] for k in description.get("KeySchema", [])]
    check: ConditionCheckTypeDef = {"TableName": table, "Key": {name: _placeholder(types[name]) for name in names},
                                     "ConditionExpression": "attribute_not_exists(#k)",
                                     "ExpressionAttributeNames": {"#k": names[0]}}
    seconds = [timed(dynamodb.transact_write_items, TransactItems=[{"ConditionCheck": check}])[1]
               for _ in range(repeats)]
    items = int(dynamodb.describe_table(TableName=table)["Table"].get("ItemCount", 0))
    return items, float(np.median(seconds))
