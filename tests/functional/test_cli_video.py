"""`facesearch video` through `main()` against the in-process service: the command's own boto3 clients, its
Rekognition calls delivered to the Lambda handler (the conftest's HandlerTransport), S3 in moto, the jobs on
the in-process launcher's threads, as under `make serve`.

The facesearch key pair sits in a profile (`--profile facesearch`) and S3 takes the environment's keys, as a
user with both would run it. Polling is sped up (the command polls every 2-5 s).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from facesearch import services
from facesearch_cli import video, video_command
from facesearch_cli.clients import Connection
from facesearch_cli.main import main
from tests.conftest import ACCESS_KEY_ID, ANNA, ENDPOINT, FIXTURES, SECRET_ACCESS_KEY, HandlerTransport, photo
from tests.fixtures.video.synth import Appearance, make_video

BUCKET = "facesearch-test-inputs"  # one of the deployment's InputBuckets
ANNA_IN_VIDEO = FIXTURES / "london_021_smiling.jpg"  # indexed as london_021_neutral.jpg
STRANGER_IN_VIDEO = FIXTURES / "london_025_smiling.jpg"  # never indexed
# Anna 0-2 s, the stranger 1-3 s
SCHEDULE = (Appearance(ANNA_IN_VIDEO, 0.0, 2.0, x=0.3, height=0.7),
            Appearance(STRANGER_IN_VIDEO, 1.0, 3.0, x=0.72, height=0.7))
SERVICE_LINES = ('{"_aws"', '{"level"')
RANGE = re.compile(r"(\d\d):(\d\d)\.(\d)-(\d\d):(\d\d)\.(\d)")

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {"people.mp4": make_video(folder / "people.mp4", SCHEDULE, 3.0),
            "mpeg4.mp4": make_video(folder / "mpeg4.mp4", SCHEDULE[:1], 1.0, codec="mpeg4")}


@pytest.fixture
def facesearch(aws, monkeypatch, tmp_path, capsys) -> Iterator[Run]:  # type: ignore[no-untyped-def]
    """Run the command in this process: facesearch(*argv) -> (exit status, stdout, stderr)."""
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[facesearch]\naws_access_key_id = {ACCESS_KEY_ID}\n"
                           f"aws_secret_access_key = {SECRET_ACCESS_KEY}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_REKOGNITION"):
        monkeypatch.delenv(name, raising=False)
    made = Connection.rekognition

    def in_process(self: Connection) -> object:
        client = made(self)
        client.meta.events.register("before-send.rekognition", HandlerTransport())
        return client

    monkeypatch.setattr(Connection, "rekognition", in_process)
    monkeypatch.setattr(video, "POLL_FIRST", 0.05)
    monkeypatch.setattr(video, "POLL_MAX", 0.2)
    monkeypatch.setattr(video_command, "TICK", 0.05)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--profile", "facesearch", "--endpoint-url", ENDPOINT])
        captured = capsys.readouterr()  # less the service's metric (EMF) and log lines: they share this stdout
        out = "".join(line for line in captured.out.splitlines(keepends=True)
                      if not line.startswith(SERVICE_LINES))
        return code, out, captured.err

    yield run
    assert services.services().launcher.wait_idle(120), "video work did not finish"


@pytest.fixture
def collection(rekognition) -> str:  # type: ignore[no-untyped-def]
    rekognition.create_collection(CollectionId="people")
    rekognition.index_faces(CollectionId="people", Image={"Bytes": photo(ANNA)}, ExternalImageId="anna")
    return "people"


def job_of(stderr: str) -> str:
    found = re.search(r"job ([0-9a-f]{64}) on s3://", stderr)
    assert found, stderr
    return found.group(1)


def seconds(match: re.Match[str], first: int) -> float:
    minutes, whole, tenth = (int(part) for part in match.groups()[first:first + 3])
    return minutes * 60 + whole + tenth / 10


def test_video_search_uploads_once_attaches_to_its_job_and_prints_each_persons_times_and_match(
        facesearch, collection, clips, aws):
    command = ("video", "search", str(clips["people.mp4"]), "--collection", collection, "--bucket", BUCKET)
    code, out, err = facesearch(*command)
    assert code == 0, err
    assert "upload people.mp4" in err and "face search job" in err  # the bars on stderr
    job_id = job_of(err)
    [key] = [entry["Key"] for entry in aws["s3"].list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert re.fullmatch(r"facesearch-video/[0-9a-f]{16}/people\.mp4", key)
    assert aws["s3"].head_object(Bucket=BUCKET, Key=key)["Metadata"]["sha256"].startswith(key.split("/")[1])

    assert out.startswith(f"s3://{BUCKET}/{key}: 3.0 s, 640x360, 25 fps, h264\n")
    assert "2 people seen in" in out and "1 of them matching the collection" in out
    rows = [line for line in out.splitlines() if re.match(r"\d+\s", line)]
    [anna] = [row for row in rows if " anna " in row]
    [stranger] = [row for row in rows if "no match" in row]
    assert re.search(r" anna\s+(9\d|100)\.\d\d\s+[0-9a-f-]{36}$", anna), out  # best Similarity and FaceId
    span = RANGE.search(anna)
    assert span and seconds(span, 0) <= 0.2 and 1.6 <= seconds(span, 3) < 2.0, anna  # on screen 0-2 s
    span = RANGE.search(stranger)
    assert span and 1.0 <= seconds(span, 0) <= 1.2 and 2.6 <= seconds(span, 3) < 3.0, stranger  # 1-3 s

    code, lines, err = facesearch(*command, "--json")  # the same video and parameters: no upload, the same job
    assert code == 0 and job_of(err) == job_id and "had ended before" in err
    assert "holds people.mp4 already: not uploaded again" in err and "upload people.mp4" not in err
    pages = [json.loads(line) for line in lines.splitlines()]
    assert pages[0]["JobStatus"] == "SUCCEEDED" and pages[0]["JobId"] == job_id
    indexes = [person["Person"]["Index"] for page in pages for person in page["Persons"]]
    assert indexes == sorted(indexes) and len(set(indexes)) == 2  # SortBy INDEX

    code, later, _ = facesearch("video", "results", job_id)
    assert code == 0 and later == out


def last_line(stderr: str) -> str:
    """The command's own message (the in-process service may log to stderr too)."""
    return stderr.strip().splitlines()[-1]


