"""Stored-video face operations through boto3, as botocore's model and its documentation describe them.

The videos are made at test time (tests/fixtures/video/synth.py) from the CC-BY fixture photos, so every
face's time on screen is known; jobs run on the in-process launcher's threads, as under `make serve`, with
4-second segments so that a 10-second video is cut into three analysed apart.
"""

from __future__ import annotations

import functools
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from facesearch import services
from tests.conftest import ANNA, FIXTURES, photo
from tests.fixtures.video.synth import Appearance, make_video

ANNA_IN_VIDEO = FIXTURES / "london_021_smiling.jpg"  # indexed as london_021_neutral.jpg
CARL = "london_024_neutral.jpg"
CARL_IN_VIDEO = FIXTURES / "london_024_smiling.jpg"
STRANGER_IN_VIDEO = FIXTURES / "london_025_smiling.jpg"  # never indexed
BUCKET = "facesearch-test-inputs"
# Anna 0-4 s, Carl 3-7 s (both 3-4 s), nobody 7-8 s, Anna again 8-10 s; the stranger 5.5-7 s.
SCHEDULE = (
    Appearance(ANNA_IN_VIDEO, 0.0, 4.0, x=0.3, height=0.7),
    Appearance(CARL_IN_VIDEO, 3.0, 7.0, x=0.72, height=0.7),
    Appearance(STRANGER_IN_VIDEO, 5.5, 7.0, x=0.25, height=0.6),
    Appearance(ANNA_IN_VIDEO, 8.0, 10.0, x=0.5, height=0.7),
)
SECONDS = 10.0


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {
        "people.mp4": make_video(folder / "people.mp4", SCHEDULE, SECONDS),
        "mpeg4.mp4": make_video(folder / "mpeg4.mp4", SCHEDULE[:1], 2.0, codec="mpeg4"),
        "short.mov": make_video(folder / "short.mov", SCHEDULE[:1], 2.0, container="mov", faststart=True),
    }


@pytest.fixture
def video_env(aws, videos, monkeypatch) -> Iterator[dict[str, object]]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FACESEARCH_VIDEO_SEGMENT_SECONDS", "4")
    services.reset()
    s3 = aws["s3"]
    for name, path in videos.items():
        s3.upload_file(str(path), BUCKET, name)
    s3.put_object(Bucket=BUCKET, Key="notavideo.mp4", Body=b"\x00\x00\x00\x18ftypmp42" + bytes(4000))
    yield aws
    wait()


def wait() -> None:
    assert services.services().launcher.wait_idle(300), "video work did not finish"


def video(name: str = "people.mp4") -> dict[str, dict[str, str]]:
    return {"S3Object": {"Bucket": BUCKET, "Name": name}}


def every_page(call, **kwargs) -> tuple[list[dict], list[dict]]:  # type: ignore[no-untyped-def]
    """(items of every page, the pages) from NextToken='' on, as AWS's own samples page."""
    member = "Persons" if call.__name__ == "get_face_search" else "Faces"
    pages, token = [], ""
    while True:
        page = call(NextToken=token, **kwargs)
        pages.append(page)
        token = page.get("NextToken", "")
        if not token:
            return [item for page in pages for item in page[member]], pages


def on_screen(t_ms: int) -> int:
    return sum(person.on_screen(t_ms / 1000) for person in SCHEDULE)


# --- StartFaceDetection / GetFaceDetection --------------------------------------------------------------


