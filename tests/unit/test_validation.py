"""Server-side validation walks botocore's model: each rule named by the model is enforced."""

from __future__ import annotations

import base64

import pytest

from facesearch.errors import ImageTooLargeException, InvalidParameterException
from facesearch.wire.protocol import service_model
from facesearch.wire.validation import validate


def check(operation: str, params: dict) -> None:
    validate(params, service_model().operation_model(operation).input_shape)


def refused(operation: str, params: dict) -> str:
    with pytest.raises(InvalidParameterException) as excinfo:
        check(operation, params)
    return excinfo.value.message


def test_valid_requests_pass():
    check("CreateCollection", {"CollectionId": "a.b-c_1", "Tags": {"team": "face search", "ünïcode": "ok"}})
    check("SearchFacesByImage", {"CollectionId": "c", "Image": {"Bytes": base64.b64encode(b"x").decode()},
                                 "MaxFaces": 4096, "FaceMatchThreshold": 99.5, "QualityFilter": "HIGH"})
    check("ListCollections", {})


def test_missing_required_member_is_named():
    assert "collectionId" in refused("DescribeCollection", {})
    assert "must not be null" in refused("DescribeCollection", {"CollectionId": None})


def test_patterns_must_match_the_whole_value():
    message = refused("CreateCollection", {"CollectionId": "ok/not ok"})
    assert "regular expression pattern" in message
    assert "collectionId" in message


def test_unicode_tag_patterns_use_letter_classes():
    check("TagResource", {"ResourceArn": "arn:aws:rekognition:us-east-1:1:collection/c", "Tags": {"Größe": "é"}})
    assert "tags" in refused("TagResource", {"ResourceArn": "arn:aws:rekognition:us-east-1:1:collection/c",
                                             "Tags": {"aws:system": "v"}})


def test_lengths_values_and_enums_are_bounded():
    assert "less than or equal to 255" in refused("CreateCollection", {"CollectionId": "x" * 256})
    face_id = "1" * 8 + "-1111-1111-1111-" + "1" * 12
    assert "less than or equal to 4096" in refused("SearchFaces", {"CollectionId": "c", "FaceId": face_id,
                                                                   "MaxFaces": 4097})
    assert "enum value set" in refused("IndexFaces", {"CollectionId": "c", "Image": {}, "QualityFilter": "BEST"})


def test_json_types_are_checked_exactly():
    assert "integer" in refused("ListCollections", {"MaxResults": 1.5})
    assert "integer" in refused("ListCollections", {"MaxResults": True})
    assert "string" in refused("DescribeCollection", {"CollectionId": 7})
    assert "structure" in refused("DetectFaces", {"Image": "bytes"})
    assert "list" in refused("DeleteFaces", {"CollectionId": "c", "FaceIds": "one"})


def test_every_violation_is_reported_at_once():
    message = refused("ListFaces", {"CollectionId": "bad id", "MaxResults": 5000})
    assert message.startswith("2 validation errors detected")


def test_unknown_members_are_refused():
    assert "Colour" in refused("DescribeCollection", {"CollectionId": "c", "Colour": "red"})


def test_oversized_image_bytes_are_image_too_large():
    blob = base64.b64encode(b"\0" * (5 * 1024 * 1024 + 3)).decode()
    with pytest.raises(ImageTooLargeException):
        check("DetectFaces", {"Image": {"Bytes": blob}})
    check("DetectFaces", {"Image": {"Bytes": base64.b64encode(b"\0" * (5 * 1024 * 1024)).decode()}})
