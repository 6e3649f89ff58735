"""The `facesearch` command through its installed entry point, against `python -m local.serve`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.conftest import ANNA, ANNA_SMILING, BEN, CAT, FIXTURES, photo, side_by_side
from tests.fixtures.video.synth import Appearance, make_video
from tests.functional.serve_process import KEY_ID, SECRET, Served, serve

COMMAND = Path(sys.executable).parent / "facesearch"
pytestmark = pytest.mark.skipif(not COMMAND.exists(),
                                reason=f"the facesearch command is not installed in {COMMAND.parent} (make venv)")


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve() as running:
        yield running


def facesearch(served: Served, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the command as a user does: keys and endpoint from the standard AWS variables."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": served.url}
    env.pop("AWS_PROFILE", None)
    return subprocess.run([str(COMMAND), *args], env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Four good photos (one in a subfolder, one with a space in its name), a cat and a broken file."""
    folder = tmp_path / "photos"
    (folder / "trip").mkdir(parents=True)
    shutil.copy(FIXTURES / ANNA, folder / "anna.jpg")
    shutil.copy(FIXTURES / ANNA_SMILING, folder / "trip" / "anna smiling.jpg")
    shutil.copy(FIXTURES / BEN, folder / "ben.jpg")
    shutil.copy(FIXTURES / CAT, folder / "cat.jpg")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg" * 10)
    (folder / "notes.txt").write_text("not an image")
    return folder


def faces_of(served: Served, collection: str) -> list[dict]:
    return served.client().list_faces(CollectionId=collection)["Faces"]


def test_index_is_concurrent_resumable_and_reports_failures_without_stopping(served, photos, tmp_path):
    state = tmp_path / "state.jsonl"
    first = facesearch(served, "index", str(photos), "--collection", "cli-index", "--create", "--workers", "3",
                       "--state", str(state))
    assert first.returncode == 1, first.stderr  # one file failed, the others were indexed
    assert "5 images, 0 indexed before" in first.stderr and "img" in first.stderr  # tqdm's bar: img/s and ETA
    assert "indexed 4 images (3 faces, 1 without a face)" in first.stdout
    assert "failures:" in first.stdout and "broken.jpg" in first.stdout
    assert "InvalidImageFormatException" in first.stdout
    externals = sorted(face["ExternalImageId"] for face in faces_of(served, "cli-index"))
    assert externals[0] == "anna.jpg" and externals[1] == "ben.jpg"
    assert externals[2].startswith("trip:anna_smiling.jpg-")  # "/" -> ":", the space made to fit, plus a digest

    second = facesearch(served, "index", str(photos), "--collection", "cli-index", "--state", str(state))
    assert "4 indexed before" in second.stderr and "1 to index" in second.stderr  # only the broken file again
    assert "indexed 0 images" in second.stdout and "skipped 4 already indexed" in second.stdout

    elsewhere = facesearch(served, "index", str(photos), "--collection", "cli-index",
                           "--state", str(tmp_path / "fresh-state.jsonl"))  # no local state: the service dedupes
    assert "indexed 4 images (3 faces" in elsewhere.stdout
    assert len(faces_of(served, "cli-index")) == 3
    assert served.client().describe_collection(CollectionId="cli-index")["FaceCount"] == 3


def test_search_prints_every_face_with_its_matches(served, photos, tmp_path):
    facesearch(served, "index", str(photos), "--collection", "cli-search", "--create", "--state",
               str(tmp_path / "s.jsonl"))
    group = tmp_path / "group.jpg"
    group.write_bytes(side_by_side(ANNA_SMILING, BEN))
    as_json = facesearch(served, "search", str(group), "--collection", "cli-search", "--all-faces", "--json")
    assert as_json.returncode == 0, as_json.stderr
    answer = json.loads(as_json.stdout)
    best = sorted((face["BoundingBox"]["Left"], face["FaceMatches"][0]["Face"]["ExternalImageId"])
                  for face in answer["SearchedFaces"])
    assert best[1][1] == "ben.jpg"
    assert best[0][1] == "anna.jpg" or best[0][1].startswith("trip:anna_smiling.jpg-")
    readable = facesearch(served, "search", str(group), "--collection", "cli-search", "--all-faces")
    assert "ExternalImageId" in readable.stdout and "ben.jpg" in readable.stdout and "anna.jpg" in readable.stdout
    largest = facesearch(served, "search", str(photos / "cat.jpg"), "--collection", "cli-search")
    assert largest.returncode == 0 and "no face in the image" in largest.stdout


