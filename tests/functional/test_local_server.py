"""`make serve` for real: the local endpoint over HTTP with an embedded moto, driven by boto3 and the aws CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.functional.serve_process import KEY_ID, ROOT, SECRET, serve

BACKEND: dict[str, str] = {}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with serve() as served:
        assert served.url in served.banner and KEY_ID in served.banner  # it prints how to call it
        BACKEND["url"] = served.backend
        yield served.url


def test_boto3_manages_collections_over_http(endpoint):
    client = boto3.client("rekognition", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                          config=Config(retries={"total_max_attempts": 1}))
    client.create_collection(CollectionId="over-http", Tags={"a": "b"})
    assert client.describe_collection(CollectionId="over-http")["FaceCount"] == 0
    with open(ROOT / "tests/fixtures/faces/london_021_neutral.jpg", "rb") as image:
        indexed = client.index_faces(CollectionId="over-http", Image={"Bytes": image.read()})
    assert len(indexed["FaceRecords"]) == 1
    wrong = boto3.client("rekognition", endpoint_url=endpoint, region_name="us-east-1",
                         aws_access_key_id=KEY_ID, aws_secret_access_key="nope")
    with pytest.raises(wrong.exceptions.ClientError) as excinfo:
        wrong.list_collections()
    assert excinfo.value.response["Error"]["Code"] == "InvalidSignatureException"


@pytest.mark.skipif(shutil.which("aws", path=str(Path(sys.executable).parent)) is None,
                    reason="the aws CLI (awscli from requirements-dev.txt) is not installed")
def test_the_aws_cli_creates_lists_tags_and_deletes_collections(endpoint):
    aws = str(Path(sys.executable).parent / "aws")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_DEFAULT_REGION": "us-east-1"}

    def cli(*args: str) -> dict:
        done = subprocess.run([aws, "rekognition", *args, "--endpoint-url", endpoint, "--output", "json"],
                              env=env, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    for i in range(7):
        cli("create-collection", "--collection-id", f"cli-{i}")
    listed = cli("list-collections", "--page-size", "2")  # the CLI walks every page itself
    assert [cid for cid in listed["CollectionIds"] if cid.startswith("cli-")] == [f"cli-{i}" for i in range(7)]
    arn = cli("describe-collection", "--collection-id", "cli-0")["CollectionARN"]
    cli("tag-resource", "--resource-arn", arn, "--tags", "team=faces")
    assert cli("list-tags-for-resource", "--resource-arn", arn)["Tags"] == {"team": "faces"}
    cli("delete-collection", "--collection-id", "cli-0")
    missing = subprocess.run([aws, "rekognition", "describe-collection", "--collection-id", "cli-0",
                              "--endpoint-url", endpoint], env=env, capture_output=True, text=True, timeout=60,
                             check=False)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr


def test_images_from_bytes_and_the_local_s3_over_http(endpoint):
    client = boto3.client("rekognition", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                          config=Config(retries={"total_max_attempts": 1}))
    s3 = boto3.client("s3", endpoint_url=BACKEND["url"], region_name="us-east-1",
                      aws_access_key_id="moto", aws_secret_access_key="moto")
    anna = (ROOT / "tests/fixtures/faces/london_021_neutral.jpg").read_bytes()
    anna_smiling = (ROOT / "tests/fixtures/faces/london_021_smiling.jpg").read_bytes()
    s3.create_bucket(Bucket="my-photos")
    s3.put_object(Bucket="my-photos", Key="anna.jpg", Body=anna)
    from_s3 = client.detect_faces(Image={"S3Object": {"Bucket": "my-photos", "Name": "anna.jpg"}})
    from_bytes = client.detect_faces(Image={"Bytes": anna})
    assert from_s3["FaceDetails"] == from_bytes["FaceDetails"] and len(from_bytes["FaceDetails"]) == 1
    compared = client.compare_faces(SourceImage={"S3Object": {"Bucket": "my-photos", "Name": "anna.jpg"}},
                                    TargetImage={"Bytes": anna_smiling})
    assert compared["FaceMatches"][0]["Similarity"] >= 80
    for image, code in (({"Bytes": b"GIF89a" + bytes(200)}, "InvalidImageFormatException"),
                        ({"S3Object": {"Bucket": "my-photos", "Name": "missing.jpg"}}, "InvalidS3ObjectException")):
        with pytest.raises(client.exceptions.ClientError) as excinfo:
            client.detect_faces(Image=image)
        assert excinfo.value.response["Error"]["Code"] == code
