"""What `facesearch index` indexes: image files under a folder, or objects under an S3 prefix.

Each source has a stable identity (path, size and mtime; or bucket, key and ETag) for the resume state, its
ExternalImageId, and how to hand it to IndexFaces (the bytes, or an S3Object the service reads itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facesearch_cli.external_id import external_image_id

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
MAX_BYTES = 5 * 1024 * 1024  # Image.Bytes' limit; larger files are refused before they are sent


@dataclass(frozen=True)
class Source:
    name: str  # what the user sees: the path or s3:// URL
    identity: str  # changes when the content does
    external_image_id: str
    path: Path | None = None
    bucket: str | None = None
    key: str | None = None

    def image(self) -> dict[str, Any]:
        """IndexFaces' Image: the file's bytes, or the S3 object for the service to read."""
        if self.path is not None:
            data = self.path.read_bytes()
            if len(data) > MAX_BYTES:
                raise ValueError(f"{len(data)} bytes: Image.Bytes holds at most 5 MB (put it in S3)")
            return {"Bytes": data}
        return {"S3Object": {"Bucket": self.bucket, "Name": self.key}}


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def local_sources(root: Path) -> Iterator[Source]:
    """Image files under `root` (or `root` itself), in path order."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    base = root.parent if root.is_file() else root
    for path in files:
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        stat = path.stat()
        relative = path.relative_to(base).as_posix()
        yield Source(str(path), f"file:{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}",
                     external_image_id(relative), path=path)


def s3_sources(s3: Any, location: str) -> Iterator[Source]:
    """Image objects under s3://bucket/prefix, in key order."""
    bucket, _, prefix = location[len("s3://"):].partition("/")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            key = entry["Key"]
            if Path(key).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            relative = key[len(prefix):].lstrip("/") or Path(key).name  # the prefix itself names one object
            yield Source(f"s3://{bucket}/{key}", f"s3:{bucket}/{key}:{entry.get('ETag', '')}",
                         external_image_id(relative), bucket=bucket, key=key)
