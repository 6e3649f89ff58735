"""A stored-video job's objects in the service's bucket, under `video-jobs/<JobId>/`: what each segment
found, and the results in pages of RESULTS_PER_OBJECT items per order (gzipped JSON).

Every key is written whole by one writer; a retried segment writes the same key again with the same
content, so retries never double a result. The bucket's lifecycle rule expires the prefix after 7 days,
with the job item's TTL.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

PREFIX = "video-jobs/"
RESULTS_PER_OBJECT = 1000  # a Get* page (MaxResults at most 1000) spans at most two objects


def job_prefix(job_id: str) -> str:
    return f"{PREFIX}{job_id}/"


def segment_key(job_id: str, segment: int) -> str:
    return f"{job_prefix(job_id)}segments/{segment:05d}.json.gz"


def results_key(job_id: str, order: str, chunk: int) -> str:
    return f"{job_prefix(job_id)}results/{order}/{chunk:06d}.json.gz"


class VideoObjects:
    def __init__(self, s3: S3Client, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def _put(self, key: str, value: Any) -> None:
        body = gzip.compress(json.dumps(value, separators=(",", ":")).encode("utf-8"), compresslevel=5)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json",
                           ContentEncoding="gzip")

    def _get(self, key: str) -> Any:
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return json.loads(gzip.decompress(body))

    def put_segment(self, job_id: str, segment: int, samples: list[dict[str, Any]]) -> None:
        self._put(segment_key(job_id, segment), samples)

    def get_segment(self, job_id: str, segment: int) -> list[dict[str, Any]]:
        samples: list[dict[str, Any]] = self._get(segment_key(job_id, segment))
        return samples

    def put_results(self, job_id: str, order: str, items: Sequence[dict[str, Any]]) -> int:
        """Write `items` in pages; returns how many there are."""
        for chunk, start in enumerate(range(0, len(items), RESULTS_PER_OBJECT)):
            self._put(results_key(job_id, order, chunk), list(items[start : start + RESULTS_PER_OBJECT]))
        return len(items)

    def results(self, job_id: str, order: str, offset: int, count: int, total: int) -> list[dict[str, Any]]:
        """Items offset .. offset + count - 1 of `order` (of `total`), from at most two objects."""
        end = min(offset + count, total)
        found: list[dict[str, Any]] = []
        for chunk in range(offset // RESULTS_PER_OBJECT, (end - 1) // RESULTS_PER_OBJECT + 1 if end > offset else 0):
            items = self._get(results_key(job_id, order, chunk))
            base = chunk * RESULTS_PER_OBJECT
            found.extend(items[max(0, offset - base) : max(0, end - base)])
        return found