def test_face_detection_reports_every_face_at_each_sample_sorted_by_time(rekognition, video_env):
    job_id = rekognition.start_face_detection(Video=video())["JobId"]
    assert len(job_id) == 64 and rekognition.get_face_detection(JobId=job_id)["JobStatus"] in ("IN_PROGRESS",
                                                                                              "SUCCEEDED")
    wait()
    faces, pages = every_page(rekognition.get_face_detection, JobId=job_id, MaxResults=25)
    first = pages[0]
    assert first["JobStatus"] == "SUCCEEDED" and first["JobId"] == job_id and first["Video"] == video()
    assert first["VideoMetadata"] == {"Codec": "h264", "Format": "QuickTime / MOV", "DurationMillis": 10000,
                                      "FrameRate": 25.0, "FrameWidth": 640, "FrameHeight": 360,
                                      "ColorRange": "LIMITED"}
    assert all(page["VideoMetadata"] == first["VideoMetadata"] for page in pages)  # "in every page"
    times = [face["Timestamp"] for face in faces]
    assert times == sorted(times)
    by_time = Counter(times)
    samples = sorted(set(range(0, 10000, 200)))
    right = sum(by_time.get(t, 0) == on_screen(t) for t in samples)
    assert right >= 0.9 * len(samples), {t: (by_time.get(t, 0), on_screen(t)) for t in samples}
    assert set(faces[0]["Face"]) == {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality"}


def test_face_attributes_all_adds_the_measured_attributes_but_never_eye_direction(rekognition, video_env):
    job_id = rekognition.start_face_detection(Video=video("short.mov"), FaceAttributes="ALL")["JobId"]
    wait()
    result = rekognition.get_face_detection(JobId=job_id)
    assert result["VideoMetadata"]["Format"] == "QuickTime / MOV" and result["Faces"]
    detail = result["Faces"][0]["Face"]
    assert {"AgeRange", "Gender", "Smile", "EyesOpen", "MouthOpen", "Emotions"} <= set(detail)
    assert "EyeDirection" not in detail and "FaceOccluded" not in detail  # "will always be null"
    assert len(detail["Landmarks"]) == 30


def test_max_results_is_clamped_to_1000_and_tokens_belong_to_their_job(rekognition, video_env):
    first = rekognition.start_face_detection(Video=video())["JobId"]
    other = rekognition.start_face_detection(Video=video("short.mov"))["JobId"]
    wait()
    page = rekognition.get_face_detection(JobId=first, MaxResults=5000)  # "a maximum of 1000 results"
    assert "NextToken" not in page and len(page["Faces"]) > 2
    token = rekognition.get_face_detection(JobId=first, MaxResults=2)["NextToken"]
    with pytest.raises(rekognition.exceptions.InvalidPaginationTokenException):
        rekognition.get_face_detection(JobId=other, NextToken=token)
    with pytest.raises(rekognition.exceptions.InvalidPaginationTokenException):
        rekognition.get_face_detection(JobId=first, NextToken="not-a-token")


# --- StartFaceSearch / GetFaceSearch ---------------------------------------------------------------------


@pytest.fixture
def people(rekognition, video_env) -> dict[str, str]:  # type: ignore[no-untyped-def]
    rekognition.create_collection(CollectionId="people")
    faces = {}
    for name, image in (("anna", ANNA), ("carl", CARL)):
        record = rekognition.index_faces(CollectionId="people", Image={"Bytes": photo(image)}, ExternalImageId=name)
        faces[name] = record["FaceRecords"][0]["Face"]["FaceId"]
    return faces


def test_face_search_follows_each_person_through_the_video_and_matches_the_collection(rekognition, people):
    job_id = rekognition.start_face_search(Video=video(), CollectionId="people")["JobId"]
    wait()
    persons, pages = every_page(rekognition.get_face_search, JobId=job_id, MaxResults=40)
    assert pages[0]["JobStatus"] == "SUCCEEDED" and pages[0]["VideoMetadata"]["DurationMillis"] == 10000
    assert [p["Timestamp"] for p in persons] == sorted(p["Timestamp"] for p in persons)  # TIMESTAMP by default
    matched: dict[int, Counter[str]] = defaultdict(Counter)
    for person in persons:
        best = person["FaceMatches"][0]["Face"]["ExternalImageId"] if "FaceMatches" in person else None
        matched[person["Person"]["Index"]][best or "nobody"] += 1
        assert person["Person"]["BoundingBox"] == person["Person"]["Face"]["BoundingBox"]
        assert all(match["Similarity"] >= 80 for match in person.get("FaceMatches", []))
    names = {index: counts.most_common(1)[0][0] for index, counts in matched.items()}
    assert sorted(names.values()) == ["anna", "carl", "nobody"], matched  # Anna keeps her index after the gap
    for index, counts in matched.items():
        assert counts[names[index]] >= 0.9 * sum(counts.values()), matched
    anna = next(index for index, name in names.items() if name == "anna")
    anna_times = [p["Timestamp"] for p in persons if p["Person"]["Index"] == anna]
    assert min(anna_times) < 1000 and max(anna_times) > 8000
    by_index, _ = every_page(rekognition.get_face_search, JobId=job_id, SortBy="INDEX")
    assert [(p["Person"]["Index"], p["Timestamp"]) for p in by_index] == sorted(
        (p["Person"]["Index"], p["Timestamp"]) for p in persons)


def test_face_match_threshold_is_the_similarity_floor(rekognition, people):
    job_id = rekognition.start_face_search(Video=video("short.mov"), CollectionId="people",
                                           FaceMatchThreshold=99.9)["JobId"]
    wait()
    persons = rekognition.get_face_search(JobId=job_id)["Persons"]
    assert persons and all(m["Similarity"] >= 99.9 for p in persons for m in p.get("FaceMatches", []))


# --- the documented errors ---------------------------------------------------------------------------------


def test_an_unknown_collection_is_resource_not_found(rekognition, video_env):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.start_face_search(Video=video(), CollectionId="nobody")


@pytest.mark.parametrize("s3_object", [{"Bucket": BUCKET, "Name": "missing.mp4"},
                                       {"Bucket": "someone-elses-bucket", "Name": "people.mp4"}])
def test_a_missing_or_forbidden_object_is_invalid_s3_object(rekognition, video_env, s3_object):
    with pytest.raises(rekognition.exceptions.InvalidS3ObjectException):
        rekognition.start_face_detection(Video={"S3Object": s3_object})


def test_a_video_without_an_s3_object_is_an_invalid_parameter(rekognition, video_env):
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.start_face_detection(Video={})


def test_over_10_gb_is_video_too_large(rekognition, video_env, monkeypatch):
    from facesearch.video import plan

    monkeypatch.setattr(plan, "MAX_BYTES", 1000)  # the branch of a 10 GB object, with a small one
    with pytest.raises(rekognition.exceptions.VideoTooLargeException):
        rekognition.start_face_detection(Video=video())


def test_over_6_hours_is_video_too_large_from_the_header_alone(rekognition, video_env, tmp_path):
    import av

    path = tmp_path / "long.mp4"  # two tiny frames, seven hours apart: a 7-hour video of a few KB
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=1)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for pts in (0, 7 * 3600):
            frame = av.VideoFrame(160, 96, "yuv420p")
            frame.pts = pts
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    video_env["s3"].upload_file(str(path), BUCKET, "long.mp4")
    with pytest.raises(rekognition.exceptions.VideoTooLargeException):
        rekognition.start_face_detection(Video=video("long.mp4"))