def test_video_faces_failed_jobs_ctrl_c_and_errors(facesearch, clips, aws, monkeypatch):
    aws["s3"].upload_file(str(clips["people.mp4"]), BUCKET, "clips/people.mp4")
    code, out, err = facesearch("video", "faces", f"s3://{BUCKET}/clips/people.mp4")
    assert code == 0, err
    assert "faces in" in out and "upload" not in err
    rows = [line.split() for line in out.splitlines() if RANGE.match(line)]
    assert [int(row[1]) for row in rows][:3] == [1, 2, 1], out  # Anna; Anna and the stranger; the stranger
    middle = RANGE.match(rows[1][0])
    assert middle and 1.0 <= seconds(middle, 0) <= 1.2 and 1.6 <= seconds(middle, 3) < 2.0, out
    first_job = job_of(err)

    aws["s3"].upload_file(str(clips["mpeg4.mp4"]), BUCKET, "clips/mpeg4.mp4")
    code, out, err = facesearch("video", "faces", f"s3://{BUCKET}/clips/mpeg4.mp4")
    assert code == 1 and out == "", repr(out)
    assert re.fullmatch(r"facesearch: job [0-9a-f]{64} FAILED: Unsupported codec mpeg4.*--new-job.*",
                        last_line(err)), err

    def ctrl_c(*_: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(video, "wait", ctrl_c)
        code, out, err = facesearch("video", "faces", f"s3://{BUCKET}/clips/people.mp4", "--new-job")
    job_id = job_of(err)
    assert code == 130 and job_id != first_job
    assert "goes on in the service" in err and f"facesearch video results {job_id}" in err
    code, later, _ = facesearch("video", "results", job_id)  # the job went on: its results
    assert code == 0 and "faces in" in later and RANGE.search(later)

    code, _, err = facesearch("video", "search", str(clips["people.mp4"]), "--collection", "people")
    assert code == 2 and last_line(err).startswith("facesearch: a local FILE is uploaded first: name the bucket")
    code, _, err = facesearch("video", "search", f"s3://{BUCKET}/missing.mp4", "--collection", "people")
    assert code == 2 and last_line(err) == f"facesearch: s3://{BUCKET}/missing.mp4: no such object"
    code, _, err = facesearch("video", "results", "0" * 64)
    assert code == 2 and last_line(err) == f"facesearch: ResourceNotFoundException: The job id: {'0' * 64} " \
                                           "does not exist"
