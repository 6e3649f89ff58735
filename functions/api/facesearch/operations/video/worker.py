"""The video worker: a job's three phases, each one asynchronous invocation (or a local thread).

- plan: read the video's header (ranged reads), fail the job if it is not H.264 video Rekognition takes,
  record its VideoMetadata and cut it into segments; launch one `segment` per segment.
- segment k: seek to the segment's start, decode its sampled frames (reading only its byte ranges), find and
  describe every face (embedded for a face search); write what it found to one object; mark the segment
  done. The worker that completes the set launches `merge`. A retried segment writes the same object again.
- merge: join every segment's samples in time order; for a face search, follow each person through the
  video and search the collection once per person (sampling/people.py); write the result pages, end the job
  SUCCEEDED and publish its notice.

A job ends exactly once (storage's conditional finish), so its notice is sent once; a phase that fails every
attempt, a video that cannot be read, or a job past its deadline ends FAILED with a StatusMessage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from facesearch.operations.video import people, sampling
from facesearch.operations.video.jobs import (
    BY_INDEX,
    BY_TIMESTAMP,
    DEADLINE_MESSAGE,
    MERGE,
    PLAN,
    SEARCH,
    SEGMENT,
    end,
    launch,
    video_object,
)
from facesearch.services import Services
from facesearch.storage.input_objects import ObjectUnavailable
from facesearch.storage.video_jobs import FAILED, IN_PROGRESS, SUCCEEDED, VideoJob
from facesearch.video import launch as launching
from facesearch.video import plan as planning
from facesearch.video.http_bridge import HttpBridge
from facesearch.vision.video_container import ProbeError, VideoInfo, probe
from facesearch.vision.video_decoder import DecodeError

logger = logging.getLogger(__name__)

UNREADABLE_MESSAGE = "Unable to read the video from Amazon S3. Check the object key, region and permissions."


class JobFailure(Exception):
    """The video itself cannot be analysed (unreadable, not H.264, ...): the job fails, no retry helps."""


def handle(services: Services, work: Mapping[str, Any]) -> None:
    """Run one phase of a job (the worker function's and the local threads' entry point)."""
    job = services.storage.video_jobs.get(str(work["JobId"]))
    if job is None or job.status != IN_PROGRESS:
        return  # ended meanwhile (failed elsewhere, or past its deadline): nothing left to do
    if job.overdue():
        end(services, job, FAILED, DEADLINE_MESSAGE)
        return
    try:
        phase = work[launching.EVENT_KIND]
        if phase == PLAN:
            plan(services, job)
        elif phase == SEGMENT:
            analyse_segment(services, job, int(work["Segment"]))
        elif phase == MERGE:
            merge(services, job)
        else:
            logger.warning("unknown video work %r ignored", phase)
    except JobFailure as failure:
        end(services, job, FAILED, str(failure))


def read_header(services: Services, job: VideoJob) -> VideoInfo:
    try:
        with services.inputs.open(video_object(job), min_fetch=64 << 10) as reader:
            info = probe(reader, reader.size)
    except ObjectUnavailable as error:
        raise JobFailure(UNREADABLE_MESSAGE) from error
    except ProbeError as error:
        raise JobFailure(f"Unsupported video file ({error}): the video must be H.264 in MP4, MOV or AVI.") from error
    if info.codec != "h264":
        raise JobFailure(f"Unsupported codec {info.codec}: the video must be encoded with H.264.")
    if info.duration_ms > planning.MAX_DURATION_MS:
        raise JobFailure("The video is longer than 6 hours.")
    return info


def plan(services: Services, job: VideoJob) -> None:
    info = read_header(services, job)
    settings = services.settings
    segments = planning.segments(info.duration_ms, settings.video_segment_ms, settings.video_step_ms)
    if services.storage.video_jobs.planned(job.job_id, info.rekognition(), len(segments)):
        for segment in segments:
            launch(services, launching.event(SEGMENT, job.job_id, Segment=segment.index), handle)


def analyse_segment(services: Services, job: VideoJob, index: int) -> None:
    if job.metadata is None or job.segments_total is None:
        raise JobFailure("The job was not planned.")
    settings = services.settings
    segment = planning.segments(int(job.metadata["DurationMillis"]), settings.video_segment_ms,
                                settings.video_step_ms)[index]
    started = time.monotonic()
    try:
        with services.inputs.open(video_object(job)) as reader, HttpBridge(reader, reader.size) as url:
            samples = sampling.sample_segment(services, job, url, segment, settings.video_step_ms)
        logger.info("video job %s segment %d: %d samples, %d faces in %.1f s; read %.1f MB in %d requests",
                    job.job_id, index, len(samples), sum(len(sample["faces"]) for sample in samples),
                    time.monotonic() - started, reader.bytes_read / 1e6, reader.requests)
    except ObjectUnavailable as error:
        raise JobFailure(UNREADABLE_MESSAGE) from error
    except DecodeError as error:
        raise JobFailure(f"Unable to decode the video: {error}.") from error
    services.storage.video_objects.put_segment(job.job_id, index, samples)
    updated = services.storage.video_jobs.segment_done(job.job_id, index)
    if updated is not None and len(updated.segments_done) == updated.segments_total:
        launch(services, launching.event(MERGE, job.job_id), handle)


def merge(services: Services, job: VideoJob) -> None:
    if job.segments_total is None or len(job.segments_done) != job.segments_total:
        return  # launched early by a retried segment: the segment that completes the set launches it again
    samples = [sample for index in range(job.segments_total)
               for sample in services.storage.video_objects.get_segment(job.job_id, index)]
    if job.api == SEARCH:
        by_timestamp, by_index = people.search_items(services, job, samples)
        orders = {BY_TIMESTAMP: by_timestamp, BY_INDEX: by_index}
    else:
        orders = {BY_TIMESTAMP: people.detection_items(samples)}
    counts = {order: services.storage.video_objects.put_results(job.job_id, order, items)
              for order, items in orders.items()}
    end(services, job, SUCCEEDED, results=counts)