def test_unknown_job_ids_and_the_other_operations_job_ids_are_resource_not_found(rekognition, video_env):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.get_face_detection(JobId="0" * 64)
    job_id = rekognition.start_face_detection(Video=video("short.mov"))["JobId"]
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.get_face_search(JobId=job_id)


@pytest.mark.parametrize(("name", "says"), [("mpeg4.mp4", "H.264"), ("notavideo.mp4", "Unsupported video")])
def test_a_video_that_is_not_h264_or_not_readable_ends_the_job_failed(rekognition, video_env, name, says):
    job_id = rekognition.start_face_detection(Video=video(name))["JobId"]
    wait()
    result = rekognition.get_face_detection(JobId=job_id)
    assert result["JobStatus"] == "FAILED" and says in result["StatusMessage"] and result["Faces"] == []


# --- ClientRequestToken ------------------------------------------------------------------------------------


def test_the_same_token_and_parameters_return_the_same_job_and_start_nothing(rekognition, video_env):
    first = rekognition.start_face_detection(Video=video("short.mov"), ClientRequestToken="once", JobTag="a")
    again = rekognition.start_face_detection(Video=video("short.mov"), ClientRequestToken="once", JobTag="a")
    assert first["JobId"] == again["JobId"]
    with pytest.raises(rekognition.exceptions.IdempotentParameterMismatchException):
        rekognition.start_face_detection(Video=video("short.mov"), ClientRequestToken="once", JobTag="b")
    rekognition.create_collection(CollectionId="c")
    other = rekognition.start_face_search(Video=video("short.mov"), ClientRequestToken="once", CollectionId="c")
    assert other["JobId"] != first["JobId"]  # the same token on the other Start operation is a new job
    wait()
    assert services.services().storage.video_jobs.running() == {}