def test_faces_are_listed_and_deleted_by_external_image_id(served, photos, tmp_path):
    facesearch(served, "index", str(photos), "--collection", "cli-faces", "--create", "--state",
               str(tmp_path / "f.jsonl"))
    listed = facesearch(served, "faces", "list", "--collection", "cli-faces", "--external-image-id", "ben.jpg")
    [ben] = [face for face in faces_of(served, "cli-faces") if face["ExternalImageId"] == "ben.jpg"]
    assert ben["FaceId"] in listed.stdout
    deleted = facesearch(served, "faces", "delete", "--collection", "cli-faces", "--external-image-id", "ben.jpg")
    assert "deleted 1 faces" in deleted.stdout
    assert "ben.jpg" not in {face["ExternalImageId"] for face in faces_of(served, "cli-faces")}


def test_export_and_import_move_a_collection_and_an_import_repeated_stores_nothing(served, photos, tmp_path):
    facesearch(served, "index", str(photos), "--collection", "cli-from", "--create", "--state",
               str(tmp_path / "e.jsonl"))
    dump = tmp_path / "faces.jsonl"
    exported = facesearch(served, "export", "--collection", "cli-from", "--output", str(dump))
    assert "exported 3 faces" in exported.stdout, exported.stderr
    imported = facesearch(served, "import", str(dump), "--collection", "cli-to", "--create")
    assert "imported 3 faces into cli-to; 0 were there already" in imported.stdout, imported.stderr
    again = facesearch(served, "import", str(dump), "--collection", "cli-to")
    assert "imported 0 faces into cli-to; 3 were there already" in again.stdout
    assert sorted(f["FaceId"] for f in faces_of(served, "cli-to")) == sorted(f["FaceId"] for f in
                                                                           faces_of(served, "cli-from"))


def test_errors_are_one_line_not_a_traceback(served, tmp_path):
    missing = facesearch(served, "faces", "list", "--collection", "nobody", "--external-image-id", "x")
    assert missing.returncode == 2 and missing.stderr.startswith("facesearch: ResourceNotFoundException")
    assert "Traceback" not in missing.stderr


def test_video_search_uploads_a_file_to_the_backends_s3_and_prints_who_is_in_it(served, tmp_path):
    clip = make_video(tmp_path / "clip.mp4", [Appearance(FIXTURES / ANNA_SMILING, 0.0, 2.0, x=0.5, height=0.7)], 2.0)
    client = served.client()
    client.create_collection(CollectionId="cli-video")
    client.index_faces(CollectionId="cli-video", Image={"Bytes": photo(ANNA)}, ExternalImageId="anna")
    boto3.client("s3", endpoint_url=served.backend, region_name="us-east-1", aws_access_key_id=KEY_ID,
                 aws_secret_access_key=SECRET).create_bucket(Bucket="cli-videos")  # `make serve` reads any bucket
    done = facesearch(served, "video", "search", str(clip), "--collection", "cli-video", "--bucket", "cli-videos",
                      "--s3-endpoint-url", served.backend)
    assert done.returncode == 0, done.stderr
    assert "upload clip.mp4" in done.stderr and "SUCCEEDED" in done.stderr
    assert re.search(r"^0\s+00:00\.[0-2]-00:01\.[6-9]\s+\d+\s+anna\s+(9\d|100)\.\d\d\s", done.stdout, re.M), done.stdout


AWS_CLI = Path(sys.executable).parent / "aws"


@pytest.mark.skipif(not AWS_CLI.exists(), reason="the aws CLI (awscli from requirements-dev.txt) is not installed")
def test_the_aws_cli_reads_the_shipped_model_from_aws_data_path(served, photos, tmp_path):
    facesearch(served, "index", str(photos), "--collection", "cli-aws", "--create", "--state",
               str(tmp_path / "a.jpg.jsonl"))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_DATA_PATH": str(Path(__file__).resolve().parents[2] / "models")}
    done = subprocess.run([str(AWS_CLI), "facesearch", "list-faces-by-external-image-id", "--collection-id",
                           "cli-aws", "--external-image-id", "ben.jpg", "--endpoint-url", served.url, "--output",
                           "json"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert [face["ExternalImageId"] for face in json.loads(done.stdout)["Faces"]] == ["ben.jpg"]
