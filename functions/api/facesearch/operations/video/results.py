"""GetFaceDetection and GetFaceSearch: a job's status, and its results a page at a time.

"VideoMetadata is returned in every page of paginated responses." MaxResults defaults to 1000 and a larger
value is clamped to 1000, as documented; an empty NextToken means the first page (AWS's own samples start
with NextToken=''). Tokens are opaque and bound to the job and the sort order. A job id that does not exist,
belongs to the other Start operation or is past its 7 days of retention is ResourceNotFoundException; a job
past its deadline reports FAILED (and is ended, which frees its place and sends its notice).
"""

from __future__ import annotations

from typing import Any

from facesearch.errors import InvalidPaginationTokenException, ResourceNotFoundException
from facesearch.operations import pagination
from facesearch.operations.registry import Request, operation
from facesearch.operations.video import jobs
from facesearch.services import Services
from facesearch.storage.video_jobs import FAILED, SUCCEEDED, VideoJob

MAX_RESULTS = 1000


@operation("GetFaceDetection")
def get_face_detection(services: Services, request: Request) -> dict[str, Any]:
    return answer(services, request, "StartFaceDetection", "Faces", jobs.BY_TIMESTAMP)


@operation("GetFaceSearch")
def get_face_search(services: Services, request: Request) -> dict[str, Any]:
    order = jobs.BY_INDEX if request.get("SortBy") == "INDEX" else jobs.BY_TIMESTAMP
    return answer(services, request, "StartFaceSearch", "Persons", order)


def job_of(services: Services, job_id: str, api: str) -> VideoJob:
    job = services.storage.video_jobs.get(job_id)
    if job is None or job.api != api or job.expired():
        raise ResourceNotFoundException(f"The job id: {job_id} does not exist")
    if job.overdue():
        jobs.end(services, job, FAILED, jobs.DEADLINE_MESSAGE)
        job = services.storage.video_jobs.get(job_id) or job
    return job


def offset_of(token: str | None, job: VideoJob, order: str) -> int:
    if not token:  # absent, or "" as AWS's samples send on the first call
        return 0
    cursor = pagination.decode(token, job.api, f"{job.job_id}\n{order}")
    if not (cursor.start_after or "").isdigit():
        raise InvalidPaginationTokenException("Invalid pagination token.")
    return int(cursor.start_after or 0)


def answer(services: Services, request: Request, api: str, member: str, order: str) -> dict[str, Any]:
    job = job_of(services, request["JobId"], api)
    result: dict[str, Any] = {"JobStatus": job.status, "JobId": job.job_id, "Video": jobs.video_member(job)}
    if job.job_tag:
        result["JobTag"] = job.job_tag
    if job.status_message:
        result["StatusMessage"] = job.status_message
    if job.metadata:
        result["VideoMetadata"] = {**job.metadata, "FrameRate": float(job.metadata.get("FrameRate", 0.0))}
    items: list[dict[str, Any]] = []
    if job.status == SUCCEEDED:
        total = job.results.get(order, 0)
        offset = offset_of(request.get("NextToken"), job, order)
        count = min(int(request.get("MaxResults", MAX_RESULTS)), MAX_RESULTS)
        items = services.storage.video_objects.results(job.job_id, order, offset, count, total)
        if offset + len(items) < total:
            result["NextToken"] = pagination.encode(job.api, f"{job.job_id}\n{order}", str(offset + len(items)))
    result[member] = items
    return result
