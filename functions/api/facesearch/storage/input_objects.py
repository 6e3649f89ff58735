"""The caller's own S3 objects that a request names (`Image.S3Object`): read-only, from allowed buckets only.

Kept apart from the service's own bucket (segments.py): these are inputs, read with the deployment's
read-only grant on its input buckets, never written. Failures are storage facts (`ObjectUnavailable`,
`ObjectTooLarge`); the operations turn them into the error the request's member calls for.
"""

from __future__ import annotations

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
