"""The caller's own S3 objects that a request names (`Image.S3Object`, `Video.S3Object`): read-only, from
allowed buckets only.

Kept apart from the service's own bucket (segments.py): these are inputs, read with the deployment's
read-only grant on its input buckets, never written. Failures are storage facts (`ObjectUnavailable`,
`ObjectTooLarge`); the operations turn them into the error the request's member calls for. A video is never
downloaded whole: `open` gives a seekable file object that reads the byte ranges a decoder asks for.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


class ObjectUnavailable(Exception):
    """Missing, unreadable, or in a bucket this deployment may not read: one answer for all, so nothing leaks."""


class ObjectTooLarge(Exception):
    """Larger than the caller's limit (by its stated length or by what it streamed)."""


@dataclass(frozen=True)
class ObjectRef:
    bucket: str
    name: str
    version: str | None = None

    @classmethod
    def from_request(cls, s3_object: Mapping[str, Any]) -> ObjectRef:
        """A request's S3Object member; without a bucket or a name nothing can be read."""
        bucket, name = s3_object.get("Bucket"), s3_object.get("Name")
        if not bucket or not name:
            raise ObjectUnavailable("the S3Object names no bucket or key")
        return cls(str(bucket), str(name), s3_object.get("Version") or None)


class InputObjects:
    """Reads the objects requests name, through `s3`, from buckets `may_read` allows."""

    def __init__(self, s3: S3Client, may_read: Callable[[str], bool]) -> None:
        self.s3 = s3
        self.may_read = may_read

    def read(self, ref: ObjectRef, limit: int) -> bytes:
        """The whole object, never buffering more than `limit` bytes whatever its length header says."""
        if not self.may_read(ref.bucket):
            raise ObjectUnavailable(f"bucket {ref.bucket} is not an input bucket")
        try:
            if ref.version:
                response = self.s3.get_object(Bucket=ref.bucket, Key=ref.name, VersionId=ref.version)
            else:
                response = self.s3.get_object(Bucket=ref.bucket, Key=ref.name)
            body = response["Body"]
            try:
                length = response.get("ContentLength")
                if length is not None and length > limit:
                    raise ObjectTooLarge(f"{length} bytes")
                data: bytes = body.read(limit + 1)
            finally:
                body.close()
        except (ClientError, BotoCoreError) as error:
            raise ObjectUnavailable(str(error)) from error
        if len(data) > limit:
            raise ObjectTooLarge(f"more than {limit} bytes")
        return data

    def size(self, ref: ObjectRef) -> int:
        """The object's length (a HEAD request), if this deployment may read it."""
        return int(self._head(ref)["ContentLength"])

    def open(self, ref: ObjectRef, min_fetch: int = 256 << 10, max_fetch: int = 8 << 20) -> RangedReader:
        """A seekable, read-only file object over the object that fetches only the byte ranges read."""
        return RangedReader(self.s3, ref, self._head(ref), min_fetch=min_fetch, max_fetch=max_fetch)

    def _head(self, ref: ObjectRef) -> dict[str, Any]:
        if not self.may_read(ref.bucket):
            raise ObjectUnavailable(f"bucket {ref.bucket} is not an input bucket")
        try:
            if ref.version:
                return dict(self.s3.head_object(Bucket=ref.bucket, Key=ref.name, VersionId=ref.version))
            return dict(self.s3.head_object(Bucket=ref.bucket, Key=ref.name))
        except (ClientError, BotoCoreError) as error:
            raise ObjectUnavailable(str(error)) from error


class RangedReader(io.RawIOBase):
    """An S3 object as a seekable binary file made of ranged GETs, pinned to the ETag seen when it was opened
    (an object overwritten meanwhile fails the read instead of mixing two videos).

    A read at a new place fetches `min_fetch` bytes (box headers, a moov atom, a keyframe); each fetch that
    continues where the last one ended doubles, up to `max_fetch`, so a decoder streaming through a segment
    costs one GET per few MiB. The last `keep` windows stay cached, as demuxers hop between the header, the
    index and the data. `requests` and `bytes_read` count what was fetched.
    """

    def __init__(self, s3: S3Client, ref: ObjectRef, head: Mapping[str, Any], min_fetch: int = 256 << 10,
                 max_fetch: int = 8 << 20, keep: int = 3) -> None:
        super().__init__()
        self.s3, self.ref = s3, ref
        self.size = int(head["ContentLength"])
        self.etag = str(head.get("ETag") or "")
        self.min_fetch, self.max_fetch, self.keep = max(4096, min_fetch), max(min_fetch, max_fetch), keep
        self.position = 0
        self.requests = 0
        self.bytes_read = 0
        self._windows: OrderedDict[int, bytes] = OrderedDict()  # start -> bytes, most recently used last
        self._next_fetch = self.min_fetch
        self._last_end = -1

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError(f"seek to {base + offset}")
        self.position = base + offset
        return self.position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self.size - self.position)
        if want <= 0:
            return 0
        chunk = self._cached(self.position, want)
        if not chunk:
            self._fetch(self.position, want)
            chunk = self._cached(self.position, want)
        view[: len(chunk)] = chunk
        self.position += len(chunk)
        return len(chunk)

    def _cached(self, position: int, want: int) -> bytes:
        for start, data in self._windows.items():
            if start <= position < start + len(data):
                self._windows.move_to_end(start)
                return data[position - start : position - start + want]
        return b""

    def _fetch(self, position: int, want: int) -> None:
        sequential = position == self._last_end
        self._next_fetch = min(self._next_fetch * 2, self.max_fetch) if sequential else self.min_fetch
        last = min(self.size, position + max(want, self._next_fetch)) - 1
        kwargs: dict[str, Any] = {"Bucket": self.ref.bucket, "Key": self.ref.name, "Range": f"bytes={position}-{last}"}
        if self.ref.version:
            kwargs["VersionId"] = self.ref.version
        if self.etag:
            kwargs["IfMatch"] = self.etag
        try:
            body = self.s3.get_object(**kwargs)["Body"]
            try:
                data: bytes = body.read()
            finally:
                body.close()
        except (ClientError, BotoCoreError) as error:
            raise ObjectUnavailable(str(error)) from error
        if len(data) != last - position + 1:
            raise ObjectUnavailable(f"short read: {len(data)} of {last - position + 1} bytes at {position}")
        self.requests += 1
        self.bytes_read += len(data)
        self._windows[position] = data
        while len(self._windows) > self.keep:
            self._windows.popitem(last=False)
        self._last_end = position + len(data)
