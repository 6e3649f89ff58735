"""A video job's lifecycle around its phases: handing work to a worker, ending a job (once) and its notice.

What the API function needs of the jobs lives here, without the worker's phases (worker.py), which load the
video decoder and the models: Start* and Get* import them only when the work runs in this process (locally);
deployed, it runs in the video worker function.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from facesearch.services import Services
from facesearch.storage.input_objects import ObjectRef
from facesearch.storage.video_jobs import FAILED, IN_PROGRESS, SUCCEEDED, VideoJob
from facesearch.video import launch as launching

logger = logging.getLogger(__name__)

PLAN, SEGMENT, MERGE = "plan", "segment", "merge"
BY_TIMESTAMP, BY_INDEX = "TIMESTAMP", "INDEX"
SEARCH = "StartFaceSearch"
DEADLINE_MESSAGE = "The job did not finish in time."
__all__ = ["FAILED", "IN_PROGRESS", "SUCCEEDED", "end", "end_overdue", "failed", "launch", "plan_event"]


def plan_event(job_id: str) -> launching.Event:
    return launching.event(PLAN, job_id)


def launch(services: Services, work: launching.Event, handle: Callable[[Services, launching.Event], None]) -> None:
    """Hand `work` to a worker: the worker function when deployed, a thread running `handle` here otherwise."""
    services.launcher.launch(work, lambda event: handle(services, event),
                             lambda event, reason: failed(services, event, reason))


def failed(services: Services, work: Mapping[str, Any], reason: str) -> None:
    """Every attempt of a phase failed (the local launcher, or the deployed function's failure destination)."""
    job = services.storage.video_jobs.get(str(work.get("JobId", "")))
    if job is not None and job.status == IN_PROGRESS:
        phase = work.get(launching.EVENT_KIND, "work")
        logger.warning("video job %s: its %s step failed: %s", job.job_id, phase, reason)
        end(services, job, FAILED, f"The job failed: its {phase} step failed {launching.MAX_ATTEMPTS} times.")


def video_object(job: VideoJob) -> ObjectRef:
    return ObjectRef(job.video.bucket, job.video.name, job.video.version)


def video_member(job: VideoJob) -> dict[str, Any]:
    s3_object: dict[str, Any] = {"Bucket": job.video.bucket, "Name": job.video.name}
    if job.video.version:
        s3_object["Version"] = job.video.version
    return {"S3Object": s3_object}


def notice(job: VideoJob, status: str) -> dict[str, Any]:
    """Rekognition's completion message: API is the Start operation's name, Timestamp in milliseconds."""
    message: dict[str, Any] = {"JobId": job.job_id, "Status": status, "API": job.api,
                               "Timestamp": int(time.time() * 1000),
                               "Video": {"S3ObjectName": job.video.name, "S3Bucket": job.video.bucket}}
    if job.job_tag:
        message["JobTag"] = job.job_tag
    return message


def end(services: Services, job: VideoJob, status: str, message: str | None = None,
        results: Mapping[str, int] | None = None) -> bool:
    """End a running job (once: False if it had already ended) and publish its notice."""
    if not services.storage.video_jobs.finish(job.job_id, status, message, results):
        return False
    logger.info("video job %s %s%s", job.job_id, status, f": {message}" if message else "")
    if job.topic_arn:
        services.notices.publish(job.topic_arn, notice(job, status))
    return True


def end_overdue(services: Services) -> int:
    """End the running jobs past their deadline (a lost worker must not hold a place for good)."""
    return end_running(services, DEADLINE_MESSAGE, past_deadline_at=time.time())


def end_orphans(services: Services, reason: str) -> int:
    """End every running job (FAILED, with `reason`): for a local server starting on its kept data, whose
    jobs' threads died with the previous process and that no other worker can be running."""
    return end_running(services, reason)


def end_running(services: Services, reason: str, past_deadline_at: float | None = None) -> int:
    """End the running jobs FAILED with `reason` (only those past their deadline at `past_deadline_at`, when
    given); how many this call ended."""
    ended = 0
    for job_id, deadline in services.storage.video_jobs.running().items():
        if past_deadline_at is not None and deadline >= past_deadline_at:
            continue
        job = services.storage.video_jobs.get(job_id)
        if job is not None and end(services, job, FAILED, reason):
            ended += 1
    return ended
