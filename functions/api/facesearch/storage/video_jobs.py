"""Stored-video jobs in the table: the job item, its ClientRequestToken, and the running-job limit.

A job starts in one transaction (token, job, running count, running entry), so a crash leaves either all
of it or none, and ends in one (status, count, entry), conditional on the job still running, so a job ends
exactly once, whoever ends it (the merge, a failure handler, or a sweep of jobs past their deadline).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from facesearch.storage import keys
from facesearch.storage.codec import cancellation_reasons, decimal, error_code, translate
from facesearch.storage.table import Table

IN_PROGRESS, SUCCEEDED, FAILED = "IN_PROGRESS", "SUCCEEDED", "FAILED"
RETENTION_SECONDS = 7 * 24 * 3600  # "You will not be able to retrieve the analysis results after [7 days]"


@dataclass(frozen=True)
class VideoRef:
    bucket: str
    name: str
    version: str | None = None


@dataclass(frozen=True)
class VideoJob:
    job_id: str
    api: str  # the Start operation: "StartFaceDetection" or "StartFaceSearch"
    video: VideoRef
    created_at: float
    deadline: float  # epoch seconds: a job still running then has failed
    expires_at: float  # epoch seconds: gone for Get* after this (and deleted by the table's TTL)
    status: str = IN_PROGRESS
    status_message: str | None = None
    job_tag: str | None = None
    topic_arn: str | None = None  # NotificationChannel.SNSTopicArn
    role_arn: str | None = None
    face_attributes: str = "DEFAULT"  # StartFaceDetection's FaceAttributes
    collection_id: str | None = None  # StartFaceSearch
    collection_uid: str | None = None
    threshold: float | None = None  # StartFaceSearch's FaceMatchThreshold
    metadata: Mapping[str, Any] | None = None  # VideoMetadata, once the video was read
    segments_total: int | None = None
    segments_done: frozenset[str] = frozenset()
    results: Mapping[str, int] = field(default_factory=dict)  # result order -> how many items

    def overdue(self, now: float | None = None) -> bool:
        return self.status == IN_PROGRESS and (now if now is not None else time.time()) > self.deadline

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) > self.expires_at


@dataclass(frozen=True)
class Started:
    job_id: str
    new: bool  # False: the token named an earlier job with the same parameters (nothing started)


class TokenMismatch(Exception):
    """The ClientRequestToken was used with other parameters."""


class TooManyJobs(Exception):
    """The deployment's limit of concurrently running jobs is reached."""


