"""A worker reads only its own part of a video: S3 byte ranges through a seekable reader, or FFmpeg's own
ranged reads of a presigned URL (for objects too big for OpenCV's stream bridge); both give the same frames.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import numpy as np
import pytest

from facesearch.storage.input_objects import InputObjects, ObjectRef
from facesearch.vision.video_decoder import sample_frames
from local import backend as local_backend
from tests.conftest import FIXTURES
from tests.fixtures.video.synth import Appearance, make_video

SECONDS = 40.0
PEOPLE = [Appearance(FIXTURES / "london_021_smiling.jpg", 0.0, SECONDS, x=0.4, drift=0.3)]


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return make_video(tmp_path_factory.mktemp("reading") / "long.mp4", PEOPLE, SECONDS, size=(320, 240), grain=30)


@pytest.fixture(scope="module")
def moto_server(long_video) -> Iterator[object]:  # type: ignore[no-untyped-def]
    running = local_backend.start()
    s3 = boto3.client("s3", endpoint_url=running.endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket="videos")
    s3.upload_file(str(long_video), "videos", "long.mp4")
    yield s3
    running.stop()


def test_a_segment_in_the_middle_reads_a_fraction_of_the_file(moto_server, long_video):
    inputs = InputObjects(moto_server, lambda bucket: True)  # type: ignore[arg-type]
    with inputs.open(ObjectRef("videos", "long.mp4")) as reader:
        frames = list(sample_frames(reader, 20_000, 24_000, 200))
        assert [t for t, _ in frames] == list(range(20_000, 24_000, 200))
        assert reader.bytes_read < 0.35 * long_video.stat().st_size, (reader.bytes_read, reader.requests)
        assert reader.requests <= 12


def test_a_presigned_url_gives_the_same_frames_as_the_reader(moto_server):
    inputs = InputObjects(moto_server, lambda bucket: True)  # type: ignore[arg-type]
    ref = ObjectRef("videos", "long.mp4")
    with inputs.open(ref) as reader:
        streamed = list(sample_frames(reader, 30_000, 31_000, 200))
    fetched = list(sample_frames(inputs.url(ref), 30_000, 31_000, 200))
    assert [t for t, _ in fetched] == [t for t, _ in streamed] == list(range(30_000, 31_000, 200))
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(streamed, fetched, strict=True))