# --- notices through SNS and SQS -------------------------------------------------------------------------


@pytest.fixture
def channel(video_env) -> Iterator[tuple[dict[str, str], object]]:  # type: ignore[no-untyped-def]
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="AmazonRekognitionFaces")["TopicArn"]
    queue = sqs.create_queue(QueueName="faces")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    role = "arn:aws:iam::123456789012:role/AmazonRekognitionNotices"
    yield {"SNSTopicArn": topic, "RoleArn": role}, (sqs, queue)


def notices(queue) -> list[dict]:  # type: ignore[no-untyped-def]
    sqs, url = queue
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(json.loads(message["Body"])["Message"]) for message in messages]


def test_the_end_of_a_job_is_published_once_in_rekognitions_format(rekognition, channel):
    notification, queue = channel
    job_id = rekognition.start_face_detection(Video=video("short.mov"), NotificationChannel=notification,
                                              JobTag="my-tag", ClientRequestToken="t1")["JobId"]
    rekognition.start_face_detection(Video=video("short.mov"), NotificationChannel=notification, JobTag="my-tag",
                                     ClientRequestToken="t1")  # a repeat: no second notice
    wait()
    (message,) = notices(queue)
    assert set(message) == {"JobId", "Status", "API", "JobTag", "Timestamp", "Video"}
    assert message["JobId"] == job_id and message["Status"] == "SUCCEEDED" and message["API"] == "StartFaceDetection"
    assert message["JobTag"] == "my-tag" and message["Video"] == {"S3ObjectName": "short.mov", "S3Bucket": BUCKET}
    assert isinstance(message["Timestamp"], int) and message["Timestamp"] > 1_700_000_000_000  # milliseconds


def test_a_failed_job_is_published_too(rekognition, channel):
    notification, queue = channel
    job_id = rekognition.start_face_detection(Video=video("mpeg4.mp4"), NotificationChannel=notification)["JobId"]
    wait()
    (message,) = notices(queue)
    assert message["JobId"] == job_id and message["Status"] == "FAILED" and "JobTag" not in message


# --- failures of the work itself ---------------------------------------------------------------------------


def test_a_segment_that_crashes_once_is_retried_without_duplicate_results(rekognition, video_env, monkeypatch):
    from facesearch.operations.video import sampling

    clean = rekognition.start_face_detection(Video=video())["JobId"]
    wait()
    original, crashed = sampling.sample_segment, []

    def crash_once(services_, job, video_, segment, step):  # type: ignore[no-untyped-def]
        if segment.index == 1 and not crashed:
            crashed.append(segment.index)
            raise ConnectionError("the worker lost its connection")
        return original(services_, job, video_, segment, step)

    monkeypatch.setattr(sampling, "sample_segment", crash_once)
    retried = rekognition.start_face_detection(Video=video())["JobId"]
    wait()
    assert crashed == [1]
    expected, _ = every_page(rekognition.get_face_detection, JobId=clean)
    got, _ = every_page(rekognition.get_face_detection, JobId=retried)
    assert [f["Timestamp"] for f in got] == [f["Timestamp"] for f in expected]


def test_a_segment_that_fails_every_attempt_ends_the_job_failed_and_frees_its_place(rekognition, video_env,
                                                                                   monkeypatch):
    from facesearch.operations.video import sampling

    def always(*_: object) -> None:
        raise ConnectionError("unreachable")

    monkeypatch.setattr(sampling, "sample_segment", always)
    job_id = rekognition.start_face_detection(Video=video())["JobId"]
    wait()
    result = rekognition.get_face_detection(JobId=job_id)
    assert result["JobStatus"] == "FAILED" and "segment step failed 3 times" in result["StatusMessage"]
    assert services.services().storage.video_jobs.running() == {}


# --- limits and deadlines -----------------------------------------------------------------------------------


