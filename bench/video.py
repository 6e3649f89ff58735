"""Stored-video face search: accuracy on a made video, CPU per second of video, and cost per video hour.

    FACESEARCH_SHARED=../shared .venv/bin/python -m bench.video                 # ~20 min (videos cached)
    FACESEARCH_SHARED=../shared .venv/bin/python -m bench.video --rounds 6 --skip-seek --skip-accuracy  # ~6 min

The video (bench/video_scene.py): one minute, 1280x720 at 25 fps, 5 enrolled London people (the video shows
their smiling photo, the collection holds their neutral one) and 5 strangers entering and leaving, up to three
at once, through the frame's edges, with empty stretches; faces of about 60-180 px; a little noise. The same
scene at 1920x1080 for speed. Made once with PyAV's libx264 and cached in .cache/bench-videos.

Accuracy runs the real job path in this process: moto's S3 and DynamoDB (mock_aws), boto3's rekognition
client wired to the Lambda handler (tests/conftest.py's make_client), IndexFaces of the 5 neutral photos,
StartFaceSearch (threshold 80, default 180 s segments), the in-process launcher's threads, GetFaceSearch
every page. Each Persons entry is placed on the ground truth by its box (IoU >= 0.3 with a face's box at
that sample), then:
- an enrolled person is matched at a sample when an entry on their face has their FaceId as its best match
  (Similarity >= 80); a second of video counts as matched when one of its samples is, out of the seconds in
  which the person is on screen (at least half of the face inside the frame) in one sample or more;
- a false match is any FaceMatch at >= 80 naming someone other than the face it sits on: another enrolled
  person, a stranger's face, or a place where no face is (while nobody or only strangers are on screen).
Targets (issue 17): every enrolled person matched in >= 90 % of their seconds on screen, no false match.

Speed, in this process on one thread (onnxruntime 1 intra-op thread, OpenCV 1 thread), CPU time
(time.process_time, every thread of the process) per second of video at 5 samples a second, for chunks of
the video taken in turn, the contenders alternated round by round (order rotated) on the same chunk:
- decode only: the worker's frame sampler (vision/video_decoder.sample_frames) and nothing else;
- seek per sample: the same frames, each reached by its own seek (what the sampler avoids: every seek
  decodes again from the keyframe before it);
- video path: the worker's segment analysis (operations/video/sampling.sample_segment, face search: every
  face embedded), timed inside as decode vs face pipeline vs the rest (the sample records);
- image path: the same sampled frames as JPEG bytes (quality 90, encoded outside the timing) through the image
  operations' work: decode_image + detect + FaceDetail (DetectFaces), then + embedding every face.
Cost per video hour: CPU seconds per video second x 3600 on Lambda arm64 at the worker's memory, with the
request counts of the accuracy job, next to Rekognition's stored-video price. Needs ../shared
(or $FACESEARCH_SHARED); skips without it. A benchmark: it prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
from PIL import Image

from bench import video_scene as scene
from bench.common.progress import log
from bench.common.sets import shared_dir
from bench.common.tables import boxed as table
from facesearch.operations import render
from facesearch.operations.video import jobs, sampling
from facesearch.settings import Settings
from facesearch.storage.video_jobs import VideoJob, VideoRef
from facesearch.video.http_bridge import HttpBridge
from facesearch.video.plan import Segment
from facesearch.vision.image_decoder import decode_image
from facesearch.vision.pipeline import FacePipeline, get_pipeline
from facesearch.vision.video_decoder import sample_frames

STEP_MS = 200  # 5 samples a second, the service's default
THRESHOLD = 80.0
MIN_IOU = 0.3  # an entry's box on a ground-truth face
TARGET_SECONDS_SHARE = 0.90
TARGET_CPU_PER_VIDEO_SECOND = 1.0  # at 720p, one core
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
JPEG_QUALITY = 90
BUCKET = "facesearch-test-inputs"  # tests/conftest.py's input bucket


@dataclass(frozen=True)
class Prices:
    """us-east-1 list prices, 2025 (the Lambda, S3, DynamoDB and Rekognition pricing pages; check them)."""

    lambda_gb_second: float = 0.0000133334  # arm64
    lambda_request: float = 0.20 / 1e6
    s3_get: float = 0.0004 / 1000
    s3_put: float = 0.005 / 1000  # PUT, COPY, POST, LIST
    dynamodb_write: float = 0.625 / 1e6  # on-demand write request unit
    dynamodb_read: float = 0.125 / 1e6  # on-demand read request unit
    rekognition_video_minute: float = 0.10  # stored video face search, the commonly quoted list price


# --- accuracy: the real job path in this process -------------------------------------------------------------


@dataclass
class JobRun:
    persons: list[dict[str, Any]]
    face_ids: dict[str, str]  # label -> FaceId in the collection
    metadata: dict[str, Any]
    requests: Counter[str]  # "s3.GetObject" -> count, during the job (Start to the last Get page)
    wall_seconds: float
    pages: int


@contextlib.contextmanager
def counted_atomic_moto() -> Iterator[Counter[str]]:
    """moto with each request atomic, as the real services are (tests/conftest.py's atomic_moto), counting
    the S3 and DynamoDB requests by operation."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock, counts, original = threading.RLock(), Counter[str](), BotocoreStubber.__call__

    def serialized(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        with lock:
            service_operation = event_name.removeprefix("before-send.")
            if service_operation.split(".")[0] in ("s3", "dynamodb"):
                counts[service_operation] += 1
            return original(self, event_name, request, **kwargs)

    BotocoreStubber.__call__ = serialized  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        BotocoreStubber.__call__ = original  # type: ignore[method-assign]


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_search_job(video: Path, people: scene.Cast, threshold: float, timeout: float) -> JobRun:
    """IndexFaces of the enrolled people's neutral photos, then StartFaceSearch on the video and every page of
    GetFaceSearch, through boto3 and the handler, on moto."""
    import boto3
    from moto import mock_aws

    from facesearch import services
    from local.provision import create_bucket, create_table
    from tests.conftest import ENVIRONMENT, REGION, make_client

    service_log = Path(tempfile.mkstemp(prefix="facesearch-bench-video-", suffix=".log")[1])
    log(f"  the service's own log lines (powertools JSON) go to {service_log}, kept if the job fails")
    with environment({**ENVIRONMENT, "FACESEARCH_INTRA_OP_THREADS": "1"}), counted_atomic_moto() as counts, \
            mock_aws(), open(service_log, "w") as sink, contextlib.redirect_stdout(sink):
        services.reset()
        try:
            s3 = boto3.client("s3", region_name=REGION)
            create_table(boto3.client("dynamodb", region_name=REGION), ENVIRONMENT["TABLE_NAME"])
            for bucket in (ENVIRONMENT["BUCKET_NAME"], BUCKET):
                create_bucket(s3, bucket, REGION)
            s3.upload_file(str(video), BUCKET, video.name)
            rekognition = make_client()
            rekognition.create_collection(CollectionId="bench-video")
            face_ids = {}
            for label, photo in people.indexed.items():
                record = rekognition.index_faces(CollectionId="bench-video", Image={"Bytes": photo.read_bytes()},
                                                 ExternalImageId=label, MaxFaces=1)
                face_ids[label] = record["FaceRecords"][0]["Face"]["FaceId"]
            counts.clear()
            started = time.perf_counter()
            job_id = rekognition.start_face_search(Video={"S3Object": {"Bucket": BUCKET, "Name": video.name}},
                                                   CollectionId="bench-video", FaceMatchThreshold=threshold)["JobId"]
            wait_for_job(services.services().launcher, started, timeout)
            persons, pages, metadata, token = [], 0, {}, ""
            while True:
                page = rekognition.get_face_search(JobId=job_id, NextToken=token, MaxResults=1000)
                if page["JobStatus"] != "SUCCEEDED":
                    raise SystemExit(f"the job ended {page['JobStatus']}: {page.get('StatusMessage')}")
                persons += page["Persons"]
                pages, metadata, token = pages + 1, page["VideoMetadata"], page.get("NextToken", "")
                if not token:
                    break
            run = JobRun(persons, face_ids, metadata, Counter(counts), time.perf_counter() - started, pages)
        finally:
            services.reset()
    service_log.unlink()
    return run


def wait_for_job(launcher: Any, started: float, timeout: float) -> None:
    while not launcher.wait_idle(15):
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"the video job did not finish within {timeout:.0f} s")
        log(f"  job running, {time.perf_counter() - started:.0f} s")


def box_of(entry: dict[str, Any]) -> scene.Box:
    box = entry["Person"]["BoundingBox"]
    return box["Left"], box["Top"], box["Width"], box["Height"]


def iou(a: scene.Box, b: scene.Box) -> float:
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0.0, width) * max(0.0, height)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@dataclass
class PersonScore:
    label: str
    face_px: list[float]
    samples: int = 0  # on screen
    cut: int = 0  # on screen, partly outside the frame
    detected: int = 0  # an entry on the face
    matched: int = 0
    matched_cut: int = 0
    seconds: set[int] = field(default_factory=set)
    seconds_matched: set[int] = field(default_factory=set)
    indexes: set[int] = field(default_factory=set)
    similarities: list[float] = field(default_factory=list)
    missed_at: list[int] = field(default_factory=list)  # on screen, not matched (ms)


