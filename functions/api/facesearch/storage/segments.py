"""The collection's segment objects in the service's S3 bucket: immutable, one key for ever.

Keys live under `collections/<uid>/L<level>/<segment id>.q8`; this module only moves their bytes. What the
bytes mean (the shard encoding) is the index's concern, and which objects make up a collection is the META
item's SegmentRefs: an object no reference names is an orphan that the sweep removes.
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef


def collection_prefix(uid: str) -> str:
    return f"collections/{uid}/"


def new_segment_id() -> str:
    """Time-ordered and unique: later writes sort after earlier ones."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"


def segment_key(uid: str, segment_id: str, level: int) -> str:
    return f"{collection_prefix(uid)}L{level}/{segment_id}.q8"


class SegmentObjects:
    def __init__(self, s3: S3Client, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/octet-stream")

    def get(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def list(self, uid: str) -> list[tuple[str, datetime.datetime]]:
        """(key, last modified) of every object under the collection's prefix."""
        found: list[tuple[str, datetime.datetime]] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                     Prefix=collection_prefix(uid)):
            found.extend((obj["Key"], obj["LastModified"]) for obj in page.get("Contents", []))
        return found

    def delete(self, keys: Iterable[str]) -> int:
        keys = list(keys)
        for start in range(0, len(keys), 1000):
            chunk: list[ObjectIdentifierTypeDef] = [{"Key": key} for key in keys[start : start + 1000]]
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
        return len(keys)
