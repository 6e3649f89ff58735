"""What the storage layer hands out: frozen records, never raw DynamoDB items."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from facesearch.geometry import BoundingBox

T = TypeVar("T")


@dataclass(frozen=True)
class SegmentRef:
    """An immutable S3 object of embeddings that belongs to a collection."""

    segment_id: str
    key: str
    count: int
    level: int


@dataclass(frozen=True)
class Collection:
    collection_id: str
    uid: str
    arn: str
    created_at: datetime.datetime
    face_model_version: str
    face_count: int
    user_count: int
    tags: Mapping[str, str] = field(default_factory=dict)
    segments: tuple[SegmentRef, ...] = ()


@dataclass(frozen=True)
class FaceRecord:
    """One indexed face. `embedding` is the float32 unit vector's bytes (empty when not read)."""

    face_id: str
    image_id: str
    bounding_box: BoundingBox
    confidence: float
    model_version: str
    external_image_id: str | None = None
    user_id: str | None = None
    embedding: bytes = b""
    segment_id: str | None = None
    indexed_at: float | None = None

    @property
    def vector(self) -> np.ndarray:
        return np.frombuffer(self.embedding, dtype=np.float32)


@dataclass(frozen=True)
class UserRecord:
    user_id: str
    face_ids: frozenset[str] = frozenset()
    client_request_token: str | None = None
    created_at: float | None = None

    @property
    def status(self) -> str:
        """Rekognition's UserStatus: every change here is synchronous, so never UPDATING or CREATING."""
        return "ACTIVE" if self.face_ids else "CREATED"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_key: str | None  # the last sort key returned, to resume after; None on the last page