@dataclass
class FalseMatch:
    t_ms: int
    where: str  # "E2's face", "S3's face (stranger)", "no face (nobody on screen)", ...
    named: str  # the label the FaceMatch names
    similarity: float


@dataclass
class Score:
    people: dict[str, PersonScore]
    false_matches: list[FalseMatch]
    empty_samples: int = 0
    empty_entries: int = 0
    stranger_only_samples: int = 0
    unplaced_entries: int = 0


def score(run: JobRun, truth: scene.GroundTruth, duration_ms: int, threshold: float) -> Score:
    labels = {face_id: label for label, face_id in run.face_ids.items()}
    result = Score({label: PersonScore(label, truth.face_px(label))
                    for label in sorted({label for label, _ in truth.schedule})}, [])
    by_time: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entry in run.persons:
        by_time[int(entry["Timestamp"])].append(entry)
    for t in range(0, duration_ms, STEP_MS):
        score_sample(result, t, by_time.get(t, []), truth, labels, threshold)
    return result


def score_sample(result: Score, t: int, entries: Sequence[dict[str, Any]], truth: scene.GroundTruth,
                 labels: dict[str, str], threshold: float) -> None:
    on_screen = truth.at(t)
    visible = truth.at(t, minimum=1e-9)  # a sliver of a face may still be found: never a place "with no face"
    if not on_screen:
        result.empty_samples += 1
        result.empty_entries += len(entries)
    elif all(person.label.startswith("S") for person in on_screen):
        result.stranger_only_samples += 1
    for person in on_screen:
        stats = result.people[person.label]
        stats.samples += 1
        stats.cut += person.visible < 1.0
        stats.seconds.add(t // 1000)
    matched_here: set[str] = set()
    for entry in entries:
        place = max(visible, key=lambda person: iou(box_of(entry), person.box), default=None)
        placed = place.label if place is not None and iou(box_of(entry), place.box) >= MIN_IOU else None
        result.unplaced_entries += placed is None
        if placed is not None and placed in result.people:
            result.people[placed].detected += any(p.label == placed for p in on_screen)
            result.people[placed].indexes.add(int(entry["Person"]["Index"]))
        matches = [(labels.get(m["Face"]["FaceId"], "?"), float(m["Similarity"]))
                   for m in entry.get("FaceMatches", []) if float(m["Similarity"]) >= threshold]
        matches.sort(key=lambda match: -match[1])
        if matches and placed is not None and matches[0][0] == placed:
            matched_here.add(placed)
            result.people[placed].similarities.append(matches[0][1])
        for named, similarity in matches:
            if named != placed:
                result.false_matches.append(FalseMatch(t, where(placed, on_screen), named, similarity))
    for person in on_screen:
        stats = result.people[person.label]
        if person.label in matched_here:
            stats.matched += 1
            stats.matched_cut += person.visible < 1.0
            stats.seconds_matched.add(t // 1000)
        elif not person.label.startswith("S"):
            stats.missed_at.append(t)


def where(placed: str | None, on_screen: Sequence[scene.OnScreen]) -> str:
    if placed is not None:
        return f"{placed}'s face" + (" (a stranger)" if placed.startswith("S") else "")
    if not on_screen:
        return "no face (nobody on screen)"
    if all(person.label.startswith("S") for person in on_screen):
        return "no face (only strangers on screen)"
    return "no face"


def pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "-"


def accuracy_report(run: JobRun, result: Score) -> tuple[str, bool]:
    rows = []
    enrolled = [s for label, s in result.people.items() if label.startswith("E")]
    for stats in result.people.values():
        stranger = stats.label.startswith("S")
        rows.append([
            stats.label + (" (stranger)" if stranger else ""),
            "/".join(f"{px:.0f}" for px in stats.face_px),
            len(stats.seconds),
            "-" if stranger else f"{len(stats.seconds_matched)} = "
                                 f"{pct(len(stats.seconds_matched), len(stats.seconds))}",
            stats.samples, f"{stats.detected}", f"{stats.matched}" if not stranger else "-",
            "-" if stranger else pct(stats.matched, stats.samples),
            "-" if stranger else f"{stats.matched_cut}/{stats.cut}",
            ",".join(map(str, sorted(stats.indexes))),
            f"{min(stats.similarities):.1f} / {statistics.median(stats.similarities):.1f}"
            if stats.similarities else "-",
        ])  # fmt: skip
    seconds = sum(len(s.seconds) for s in enrolled)
    seconds_matched = sum(len(s.seconds_matched) for s in enrolled)
    samples, matched = sum(s.samples for s in enrolled), sum(s.matched for s in enrolled)
    rows.append(["enrolled, all", "", seconds, f"{seconds_matched} = {pct(seconds_matched, seconds)}", samples,
                 sum(s.detected for s in enrolled), matched, pct(matched, samples),
                 f"{sum(s.matched_cut for s in enrolled)}/{sum(s.cut for s in enrolled)}", "", ""])
    header = ["person", "face px (720p)", "s on screen", "s matched", "samples", "detected", "matched",
              "per sample", "matched/cut", "Person.Index", "Sim min / median"]
    lines = [table(f"Accuracy at FaceMatchThreshold {THRESHOLD:.0f}: {len(run.persons)} Persons entries in "
                   f"{run.pages} page(s), job {run.wall_seconds:.0f} s wall", header, rows)]
    lines.append(f"samples with nobody on screen: {result.empty_samples} ({result.empty_entries} entries there); "
                 f"with only strangers: {result.stranger_only_samples}; entries on no face: "
                 f"{result.unplaced_entries}")
    lines.append(f"false matches at >= {THRESHOLD:.0f}: {len(result.false_matches)}")
    lines += [f"  {m.t_ms / 1000:6.1f} s  on {m.where}: named {m.named} at {m.similarity:.1f}"
              for m in result.false_matches[:20]]
    worst = min((len(s.seconds_matched) / len(s.seconds) for s in enrolled if s.seconds), default=0.0)
    passed = worst >= TARGET_SECONDS_SHARE and not result.false_matches
    lines.append(f"{'PASS' if passed else 'FAIL'}: worst enrolled person matched in {100 * worst:.1f} % of their "
                 f"seconds on screen (target >= {100 * TARGET_SECONDS_SHARE:.0f} %), "
                 f"{len(result.false_matches)} false matches (target 0)")
    for stats in enrolled:
        if stats.missed_at:
            lines.append(f"  {stats.label} not matched at (s): "
                         + " ".join(f"{t / 1000:.1f}" for t in stats.missed_at[:40])
                         + (" ..." if len(stats.missed_at) > 40 else ""))
    return "\n".join(lines), passed


def faces_in_photos(pipeline: FacePipeline, photos: Sequence[Path]) -> dict[Path, scene.Box]:
    """Each photo's largest face as fractions of the photo (the ground truth's face boxes)."""
    boxes = {}
    for photo in photos:
        faces = pipeline.analyze(decode_image(photo.read_bytes()), with_embeddings=False)
        if not faces:
            raise SystemExit(f"no face found in {photo}")
        box = faces[0].bounding_box
        boxes[photo] = (box.left, box.top, box.width, box.height)
    return boxes


# --- speed: CPU per second of video, the video path against its baselines --------------------------------------


class TimedPipeline:
    """The pipeline, its analyze() calls timed in CPU seconds."""

    def __init__(self, inner: FacePipeline) -> None:
        self.inner, self.seconds, self.faces = inner, 0.0, 0

    def analyze(self, image: Any, with_embeddings: bool = True) -> Any:
        start = time.process_time()
        try:
            faces = self.inner.analyze(image, with_embeddings=with_embeddings)
            self.faces += len(faces)
            return faces
        finally:
            self.seconds += time.process_time() - start


@contextlib.contextmanager
def timed_sampler() -> Iterator[list[float]]:
    """sampling.sample_frames, the frames' decoding timed in CPU seconds (the first item of the yielded list)."""
    original, spent = vars(sampling)["sample_frames"], [0.0]

    def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
        frames = original(*args, **kwargs)
        while True:
            start = time.process_time()
            try:
                item = next(frames)
            except StopIteration:
                spent[0] += time.process_time() - start
                return
            spent[0] += time.process_time() - start
            yield item

    setattr(sampling, "sample_frames", timed)  # noqa: B010 (the module's own name for the decoder)
    try:
        yield spent
    finally:
        setattr(sampling, "sample_frames", original)  # noqa: B010


@dataclass
class Tally:
    """CPU (and wall) seconds of one contender, summed over rounds, by part."""

    parts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    wall: float = 0.0
    video_seconds: float = 0.0
    samples: int = 0
    faces: int = 0
    per_round: list[float] = field(default_factory=list)  # CPU s per video s of each round

    def add(self, parts: dict[str, float], wall: float, video_seconds: float, samples: int, faces: int) -> None:
        for name, seconds in parts.items():
            self.parts[name] += seconds
        self.wall += wall
        self.video_seconds += video_seconds
        self.samples += samples
        self.faces += faces
        self.per_round.append(parts["total"] / video_seconds)

    def per_video_second(self, part: str = "total") -> float:
        return self.parts[part] / self.video_seconds

    def per_sample_ms(self, part: str = "total") -> float:
        return 1000 * self.parts[part] / max(self.samples, 1)


@contextlib.contextmanager
def served(video: Path) -> Iterator[str]:
    """The video as the worker gives it to FFmpeg: a file object behind the loopback HTTP bridge (its CPU, in
    this process's threads, counts in process_time like the decoder's)."""
    with open(video, "rb") as file, HttpBridge(file, video.stat().st_size) as url:
        yield url


def decode_only(video: Path, start: int, end: int) -> tuple[dict[str, float], int, int]:
    with served(video) as url:
        begin = time.process_time()
        count = sum(1 for _ in sample_frames(url, start, end, STEP_MS))
        return {"total": time.process_time() - begin}, count, 0


def seek_per_sample(video: Path, start: int, end: int) -> tuple[dict[str, float], int, int]:
    """The frames the sampler takes, each found by its own seek (OpenCV decodes from the keyframe before it)."""
    with served(video) as url:
        begin = time.process_time()
        capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
        count = 0
        for target in range(start, end, STEP_MS):
            capture.set(cv2.CAP_PROP_POS_MSEC, float(target))
            ok, bgr = capture.read()
            if ok:
                cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                count += 1
        capture.release()
        return {"total": time.process_time() - begin}, count, 0


def video_path(video: Path, start: int, end: int, pipeline: FacePipeline) -> tuple[dict[str, float], int, int]:
    timed = TimedPipeline(pipeline)
    services = SimpleNamespace(pipeline=lambda: timed)
    job = VideoJob(job_id="bench", api=jobs.SEARCH, video=VideoRef("bench", video.name), created_at=0.0,
                   deadline=0.0, expires_at=0.0)
    with timed_sampler() as decode, served(video) as url:
        begin = time.process_time()
        samples = sampling.sample_segment(services, job, url, Segment(0, start, end),  # type: ignore[arg-type]
                                          STEP_MS)
        total = time.process_time() - begin
    parts = {"total": total, "decode": decode[0], "faces": timed.seconds,
             "records": total - decode[0] - timed.seconds}
    return parts, len(samples), timed.faces


def image_path(jpegs: Sequence[bytes], pipeline: FacePipeline) -> tuple[dict[str, float], int, int]:
    detect = embed = 0.0
    faces_seen = 0
    for data in jpegs:
        begin = time.process_time()
        image = decode_image(data)
        faces = pipeline.analyze(image, with_embeddings=False)
        _ = [render.face_detail(face) for face in faces]
        middle = time.process_time()
        pipeline.embedded(faces)
        embed += time.process_time() - middle
        detect += middle - begin
        faces_seen += len(faces)
    return {"total": detect + embed, "DetectFaces": detect, "embed": embed}, len(jpegs), faces_seen


def jpegs_of(video: Path, start: int, end: int) -> list[bytes]:
    out = []
    for _, pixels in sample_frames(str(video), start, end, STEP_MS):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=JPEG_QUALITY)
        out.append(buffer.getvalue())
    return out


CONTENDERS = ("decode only", "seek per sample", "video path", "image path")


def run_contender(name: str, video: Path, start: int, end: int, jpegs: Sequence[bytes], pipeline: FacePipeline
                  ) -> tuple[dict[str, float], int, int]:
    if name == "decode only":
        return decode_only(video, start, end)
    if name == "seek per sample":
        return seek_per_sample(video, start, end)
    if name == "video path":
        return video_path(video, start, end, pipeline)
    return image_path(jpegs, pipeline)


def measure_speed(videos: dict[str, Path], pipeline: FacePipeline, rounds: int, chunk_ms: int,
                  duration_ms: int, contenders: Sequence[str] = CONTENDERS) -> dict[str, dict[str, Tally]]:
    """Round r analyses chunk r (mod the video) at every size with every contender, alternating."""
    tallies: dict[str, dict[str, Tally]] = {size: {name: Tally() for name in contenders} for size in videos}
    chunks = max(1, duration_ms // chunk_ms)
    for r in range(rounds):
        start = (r % chunks) * chunk_ms
        end = min(start + chunk_ms, duration_ms)
        sizes = list(videos) if r % 2 == 0 else list(videos)[::-1]
        for size in sizes:
            jpegs = jpegs_of(videos[size], start, end)  # outside the timing
            for name in [*contenders[r % len(contenders):], *contenders[:r % len(contenders)]]:
                wall = time.perf_counter()
                parts, samples, faces = run_contender(name, videos[size], start, end, jpegs, pipeline)
                tallies[size][name].add(parts, time.perf_counter() - wall, (end - start) / 1000, samples, faces)
            last = {name: tally.per_round[-1] for name, tally in tallies[size].items()}
            log(f"  round {r + 1}/{rounds} {size} {start / 1000:.0f}-{end / 1000:.0f} s: "
                + ", ".join(f"{name} {value:.3f}" for name, value in last.items())
                + f" s/s (load {os.getloadavg()[0]:.1f})")
    return tallies


def speed_report(tallies: dict[str, dict[str, Tally]]) -> str:
    header = ["CPU (one thread)", *[f"{size} s/s" for size in tallies], *[f"{size} ms/sample" for size in tallies]]
    lines = [("decode only (sampler: every frame decoded, 1 in 5 converted)", "decode only", "total"),
             ("decode by seeking to each sample instead", "seek per sample", "total"),
             ("video path, total (= the worker's segment analysis)", "video path", "total"),
             ("  of which decode", "video path", "decode"),
             ("  of which face pipeline (detect + align + embed)", "video path", "faces"),
             ("  of which sample records", "video path", "records"),
             ("image path: DetectFaces work on the frames as JPEG", "image path", "DetectFaces"),
             ("image path + embedding every face", "image path", "total")]
    rows = [[label, *[f"{tallies[s][name].per_video_second(part):.3f}" for s in tallies],
             *[f"{tallies[s][name].per_sample_ms(part):.1f}" for s in tallies]] for label, name, part in lines
            if all(name in by_name for by_name in tallies.values())]
    out = [table("Speed: CPU seconds per second of video (s/s) and per sample, 5 samples a second", header, rows)]
    for size, by_name in tallies.items():
        video, image, decode = by_name["video path"], by_name["image path"], by_name["decode only"]
        seek = by_name.get("seek per sample")
        seeking = f", x{seek.parts['total'] / decode.parts['total']:.1f} by seeking per sample" if seek else ""
        spread = f"{min(video.per_round):.3f}-{max(video.per_round):.3f}"
        out.append(
            f"{size}: video path {video.per_video_second():.3f} s/s (rounds {spread}; wall/CPU "
            f"{video.wall / video.parts['total']:.2f}); x{video.per_video_second() / image.per_video_second():.2f} "
            f"the image path with embeddings, x{video.parts['total'] / image.parts['DetectFaces']:.2f} DetectFaces "
            f"work; decode is {100 * video.parts['decode'] / video.parts['total']:.0f} % of it (decode only "
            f"{decode.per_video_second():.3f} s/s{seeking}); {video.samples} samples, "
            f"{video.faces / max(video.samples, 1):.2f} faces a sample")
    return "\n".join(out)


# --- cost per video hour ---------------------------------------------------------------------------------------


def cost_report(tallies: dict[str, dict[str, Tally]], run: JobRun | None, args: argparse.Namespace,
                prices: Prices) -> str:
    gb = args.memory_mb / 1024
    vcpus = args.memory_mb / 1769
    rekognition = 60 * prices.rekognition_video_minute
    requests_cost, request_note = request_costs(run, args, prices)
    lines = [f"Lambda arm64 at {args.memory_mb} MB ({vcpus:.2f} vCPU, {gb:.3f} GB) ${prices.lambda_gb_second} per "
             f"GB-s; Rekognition stored video ${prices.rekognition_video_minute:.2f}/min = ${rekognition:.2f} per "
             f"video hour (the commonly quoted list price).",
             "x86 here -> arm64 Lambda is an estimate, not a measurement: research/video.md derates 2-3x per vCPU; "
             "billed time runs from CPU / vCPUs (every vCPU busy) to CPU / 1 (one core busy).",
             request_note]
    rows = []
    for size, by_name in tallies.items():
        cpu_hour = by_name["video path"].per_video_second() * 3600
        for derate in (1.0, 2.0, 3.0):
            best = cpu_hour * derate / max(vcpus, 1.0) * gb * prices.lambda_gb_second + requests_cost
            worst = cpu_hour * derate * gb * prices.lambda_gb_second + requests_cost
            rows.append([f"{size}, arm64 = {derate:.0f}x x86 CPU" + (" (as measured)" if derate == 1 else ""),
                         f"{cpu_hour * derate:,.0f}", f"${best:.3f} - ${worst:.3f}",
                         f"{rekognition / worst:.0f}x - {rekognition / best:.0f}x"])
    header = ["per video hour", "CPU s", "Lambda + requests", "Rekognition / this"]
    return "\n".join([table("Cost per video hour (projected)", header, rows), *lines])


def request_costs(run: JobRun | None, args: argparse.Namespace, prices: Prices) -> tuple[float, str]:
    """Requests per video hour: Lambda invocations (StartFaceSearch, plan, one per segment, merge, and the
    GetFaceSearch pages), and the S3 / DynamoDB requests of the accuracy job scaled from its minute (an upper
    bound: its fixed per-job requests are counted 60 times)."""
    segments = math.ceil(3600 / args.segment_seconds)
    if run is None:
        invocations = 1 + 1 + segments + 1 + 1
        return invocations * prices.lambda_request, f"requests: {invocations} invocations an hour (no job run)"
    minutes = run.metadata["DurationMillis"] / 60000
    scale = 60 / minutes
    pages = math.ceil(scale * len(run.persons) / 1000)  # GetFaceSearch pages of 1,000 (API function)
    invocations = 1 + 1 + segments + 1 + pages
    s3_get = sum(n for op, n in run.requests.items() if op in ("s3.GetObject", "s3.HeadObject"))
    s3_put = sum(n for op, n in run.requests.items() if op.startswith("s3.") and op not in
                 ("s3.GetObject", "s3.HeadObject"))
    writes = sum(n for op, n in run.requests.items() if op.startswith("dynamodb.")
                 and any(word in op for word in ("Put", "Update", "Delete", "Write", "Transact")))
    reads = sum(n for op, n in run.requests.items() if op.startswith("dynamodb.")) - writes
    cost = (invocations * prices.lambda_request + scale * (s3_get * prices.s3_get + s3_put * prices.s3_put
            + writes * prices.dynamodb_write + reads * prices.dynamodb_read))
    seen = ", ".join(f"{op} {n}" for op, n in sorted(run.requests.items()))
    return cost, (f"requests in the {minutes:.0f}-minute job: {seen}; per video hour (x{scale:.0f}, one request "
                  f"unit each) with {invocations} Lambda invocations (segments of {args.segment_seconds} s): "
                  f"${cost:.5f}")


# --- main --------------------------------------------------------------------------------------------------------


def load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=12, help="speed rounds (round r times chunk r of the video)")
    parser.add_argument("--chunk-seconds", type=int, default=10, help="video seconds a speed round analyses")
    parser.add_argument("--memory-mb", type=int, default=3008, help="the worker's memory (VideoWorkerMemory)")
    parser.add_argument("--segment-seconds", type=int, default=180, help="VideoSegmentSeconds")
    parser.add_argument("--job-timeout", type=float, default=1800)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-seek", action="store_true", help="leave out the seek-per-sample baseline (over half "
                        "of the speed part's time)")
    args = parser.parse_args(argv)
    shared = shared_dir()
    if shared is None:
        print("SKIP: the shared face sets are missing (../shared or $FACESEARCH_SHARED)")
        return 0
    cv2.setNumThreads(1)
    pipeline = get_pipeline(Settings.from_env().model_dir, 1)
    people = scene.cast(shared)
    print(f"load average at start {load_average()}")
    videos = {size: scene.video(people, dimensions) for size, dimensions in SIZES.items()}
    for size, path in videos.items():
        print(f"{size}: {path.name}, {path.stat().st_size / 1e6:.1f} MB "
              f"({8 * path.stat().st_size / scene.SECONDS / 1e6:.1f} Mbit/s)")
    duration_ms = int(scene.SECONDS * 1000)
    run = None
    passed = True
    if not args.skip_accuracy:
        photos = [*people.enrolled.values(), *people.strangers.values()]
        truth = scene.GroundTruth(people, faces_in_photos(pipeline, photos))
        log("accuracy: IndexFaces of 5 neutral photos, StartFaceSearch on the 720p video, GetFaceSearch")
        run = run_search_job(videos["720p"], people, THRESHOLD, args.job_timeout)
        report, passed = accuracy_report(run, score(run, truth, duration_ms, THRESHOLD))
        print(f"\n{report}\nload average after the job {load_average()}")
    tallies = None
    if not args.skip_speed:
        contenders = [name for name in CONTENDERS if not (args.skip_seek and name == "seek per sample")]
        log(f"speed: {args.rounds} rounds of {args.chunk_seconds} s chunks, {len(contenders)} contenders x "
            f"{len(videos)} sizes")
        tallies = measure_speed(videos, pipeline, args.rounds, args.chunk_seconds * 1000, duration_ms, contenders)
        print(f"\n{speed_report(tallies)}")
        cpu = tallies["720p"]["video path"].per_video_second()
        verdict = "PASS" if cpu <= TARGET_CPU_PER_VIDEO_SECOND else "FAIL"
        print(f"{verdict}: 720p at 5 samples a second costs {cpu:.3f} s of CPU per second of video on one core "
              f"(target <= {TARGET_CPU_PER_VIDEO_SECOND:.1f})")
        passed = passed and cpu <= TARGET_CPU_PER_VIDEO_SECOND
        print(f"\n{cost_report(tallies, run, args, Prices())}")
    print(f"\nload average at the end {load_average()}; {'all targets met' if passed else 'a target is missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
