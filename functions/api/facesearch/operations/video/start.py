"""StartFaceDetection and StartFaceSearch: check the request and the video, record the job, hand it to a jobs.

What is checked before a JobId is given (the rest ends the job FAILED with a StatusMessage):
- the collection (StartFaceSearch): ResourceNotFoundException;
- the object: missing, forbidden or in a bucket the deployment may not read is InvalidS3ObjectException;
  over 10 GB, or an MP4/MOV whose header says over 6 hours, is VideoTooLargeException (a few KB of ranged
  reads of the header, never the video);
- the ClientRequestToken: the same token with the same parameters answers the same JobId and starts nothing
  (no second notice); with other parameters it is IdempotentParameterMismatchException;
- the deployment's limit of jobs running at once: LimitExceededException (jobs past their deadline are
  ended first, so a crashed job never holds a place for good).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from facesearch.errors import (
    InvalidParameterException,
    InvalidS3ObjectException,
    LimitExceededException,
    VideoTooLargeException,
)
from facesearch.operations.analysis import S3_MESSAGE
from facesearch.operations.idempotency import TOKEN, mismatch, request_digest
from facesearch.operations.registry import Request, operation
from facesearch.operations.video import jobs
from facesearch.services import Services
from facesearch.storage import Collection
from facesearch.storage.input_objects import ObjectRef, ObjectUnavailable
from facesearch.storage.video_jobs import RETENTION_SECONDS, TokenMismatch, TooManyJobs, VideoJob, VideoRef
from facesearch.video import plan
from facesearch.video.launch import Event
from facesearch.vision.video_container import ProbeError, probe

DEFAULT_FACE_MATCH_THRESHOLD = 80.0
TOO_LARGE_MESSAGE = "Video file size or duration is too large: the maximum is 10 GB and 6 hours."
NO_VIDEO_MESSAGE = "Video must name an S3Object with a Bucket and a Name."
LIMIT_MESSAGE = "Too many video jobs are running; retry when some have finished."


@operation("StartFaceDetection")
def start_face_detection(services: Services, request: Request) -> dict[str, Any]:
    return {"JobId": start(services, "StartFaceDetection", request)}


@operation("StartFaceSearch")
def start_face_search(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    services.index.check_model(collection)
    return {"JobId": start(services, "StartFaceSearch", request, collection)}


def video_object(request: Request) -> ObjectRef:
    s3_object = (request.get("Video") or {}).get("S3Object")
    if not s3_object or not s3_object.get("Bucket") or not s3_object.get("Name"):
        raise InvalidParameterException(NO_VIDEO_MESSAGE)
    return ObjectRef.from_request(s3_object)


def checked_duration(services: Services, ref: ObjectRef) -> int | None:
    """The video's duration from its header (None when the header cannot be read here: the job will say
    why it fails), after refusing what is missing, forbidden or too large."""
    try:
        size = services.inputs.size(ref)
    except ObjectUnavailable as error:
        raise InvalidS3ObjectException(S3_MESSAGE) from error
    if size > plan.MAX_BYTES:
        raise VideoTooLargeException(TOO_LARGE_MESSAGE)
    try:
        with services.inputs.open(ref, min_fetch=64 << 10) as reader:
            duration = probe(reader, size).duration_ms
    except (ProbeError, ObjectUnavailable):
        return None
    if duration > plan.MAX_DURATION_MS:
        raise VideoTooLargeException(TOO_LARGE_MESSAGE)
    return duration


def new_job(services: Services, api: str, request: Request, ref: ObjectRef, duration_ms: int | None,
            collection: Collection | None) -> VideoJob:
    now = time.time()
    channel = request.get("NotificationChannel") or {}
    allowed = services.settings.video_deadline_ms + 3 * (duration_ms or 0)
    return VideoJob(
        job_id=secrets.token_hex(32),  # 64 lowercase hex characters, like Rekognition's
        api=api, video=VideoRef(ref.bucket, ref.name, ref.version), created_at=now,
        deadline=now + allowed / 1000, expires_at=now + RETENTION_SECONDS, job_tag=request.get("JobTag"),
        topic_arn=channel.get("SNSTopicArn"), role_arn=channel.get("RoleArn"),
        face_attributes=request.get("FaceAttributes", "DEFAULT"),
        collection_id=collection.collection_id if collection else None,
        collection_uid=collection.uid if collection else None,
        threshold=float(request.get("FaceMatchThreshold", DEFAULT_FACE_MATCH_THRESHOLD)) if collection else None,
    )  # fmt: skip


def run_job(services: Services, work: Event) -> None:
    from facesearch.operations.video import worker  # the decoder and the models: only where work runs

    worker.handle(services, work)


def start(services: Services, api: str, request: Request, collection: Collection | None = None) -> str:
    ref = video_object(request)
    job = new_job(services, api, request, ref, checked_duration(services, ref), collection)
    token, digest = request.get(TOKEN), request_digest(request)
    repo = services.storage.video_jobs
    try:
        try:
            started = repo.start(job, token, digest, services.settings.video_job_limit)
        except TooManyJobs:
            if not jobs.end_overdue(services):
                raise
            started = repo.start(job, token, digest, services.settings.video_job_limit)
    except TokenMismatch as error:
        raise mismatch(str(token)) from error
    except TooManyJobs as error:
        raise LimitExceededException(LIMIT_MESSAGE) from error
    if started.new:
        try:
            jobs.launch(services, jobs.plan_event(job.job_id), run_job)
        except Exception:  # no worker got it (the invoke failed): end it now, not at its deadline
            jobs.end(services, job, jobs.FAILED, "The job could not be handed to a worker; start it again.")
            raise
    return started.job_id