class HeldLauncher:
    """A launcher that keeps the work: jobs stay running until the test says so."""

    def __init__(self) -> None:
        self.held: list[object] = []

    def launch(self, work, run_here, failed) -> None:  # type: ignore[no-untyped-def]
        self.held.append((work, run_here, failed))

    def wait_idle(self, timeout: float | None = None) -> bool:
        return True


@pytest.fixture
def held(video_env, monkeypatch) -> HeldLauncher:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FACESEARCH_VIDEO_JOB_LIMIT", "2")
    services.reset()
    launcher = HeldLauncher()

    @functools.cache
    def held_services() -> services.Services:
        return services.build_services(services.Settings.from_env(), launcher=launcher)

    monkeypatch.setattr(services, "services", held_services)
    return launcher


def run_job(held: HeldLauncher, job_id: str) -> None:
    """Run the held work of one job, and the work it launches, to its end."""
    while pending := [entry for entry in held.held if entry[0]["JobId"] == job_id]:  # type: ignore[index]
        held.held.remove(pending[0])
        work, run_here, _ = pending[0]  # type: ignore[misc]
        run_here(work)


class Later:
    """The clock the job records are judged by, moved on."""

    def __init__(self, seconds: float) -> None:
        import time as clock

        self.now = clock.time() + seconds

    def time(self) -> float:
        return self.now


def move_clock(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    from facesearch.operations.video import jobs
    from facesearch.storage import video_jobs

    later = Later(seconds)
    monkeypatch.setattr(video_jobs, "time", later)
    monkeypatch.setattr(jobs, "time", later)


def test_too_many_running_jobs_is_limit_exceeded(rekognition, held):
    first = rekognition.start_face_detection(Video=video())["JobId"]
    rekognition.start_face_detection(Video=video())
    with pytest.raises(rekognition.exceptions.LimitExceededException):
        rekognition.start_face_detection(Video=video())
    run_job(held, first)
    assert rekognition.get_face_detection(JobId=first)["JobStatus"] == "SUCCEEDED"
    rekognition.start_face_detection(Video=video())  # its place is free again


def test_a_job_past_its_deadline_reports_failed_and_frees_its_place(rekognition, held, monkeypatch):
    job_id = rekognition.start_face_detection(Video=video())["JobId"]
    rekognition.start_face_detection(Video=video())
    move_clock(monkeypatch, 2 * 24 * 3600)
    result = rekognition.get_face_detection(JobId=job_id)
    assert result["JobStatus"] == "FAILED" and result["StatusMessage"] == "The job did not finish in time."
    rekognition.start_face_detection(Video=video())  # the other late one is swept for the new one's place
    run_job(held, job_id)  # its lost worker turns up after all: the job stays FAILED
    assert rekognition.get_face_detection(JobId=job_id)["JobStatus"] == "FAILED"


def test_results_are_gone_after_seven_days(rekognition, video_env, monkeypatch):
    job_id = rekognition.start_face_detection(Video=video("short.mov"))["JobId"]
    wait()
    move_clock(monkeypatch, 7 * 24 * 3600 + 60)
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.get_face_detection(JobId=job_id)


# --- the worker function's entry point ----------------------------------------------------------------------


def test_the_worker_function_runs_phases_and_ends_jobs_its_failure_destination_gives_up_on(rekognition, held):
    import video_app

    from local.function_url_event import LambdaContext

    job_id = rekognition.start_face_detection(Video=video("short.mov"))["JobId"]
    (plan, _, _) = held.held.pop(0)  # type: ignore[misc]
    assert video_app.lambda_handler(plan, LambdaContext.fresh()) == {"done": "plan"}  # as Lambda invokes it
    segment = held.held.pop(0)[0]  # type: ignore[index]
    destination = {"version": "1.0", "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
                   "requestPayload": segment, "responsePayload": {"errorType": "Runtime.ExitError"}}
    answer = video_app.lambda_handler({"Records": [{"body": json.dumps(destination)}]}, LambdaContext.fresh())
    assert answer == {"failed": 1}
    result = rekognition.get_face_detection(JobId=job_id)
    assert result["JobStatus"] == "FAILED" and "segment step failed" in result["StatusMessage"]
