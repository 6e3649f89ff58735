"""`facesearch video`: a stored-video job, from a local file or an s3:// object to its result pages.

- The video: `s3://bucket/key` is used as it is. A local file is uploaded to the bucket given (the deployment
  must be allowed to read it: InputBuckets) under `facesearch-video/<sha256 prefix>/<file name>` with boto3's
  managed transfer (multipart above 8 MB); when that key holds the file already (HEAD: the same size, and the
  same sha256 in its metadata when it has one) nothing is sent again.
- The job: Start* carries a ClientRequestToken derived from the object (bucket, key, ETag) and the
  parameters, so the same command run again gets the same JobId instead of starting a second job (the
  service keeps a token's answer for 7 days, as Rekognition documents); `new_job` mixes a random nonce in.
- Waiting: Get* right away, then every 2 s growing to every 5 s (Rekognition throttles Get*; botocore's
  retries and bulk.with_backoff wait out ThrottlingException), until the job is no longer IN_PROGRESS. The
  poll asks for what the first result page needs (MaxResults 1000, SortBy INDEX for a search), so the
  answer that says SUCCEEDED is that page.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from facesearch_cli.bulk import error_text, with_backoff

SEARCH, DETECTION = "StartFaceSearch", "StartFaceDetection"
ITEMS = {SEARCH: "Persons", DETECTION: "Faces"}
IN_PROGRESS, SUCCEEDED, FAILED = "IN_PROGRESS", "SUCCEEDED", "FAILED"
PAGE_SIZE = 1000  # GetFace*'s maximum MaxResults
KEY_PREFIX = "facesearch-video/"
DIGEST_CHARS = 16  # of the file's sha256 in its key: 64 bits, no two videos of a bucket share one
HASH_BLOCK = 1 << 20
POLL_FIRST, POLL_MAX, POLL_GROWTH = 2.0, 5.0, 1.5  # seconds between two Get* while the job runs
TRANSFER = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=16 << 20, max_concurrency=8)
NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})

Page = dict[str, Any]


@dataclass(frozen=True)
class VideoObject:
    bucket: str
    key: str
    etag: str = ""  # part of the job's identity; "" when the object could not be read with the user's S3 keys

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def member(self) -> dict[str, Any]:
        """Start*'s Video."""
        return {"S3Object": {"Bucket": self.bucket, "Name": self.key}}


def parse_s3(location: str) -> tuple[str, str]:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise ValueError(f"{location}: a video in S3 is named s3://bucket/key")
    return bucket, key


# --- the video in S3 ---------------------------------------------------------------------------------------


def sha256_of(path: Path, progress: Callable[[int], None] = lambda _: None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(HASH_BLOCK):
            digest.update(block)
            progress(len(block))
    return digest.hexdigest()


def upload_key(prefix: str, digest: str, name: str) -> str:
    """`facesearch-video/<first 16 hex digits of the sha256>/<file name>`: the same file, the same key."""
    return "/".join(part for part in (prefix.strip("/"), digest[:DIGEST_CHARS], name) if part)


def head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """HeadObject's answer, or None when there is no such object."""
    try:
        return dict(s3.head_object(Bucket=bucket, Key=key))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in NOT_FOUND:
            return None
        raise


def holds(found: Mapping[str, Any] | None, size: int, digest: str) -> bool:
    """Whether a HEAD answer is the file: the same size, and the same sha256 if the object records one (the
    key already carries a prefix of it)."""
    if found is None or found.get("ContentLength") != size:
        return False
    recorded = (found.get("Metadata") or {}).get("sha256")
    return recorded is None or recorded == digest


def upload(s3: Any, path: Path, bucket: str, key: str, digest: str,
           progress: Callable[[int], None] = lambda _: None) -> None:
    s3.upload_file(str(path), bucket, key, ExtraArgs={"Metadata": {"sha256": digest}}, Callback=progress,
                   Config=TRANSFER)


def s3_video(s3: Any, bucket: str, key: str, warn: Callable[[str], None] = lambda _: None) -> VideoObject:
    """The object with its ETag. Without read access here (no S3 keys, or a 403) the service may still read
    it with its own role: the job is then known by bucket and key alone."""
    try:
        found = head(s3, bucket, key)
    except (ClientError, BotoCoreError) as error:
        text = error_text(error) if isinstance(error, ClientError) else str(error)
        warn(f"cannot read s3://{bucket}/{key} with your S3 keys ({text}); the job is known by its bucket and key "
             f"only")
        return VideoObject(bucket, key)
    if found is None:
        raise ValueError(f"s3://{bucket}/{key}: no such object")
    return VideoObject(bucket, key, str(found.get("ETag", "")))


# --- the job ------------------------------------------------------------------------------------------------


def request_token(api: str, video: VideoObject, params: Mapping[str, Any], nonce: str = "") -> str:
    """A ClientRequestToken that names this video and these parameters: 64 hex digits (the maximum)."""
    identity = {"api": api, "bucket": video.bucket, "key": video.key, "etag": video.etag, "params": params,
                "nonce": nonce}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()


def start(client: Any, api: str, video: VideoObject, params: Mapping[str, Any], new_job: bool = False) -> str:
    """Start* (or, for the same video and parameters within 7 days, the job started before); its JobId.
    With `new_job` the token is new too, so botocore's own retries of this call still start one job."""
    token = request_token(api, video, params, secrets.token_hex(16) if new_job else "")
    request = {"Video": video.member(), **params, "ClientRequestToken": token}
    method = client.start_face_search if api == SEARCH else client.start_face_detection
    return str(with_backoff(lambda: method(**request))["JobId"])


def get_page(client: Any, api: str, job_id: str, token: str = "") -> Page:
    request: dict[str, Any] = {"JobId": job_id, "MaxResults": PAGE_SIZE}
    if token:
        request["NextToken"] = token
    if api == SEARCH:
        request["SortBy"] = "INDEX"
    method = client.get_face_search if api == SEARCH else client.get_face_detection
    page = dict(with_backoff(lambda: method(**request)))
    page.pop("ResponseMetadata", None)
    return page


def find_job(client: Any, job_id: str) -> str:
    """Which Start operation made `job_id` (each Get* knows only its own jobs)."""
    try:
        get_page(client, SEARCH, job_id)
    except client.exceptions.ResourceNotFoundException:
        get_page(client, DETECTION, job_id)  # not found either: its ResourceNotFoundException is the answer
        return DETECTION
    return SEARCH


def wait(client: Any, api: str, job_id: str, on_poll: Callable[[Page], None] = lambda _: None,
         sleep: Callable[[float], None] = time.sleep) -> Page:
    """Poll until the job ends; its last answer (the first page of results when it SUCCEEDED)."""
    interval = POLL_FIRST
    while True:
        page = get_page(client, api, job_id)
        on_poll(page)
        if page["JobStatus"] != IN_PROGRESS:
            return page
        sleep(interval)
        interval = min(POLL_MAX, interval * POLL_GROWTH)


def pages(client: Any, api: str, job_id: str, first: Page) -> Iterator[Page]:
    """Every result page, `first` (wait's answer) then the rest."""
    page = first
    yield page
    while page.get("NextToken"):
        page = get_page(client, api, job_id, page["NextToken"])
        yield page
