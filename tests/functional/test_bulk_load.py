"""The index seam's bulk load: many faces at once, without one IndexFaces each, then searchable and listed
like indexed ones."""

from __future__ import annotations

import uuid

import numpy as np

from facesearch.geometry import BoundingBox
from facesearch.storage import FaceRecord
from facesearch.vision import FACE_MODEL_VERSION
from tests.conftest import ANNA, photo


def synthetic(n: int, seed: int = 0) -> list[FaceRecord]:
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, 128)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return [FaceRecord(face_id=str(uuid.UUID(int=i + 1, version=4)), image_id=str(uuid.UUID(int=10**6 + i, version=4)),
                       bounding_box=BoundingBox(0.3, 0.4, 0.35, 0.3), confidence=99.0, model_version=FACE_MODEL_VERSION,
                       external_image_id=f"synthetic-{i}", embedding=row.tobytes())
            for i, row in enumerate(rows)]


def test_a_bulk_loaded_collection_counts_lists_and_searches_like_an_indexed_one(rekognition, monkeypatch):
    from facesearch import services
    from facesearch.index import shards

    monkeypatch.setattr(shards, "MAX_SHARD_ROWS", 1000)  # several shards from a small load
    rekognition.create_collection(CollectionId="big")
    warm = services.services()
    collection = warm.storage.collections.get("big")
    faces = synthetic(2500)
    progress: list[int] = []
    warm.index.bulk_load(collection, faces, progress=progress.append)
    assert progress[-1] == 2500
    loaded = warm.storage.collections.get("big")
    assert sorted(ref.count for ref in loaded.segments) == [500, 1000, 1000]
    assert rekognition.describe_collection(CollectionId="big")["FaceCount"] == 2500
    pages = rekognition.get_paginator("list_faces").paginate(CollectionId="big", PaginationConfig={"PageSize": 1000})
    assert len({face["FaceId"] for page in pages for face in page["Faces"]}) == 2500
    found = rekognition.search_faces(CollectionId="big", FaceId=faces[1234].face_id, MaxFaces=1, FaceMatchThreshold=0)
    assert len(found["FaceMatches"]) == 1  # random vectors: some stranger, by exact cosine
    exact = np.stack([face.vector for face in faces]) @ faces[1234].vector
    exact[1234] = -2
    assert found["FaceMatches"][0]["Face"]["FaceId"] == faces[int(np.argmax(exact))].face_id
    indexed = rekognition.index_faces(CollectionId="big", Image={"Bytes": photo(ANNA)})  # and it keeps growing
    assert len(indexed["FaceRecords"]) == 1
    assert rekognition.describe_collection(CollectionId="big")["FaceCount"] == 2501
