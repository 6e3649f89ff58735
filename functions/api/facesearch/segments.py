"""Immutable embedding segments in S3: one object per write, merged into shards by compaction."""

from __future__ import annotations

from typing import Any


def collection_prefix(uid: str) -> str:
    return f"collections/{uid}/"


def delete_collection_objects(s3: Any, bucket: str, uid: str) -> int:
    """Delete every object of a collection (after its META item is gone); returns how many."""
    deleted = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=collection_prefix(uid)):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted
