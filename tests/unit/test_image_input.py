"""Image intake: Image.Bytes or Image.S3Object -> checked bytes, every bad source answered with its Rekognition
error; the S3 read is the storage side's (InputObjects), the limits and errors the operations'."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from facesearch.errors import ImageTooLargeException, InvalidParameterException, InvalidS3ObjectException
from facesearch.operations.analysis import MAX_BYTES, MAX_S3_BYTES, image_bytes
from facesearch.storage.input_objects import InputObjects


def any_bucket(bucket: str) -> bool:
    return True


def only(*buckets: str):
    return lambda bucket: bucket in buckets


def test_bytes_are_returned_as_given() -> None:
    assert image_bytes({"Bytes": b"\xff\xd8\xffabc"}, InputObjects(None, any_bucket)) == b"\xff\xd8\xffabc"


@pytest.mark.parametrize("image", [{}, {"Bytes": b"x", "S3Object": {"Bucket": "b", "Name": "k"}}])
def test_neither_or_both_sources_is_invalid_parameter(image: dict) -> None:
    with pytest.raises(InvalidParameterException):
        image_bytes(image, InputObjects(None, any_bucket))


def test_bytes_over_5_mb_are_too_large() -> None:
    image_bytes({"Bytes": b"\0" * MAX_BYTES}, InputObjects(None, any_bucket))
    with pytest.raises(ImageTooLargeException):
        image_bytes({"Bytes": b"\0" * (MAX_BYTES + 1)}, InputObjects(None, any_bucket))


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="photos")
        client.put_object(Bucket="photos", Key="face.jpg", Body=b"\xff\xd8\xffjpeg")
        yield client


def test_s3_object_is_read(s3) -> None:
    assert (
        image_bytes({"S3Object": {"Bucket": "photos", "Name": "face.jpg"}}, InputObjects(s3, any_bucket))
        == b"\xff\xd8\xffjpeg"
    )
    assert (
        image_bytes({"S3Object": {"Bucket": "photos", "Name": "face.jpg"}}, InputObjects(s3, only("photos")))
        == b"\xff\xd8\xffjpeg"
    )


@pytest.mark.parametrize(
    ("s3_object", "allowed"),
    [
        ({"Bucket": "photos", "Name": "missing.jpg"}, any_bucket),
        ({"Bucket": "no-such-bucket", "Name": "face.jpg"}, any_bucket),
        ({"Bucket": "photos", "Name": "face.jpg", "Version": "nope"}, any_bucket),
        ({"Bucket": "photos", "Name": "face.jpg"}, only("other")),
    ],
)
def test_missing_or_forbidden_s3_objects_are_invalid_s3_object(s3, s3_object: dict, allowed) -> None:
    with pytest.raises(InvalidS3ObjectException, match="Unable to get object metadata from S3"):
        image_bytes({"S3Object": s3_object}, InputObjects(s3, allowed))


def test_s3_object_over_15_mb_is_too_large(s3) -> None:
    s3.put_object(Bucket="photos", Key="big.jpg", Body=b"\0" * (MAX_S3_BYTES + 1))
    with pytest.raises(ImageTooLargeException):
        image_bytes({"S3Object": {"Bucket": "photos", "Name": "big.jpg"}}, InputObjects(s3, any_bucket))


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data, self.requested, self.closed = data, None, False

    def read(self, amount: int | None = None) -> bytes:
        self.requested = amount
        return self.data if amount is None else self.data[:amount]

    def close(self) -> None:
        self.closed = True


class _LyingS3:
    """Claims a small ContentLength but streams more: the read must still stop at the limit."""

    def __init__(self, body: _Body) -> None:
        self.body = body

    def get_object(self, **_: object) -> dict:
        return {"Body": self.body, "ContentLength": 10}


def test_s3_read_is_bounded_even_when_the_length_header_lies() -> None:
    body = _Body(b"\0" * (MAX_S3_BYTES + 100))
    with pytest.raises(ImageTooLargeException):
        image_bytes({"S3Object": {"Bucket": "b", "Name": "k"}}, InputObjects(_LyingS3(body), any_bucket))
    assert body.requested == MAX_S3_BYTES + 1
    assert body.closed
