"""Padding a collection to 100k faces through the embedding index's bulk load (no hand-written items).

IndexFaces of 100k photos would take hours under moto, so the padded faces are synthetic: random unit
vectors that match no real face, loaded the way the service's own `EmbeddingIndex.bulk_load` loads them
(full shards of up to 100k rows in S3, face items by BatchWriteItem, one META update).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from bench.common.progress import log
from facesearch.geometry import BoundingBox
from facesearch.index.shards import EMBEDDING_DIM
from facesearch.services import Services
from facesearch.storage import FaceRecord, SegmentRef
from facesearch.vision import FACE_MODEL_VERSION

SYNTHETIC_BOX = BoundingBox(width=0.3, height=0.4, left=0.35, top=0.3)


def unit_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    """n random float32 unit vectors of the embedding's dimension: nearly orthogonal to any real face."""
    vectors = rng.standard_normal((n, EMBEDDING_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def synthetic_faces(n: int, seed: int = 0) -> list[FaceRecord]:
    """n faces with random unit vectors (np.random.default_rng(seed)), ExternalImageId synthetic-<i>."""
    rng = np.random.default_rng(seed)
    vectors = unit_vectors(n, rng)
    high = rng.integers(0, 2**63, size=n)  # random ids, unique by their low bits
    return [
        FaceRecord(face_id=str(uuid.UUID(int=int(high[i]) << 64 | i, version=4)),
                   image_id=str(uuid.UUID(int=i + 1, version=4)), bounding_box=SYNTHETIC_BOX, confidence=99.9,
                   model_version=FACE_MODEL_VERSION,
                   external_image_id=f"synthetic-{i:06d}", embedding=vectors[i].tobytes())
        for i in range(n)
    ]


@dataclass(frozen=True)
class Padding:
    faces: int
    loaded: tuple[SegmentRef, ...]  # the shards the bulk load wrote
    segments: tuple[SegmentRef, ...]  # every segment of the collection afterwards (META)
    seconds: float  # the whole bulk load: shards to S3, face items, META
    batch_calls: int


def layout(refs: Iterable[SegmentRef]) -> str:
    """Objects per level, highest first: "L6: 1 x 99,900, L0: 3 x 1" (or "n objects, r rows" when sizes differ)."""
    by_level: dict[int, list[int]] = {}
    for ref in refs:
        by_level.setdefault(ref.level, []).append(ref.count)
    parts = []
    for level, counts in sorted(by_level.items(), reverse=True):
        same = len(set(counts)) == 1
        parts.append(f"L{level}: {len(counts)} x {counts[0]:,}" if same
                     else f"L{level}: {len(counts)} objects, {sum(counts):,} rows")
    return ", ".join(parts) or "none"


def pad_collection(services: Services, collection_id: str, n: int) -> Padding:
    """Add n synthetic faces to the collection with EmbeddingIndex.bulk_load."""
    collection = services.storage.collections.get(collection_id)
    faces = synthetic_faces(n)
    started = time.perf_counter()

    def progress(done: int) -> None:
        if done % 25_000 == 0 or done == n:
            log(f"padding: {done:,}/{n:,} face items ({time.perf_counter() - started:.0f} s)")

    calls = services.index.bulk_load(collection, faces, progress=progress)
    seconds = time.perf_counter() - started
    before = {ref.segment_id for ref in collection.segments}
    after = services.storage.collections.get(collection_id).segments
    return Padding(n, tuple(ref for ref in after if ref.segment_id not in before), after, seconds, calls)
