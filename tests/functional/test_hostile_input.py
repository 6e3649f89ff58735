"""Input found by fuzzing the service: each gets its Rekognition error with HTTP 400 (or a normal answer),
never a 500."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ANNA, REGION, make_client, photo
from tests.functional.test_protocol import assert_error, send_raw


def test_json_nested_deeper_than_the_parser_goes_is_a_serialization_error(aws):
    body = '{"CollectionId": ' + "[" * 5000 + "]" * 5000 + "}"
    assert_error(send_raw(body, target="RekognitionService.DescribeCollection"), "SerializationException")


def test_nan_and_infinity_are_not_json(aws):
    for constant in ("NaN", "Infinity", "-Infinity"):
        body = '{"CollectionId": "c", "FaceId": "11111111-1111-1111-1111-111111111111", "FaceMatchThreshold": %s}'
        assert_error(send_raw(body % constant, target="RekognitionService.SearchFaces"), "SerializationException")


@pytest.mark.parametrize("member", ["MaxFaces", "FaceMatchThreshold", "QualityFilter"])
def test_an_explicit_null_for_an_optional_member_means_its_default(rekognition, member):
    rekognition.create_collection(CollectionId="people")
    image = base64.b64encode(photo(ANNA)).decode()
    body = json.dumps({"CollectionId": "people", "Image": {"Bytes": image}, member: None})
    result = send_raw(body, target="RekognitionService.SearchFacesByImage")
    assert result["statusCode"] == 200, result["body"]
    assert result["json"]["FaceMatches"] == []


def test_null_similarity_and_user_match_thresholds_are_their_defaults(rekognition):
    image = base64.b64encode(photo(ANNA)).decode()
    body = json.dumps({"SourceImage": {"Bytes": image}, "TargetImage": {"Bytes": image}, "SimilarityThreshold": None})
    assert send_raw(body, target="RekognitionService.CompareFaces")["statusCode"] == 200
    rekognition.create_collection(CollectionId="people")
    body = json.dumps({"CollectionId": "people", "Image": {"Bytes": image}, "UserMatchThreshold": None,
                       "MaxUsers": None})
    assert send_raw(body, target="RekognitionService.SearchUsersByImage")["statusCode"] == 200


def test_integers_beyond_32_bits_are_invalid_parameters(aws):
    body = json.dumps({"CollectionId": "c", "FaceId": "11111111-1111-1111-1111-111111111111", "MaxFaces": 2**31})
    result = send_raw(body, target="RekognitionService.SearchFaces")
    assert_error(result, "InvalidParameterException")
    assert "maxFaces" in result["json"]["Message"]


def test_a_lone_surrogate_in_an_s3_object_name_is_an_invalid_parameter(aws):
    body = '{"Image": {"S3Object": {"Bucket": "facesearch-test-inputs", "Name": "a\\ud800b"}}}'
    result = send_raw(body, target="RekognitionService.DetectFaces")
    assert_error(result, "InvalidParameterException")
    assert "image.s3Object.name" in result["json"]["Message"]


@pytest.mark.parametrize("name", ["\\u00e9\\ud800", "caf\\u00e9-\\udfff-x"])
def test_a_lone_surrogate_beside_other_non_ascii_characters_is_an_invalid_parameter(aws, name):
    result = send_raw('{"CollectionId": "' + name + '"}', target="RekognitionService.CreateCollection")
    assert_error(result, "InvalidParameterException")
    assert "collectionId" in result["json"]["Message"]


def test_a_value_of_the_wrong_type_holding_a_lone_surrogate_is_quoted_escaped(aws):
    """The message quotes the value, so it must be writable as UTF-8 (to the log and the wire)."""
    body = '{"Image": {"Bytes": "eA=="}, "Attributes": "\\ud800"}'
    result = send_raw(body, target="RekognitionService.DetectFaces")
    assert_error(result, "InvalidParameterException")
    assert "Value '\\ud800' at 'attributes'" in result["json"]["Message"]


def test_an_unsupported_operation_is_unknown_whatever_its_body(aws):
    result = send_raw('{"Image": {"Bytes": 5}, "MinConfidence": "high"}', target="RekognitionService.DetectLabels")
    assert_error(result, "UnknownOperationException")


def test_the_services_own_bucket_is_no_image_source_and_gives_nothing_away(rekognition, aws, environment):
    own = environment["BUCKET_NAME"]
    aws["s3"].put_object(Bucket=own, Key="exists.jpg", Body=photo(ANNA))
    answers = []
    for key in ("exists.jpg", "missing.jpg"):
        with pytest.raises(ClientError) as excinfo:
            rekognition.detect_faces(Image={"S3Object": {"Bucket": own, "Name": key}})
        answers.append((excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]))
    assert answers[0] == answers[1]
    assert answers[0][0] == "InvalidS3ObjectException"


def test_a_collection_scoped_key_lists_only_its_collections(aws, monkeypatch):
    import boto3

    from facesearch import services

    secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="keys", SecretString=json.dumps({"Keys": [
            {"AccessKeyId": "FSKADMIN", "SecretAccessKey": "admin"},
            {"AccessKeyId": "FSKTEAM", "SecretAccessKey": "team", "Collections": ["team-*"]},
        ]}))["ARN"]
    monkeypatch.delenv("FACESEARCH_ACCESS_KEY_ID")
    monkeypatch.delenv("FACESEARCH_SECRET_ACCESS_KEY")
    monkeypatch.setenv("KEYS_SECRET_ARN", secret)
    services.reset()
    admin, team = make_client(key_id="FSKADMIN", secret="admin"), make_client(key_id="FSKTEAM", secret="team")
    for collection_id in ("other-a", "team-a", "other-b", "team-b", "zzz"):
        admin.create_collection(CollectionId=collection_id)
    pages = team.get_paginator("list_collections").paginate(PaginationConfig={"PageSize": 1})
    assert [c for page in pages for c in page["CollectionIds"]] == ["team-a", "team-b"]
    assert len(admin.list_collections()["CollectionIds"]) == 5