def _job(values: Mapping[str, Any]) -> VideoJob:
    return VideoJob(
        job_id=values["JobId"], api=values["Api"],
        video=VideoRef(values["Bucket"], values["Name"], values.get("Version")),
        created_at=float(values["CreatedAt"]), deadline=float(values["Deadline"]),
        expires_at=float(values[keys.EXPIRES_AT]), status=values["Status"],
        status_message=values.get("StatusMessage"), job_tag=values.get("JobTag"),
        topic_arn=values.get("TopicArn"), role_arn=values.get("RoleArn"),
        face_attributes=values.get("FaceAttributes", "DEFAULT"), collection_id=values.get("CollectionId"),
        collection_uid=values.get("CollectionUid"),
        threshold=float(values["Threshold"]) if values.get("Threshold") is not None else None,
        metadata=_plain(values.get("VideoMetadata")), segments_total=_int(values.get("SegmentsTotal")),
        segments_done=frozenset(values.get("SegmentsDone") or ()),
        results={order: int(count) for order, count in (values.get("Results") or {}).items()},
    )  # fmt: skip


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _plain(value: Any) -> Any:
    """DynamoDB numbers (Decimal) back to ints and floats."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if value is not None and type(value).__name__ == "Decimal":
        return int(value) if value == int(value) else float(value)
    return value


def _numbers(value: Any) -> Any:
    """Floats as DynamoDB Decimals, recursively."""
    if isinstance(value, dict):
        return {key: _numbers(item) for key, item in value.items()}
    if isinstance(value, float):
        return decimal(value)
    return value


class VideoJobRepo:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, job_id: str) -> VideoJob | None:
        values = self.table.get(keys.video_job_key(job_id))
        return _job(values) if values else None

    def start(self, job: VideoJob, token: str | None, digest: str, limit: int) -> Started:
        """Record `job` as running, unless `token` names an earlier job (its id comes back) or `limit` jobs
        already run (TooManyJobs). The same token with another `digest` is TokenMismatch."""
        item = {
            **keys.video_job_key(job.job_id), "JobId": job.job_id, "Api": job.api, "Status": IN_PROGRESS,
            "Bucket": job.video.bucket, "Name": job.video.name, "Version": job.video.version,
            "CreatedAt": decimal(job.created_at), "Deadline": decimal(job.deadline),
            keys.EXPIRES_AT: int(job.expires_at), "JobTag": job.job_tag, "TopicArn": job.topic_arn,
            "RoleArn": job.role_arn, "FaceAttributes": job.face_attributes, "CollectionId": job.collection_id,
            "CollectionUid": job.collection_uid,
            "Threshold": decimal(job.threshold) if job.threshold is not None else None, "Digest": digest,
        }  # fmt: skip
        actions = [self.table.put_action(item, "attribute_not_exists(pk)")]
        if token is not None:
            token_item = {**keys.video_token_key(job.api, token), "JobId": job.job_id, "Digest": digest,
                          keys.EXPIRES_AT: int(job.expires_at)}
            actions.append(self.table.put_action(token_item, "attribute_not_exists(pk)"))
        actions.append(self.table.update_action(
            keys.running_jobs_key(), "ADD Running :one", "attribute_not_exists(Running) OR Running < :limit",
            values={":one": 1, ":limit": limit}))
        actions.append(self.table.put_action({**keys.running_job_key(job.job_id),
                                              "Deadline": decimal(job.deadline)}))
        try:
            self.table.transact(actions)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if not reasons:
                raise translate(error) from error
            if token is not None and reasons[1] == "ConditionalCheckFailed":
                return self._earlier(job.api, token, digest)
            if reasons[-2] == "ConditionalCheckFailed":
                raise TooManyJobs(f"{limit} jobs are running") from error
            raise translate(error) from error
        return Started(job.job_id, new=True)

    def _earlier(self, api: str, token: str, digest: str) -> Started:
        values = self.table.get(keys.video_token_key(api, token))
        if values is None or float(values.get(keys.EXPIRES_AT, 0)) < time.time():
            raise TokenMismatch(token)  # a token item that vanished meanwhile: do not start a twin
        if values["Digest"] != digest:
            raise TokenMismatch(token)
        return Started(str(values["JobId"]), new=False)

    def running(self) -> dict[str, float]:
        """Running job ids and their deadlines (epoch seconds)."""
        return {item["sk"]: float(item["Deadline"]) for item in self.table.iter_partition(keys.RUNNING_PARTITION)}

    def planned(self, job_id: str, metadata: Mapping[str, Any], segments: int) -> bool:
        """The video's metadata and how many segments its samples are cut into; False if the job ended."""
        return self._update_if_running(job_id, "SET VideoMetadata = :m, SegmentsTotal = :n",
                                       {":m": _numbers(dict(metadata)), ":n": segments}) is not None

    def segment_done(self, job_id: str, segment: int) -> VideoJob | None:
        """Mark one segment analysed (a retry marks it again, harmlessly); the job as it now is, or None if
        it is no longer running."""
        values = self._update_if_running(job_id, "ADD SegmentsDone :k", {":k": {str(segment)}})
        return _job(values) if values else None

    def claim_merge(self, job_id: str, claimant: str) -> bool:
        """True for exactly one caller once every segment is done: the one that merges the results."""
        action = self.table.update_action(
            keys.video_job_key(job_id), "SET MergedBy = :me",
            "#s = :running AND attribute_not_exists(MergedBy)", names={"#s": "Status"},
            values={":me": claimant, ":running": IN_PROGRESS})
        try:
            self.table.update(action)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise translate(error) from error
        return True

    def finish(self, job_id: str, status: str, message: str | None = None,
               results: Mapping[str, int] | None = None) -> bool:
        """End a running job as SUCCEEDED or FAILED and free its place; False if it had already ended."""
        expression = "SET #s = :status" + (", StatusMessage = :message" if message else "") + (
            ", Results = :results" if results is not None else "")
        values: dict[str, Any] = {":status": status, ":running": IN_PROGRESS}
        if message:
            values[":message"] = message[:1000]
        if results is not None:
            values[":results"] = dict(results)
        actions = [
            self.table.update_action(keys.video_job_key(job_id), expression, "#s = :running",
                                     names={"#s": "Status"}, values=values),
            self.table.update_action(keys.running_jobs_key(), "ADD Running :less", values={":less": -1}),
            self.table.delete_action(keys.running_job_key(job_id)),
        ]
        try:
            self.table.transact(actions)
        except ClientError as error:
            if "ConditionalCheckFailed" in cancellation_reasons(error):
                return False
            raise translate(error) from error
        return True

    def _update_if_running(self, job_id: str, expression: str, values: Mapping[str, Any]) -> dict[str, Any] | None:
        action = self.table.update_action(keys.video_job_key(job_id), expression, "#s = :running",
                                          names={"#s": "Status"}, values={**values, ":running": IN_PROGRESS})
        try:
            return self.table.update(action, return_new=True)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise translate(error) from error
