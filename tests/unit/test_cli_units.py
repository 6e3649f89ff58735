"""The `facesearch` command's pure parts: ExternalImageIds from paths, the resume state, throttling backoff."""

from __future__ import annotations

import regex
from botocore.exceptions import ClientError

from facesearch.wire.protocol import service_model
from facesearch_cli.bulk import with_backoff
from facesearch_cli.external_id import external_image_id
from facesearch_cli.state import IndexState

PATTERN = regex.compile(service_model().shape_for("ExternalImageId").metadata["pattern"])


def test_a_path_that_fits_the_pattern_is_kept_with_separators_as_colons():
    assert external_image_id("alice/2019/img_001.jpg") == "alice:2019:img_001.jpg"


def test_characters_outside_the_pattern_are_replaced_and_a_digest_keeps_paths_apart():
    spaced, underscored = external_image_id("a b.jpg"), external_image_id("a_b.jpg")
    assert underscored == "a_b.jpg" and spaced.startswith("a_b.jpg-") and spaced != underscored
    assert external_image_id("a b.jpg") == spaced  # the same path, the same id, run after run
    for path in ("ünïcode/ß.png", "x" * 400 + ".jpg", "#!$%&.jpg", "/lead/slash.jpg"):
        fitted = external_image_id(path)
        assert PATTERN.fullmatch(fitted) and 1 <= len(fitted) <= 255, fitted


def test_the_state_remembers_what_was_indexed_across_runs_and_survives_a_torn_line(tmp_path):
    path = tmp_path / "state.jsonl"
    state = IndexState(path)
    state.record("file:a:1:2", "a.jpg", ["f1"])
    state.close()
    with path.open("a") as torn:
        torn.write('{"identity": "file:b')  # a crash mid-write
    again = IndexState(path)
    assert "file:a:1:2" in again and "file:b" not in again


def throttled(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "slow down"}}, "IndexFaces")


def test_throttling_is_waited_out_and_other_errors_are_not_retried():
    calls, waits = [], []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise throttled("ProvisionedThroughputExceededException")
        return "done"

    assert with_backoff(flaky, sleep=waits.append) == "done" and len(waits) == 2

    def invalid() -> str:
        calls.append(1)
        raise throttled("InvalidParameterException")

    calls.clear()
    try:
        with_backoff(invalid, sleep=waits.append)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "InvalidParameterException"
    assert len(calls) == 1


def test_an_s3_prefix_lists_its_images_with_ids_from_the_key_below_the_prefix(monkeypatch):
    import boto3
    from moto import mock_aws

    from facesearch_cli.sources import s3_sources

    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"
                        }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="photos")
        for key in ("trips/2019/a.jpg", "trips/2019/notes.txt", "trips/b c.PNG", "other/d.jpg"):
            s3.put_object(Bucket="photos", Key=key, Body=b"x")
        found = list(s3_sources(s3, "s3://photos/trips/"))
    assert [source.name for source in found] == ["s3://photos/trips/2019/a.jpg", "s3://photos/trips/b c.PNG"]
    assert found[0].external_image_id == "2019:a.jpg" and found[1].external_image_id.startswith("b_c.PNG-")
    assert found[0].image() == {"S3Object": {"Bucket": "photos", "Name": "trips/2019/a.jpg"}}
    assert found[0].identity != found[1].identity and '"' in found[0].identity  # the ETag is part of it


def test_s3_never_takes_the_facesearch_endpoint_from_aws_endpoint_url(monkeypatch):
    from facesearch_cli.clients import s3_client

    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                        "AWS_ENDPOINT_URL": "http://127.0.0.1:8085"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    assert s3_client(None, "us-east-1", None).meta.endpoint_url == "https://s3.amazonaws.com"
    assert s3_client(None, "us-east-1", "http://minio:9000").meta.endpoint_url == "http://minio:9000"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://s3.local:4566")
    assert s3_client(None, "us-east-1", None).meta.endpoint_url == "http://s3.local:4566"
