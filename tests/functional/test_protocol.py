"""The wire contract: every malformed, unsigned or invalid request is a typed 400, never a 500."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, ENDPOINT, SECRET_ACCESS_KEY, make_client


def code_of(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def send_raw(body: bytes | str, target: str | None = "RekognitionService.ListCollections",
             content_type: str = "application/x-amz-json-1.1", sign: bool = True,
             secret: str = SECRET_ACCESS_KEY, key_id: str = ACCESS_KEY_ID, method: str = "POST",
             when: datetime.datetime | None = None) -> dict:
    """Sign and deliver a hand-built request, as curl or a non-botocore SDK would."""
    import app
    from local.function_url_event import LambdaContext, function_url_event

    data = body.encode() if isinstance(body, str) else body
    headers = {"Content-Type": content_type, "Host": "rekognition.facesearch.test"}
    if target:
        headers["X-Amz-Target"] = target
    if sign:
        request = AWSRequest(method=method, url=ENDPOINT + "/", data=data, headers=headers)
        signer = SigV4Auth(Credentials(key_id, secret), "rekognition", "us-east-1")
        if when is None:
            signer.add_auth(request)
        else:
            request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
            request.headers["X-Amz-Date"] = request.context["timestamp"]
            canonical = signer.canonical_request(request)
            signature = signer.signature(signer.string_to_sign(request, canonical), request)
            signer._inject_signature_to_request(request, signature)
        headers = dict(request.headers.items())
    event = function_url_event(method, "/", "", headers, data)
    result = app.lambda_handler(event, LambdaContext.fresh())
    result["json"] = json.loads(result["body"])
    return result


def assert_error(result: dict, code: str, status: int = 400) -> None:
    assert result["statusCode"] == status, result
    assert result["json"]["__type"] == code
    assert result["json"]["Message"]
    assert result["headers"]["x-amzn-ErrorType"] == code
    assert result["headers"]["x-amzn-RequestId"]


def test_success_carries_request_id_and_json_content_type(aws):
    result = send_raw("{}")
    assert result["statusCode"] == 200
    assert result["headers"]["Content-Type"] == "application/x-amz-json-1.1"
    assert result["headers"]["x-amzn-RequestId"]
    assert result["json"] == {"CollectionIds": [], "FaceModelVersions": []}


def test_unknown_operation_is_unknown_operation_exception(aws):
    assert_error(send_raw("{}", target="RekognitionService.MakeCoffee"), "UnknownOperationException")
    assert_error(send_raw("{}", target="DynamoDB_20120810.ListTables"), "UnknownOperationException")
    assert_error(send_raw("{}", target=None), "UnknownOperationException")


def test_an_operation_the_service_does_not_implement_says_so(aws):
    result = send_raw("{}", target="RekognitionService.ListStreamProcessors")
    assert_error(result, "UnknownOperationException")
    assert "not supported" in result["json"]["Message"]


def test_a_body_that_is_not_a_json_object_is_a_serialization_exception(aws):
    for body in ("{not json", "[1, 2]", '"text"', b"\xff\xfe"):
        assert_error(send_raw(body), "SerializationException")


def test_a_wrong_content_type_is_refused(aws):
    assert_error(send_raw("{}", content_type="text/plain"), "UnknownOperationException")


def test_get_requests_are_refused(aws):
    assert_error(send_raw("", method="GET"), "UnknownOperationException")


def test_unsigned_request_is_missing_authentication_token(aws):
    assert_error(send_raw("{}", sign=False), "MissingAuthenticationTokenException")


def test_unknown_access_key_is_unrecognized_client(aws):
    assert_error(send_raw("{}", key_id="AKIAUNKNOWN"), "UnrecognizedClientException")


def test_wrong_secret_is_invalid_signature(aws):
    assert_error(send_raw("{}", secret="wrong"), "InvalidSignatureException")


def test_clock_skew_over_five_minutes_is_invalid_signature(aws):
    stale = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=6)
    result = send_raw("{}", when=stale)
    assert_error(result, "InvalidSignatureException")
    assert "Signature expired" in result["json"]["Message"]


def test_boto3_with_wrong_credentials_gets_the_typed_errors(aws):
    with pytest.raises(ClientError) as excinfo:
        make_client(key_id="AKIAUNKNOWN").list_collections()
    assert code_of(excinfo) == "UnrecognizedClientException"
    with pytest.raises(ClientError) as excinfo:
        make_client(secret="nope").list_collections()
    assert code_of(excinfo) == "InvalidSignatureException"
    with pytest.raises(ClientError) as excinfo:
        make_client(region="eu-west-1").list_collections()
    assert code_of(excinfo) == "InvalidSignatureException"


@pytest.mark.parametrize(
    ("call", "params", "member"),
    [
        ("create_collection", {}, "collectionId"),
        ("create_collection", {"CollectionId": "has space"}, "collectionId"),
        ("create_collection", {"CollectionId": "x" * 256}, "collectionId"),
        ("create_collection", {"CollectionId": 42}, "collectionId"),
        ("create_collection", {"CollectionId": "ok", "Tags": {"aws:reserved": "v"}}, "tags"),
        ("list_collections", {"MaxResults": 5000}, "maxResults"),
        ("list_collections", {"MaxResults": "ten"}, "maxResults"),
        ("list_collections", {"MaxResults": -1}, "maxResults"),
        ("search_faces", {"CollectionId": "c", "FaceId": "not-a-face-id"}, "faceId"),
        ("search_faces", {"CollectionId": "c", "FaceId": "11111111-1111-1111-1111-111111111111",
                          "FaceMatchThreshold": 101}, "faceMatchThreshold"),
        ("index_faces", {"CollectionId": "c", "Image": {"Bytes": b"x"}, "QualityFilter": "BEST"},
         "qualityFilter"),
        ("untag_resource", {"ResourceArn": "arn:short", "TagKeys": ["a"]}, "resourceArn"),
        ("untag_resource", {"ResourceArn": "arn:aws:rekognition:us-east-1:1:collection/c",
                            "TagKeys": [f"k{i}" for i in range(201)]}, "tagKeys"),
    ],
)
def test_invalid_parameters_name_the_member(raw_rekognition, call, params, member):
    with pytest.raises(ClientError) as excinfo:
        getattr(raw_rekognition, call)(**params)
    assert code_of(excinfo) == "InvalidParameterException"
    assert member in excinfo.value.response["Error"]["Message"]
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unknown_members_are_invalid_parameters(aws):
    result = send_raw(json.dumps({"CollectionId": "c", "Colour": "red"}),
                      target="RekognitionService.CreateCollection")
    assert_error(result, "InvalidParameterException")
    assert "Colour" in result["json"]["Message"]


def test_image_bytes_over_five_megabytes_are_image_too_large(aws):
    blob = base64.b64encode(b"\xff" * (5 * 1024 * 1024 + 1)).decode()
    body = json.dumps({"Image": {"Bytes": blob}})
    assert_error(send_raw(body, target="RekognitionService.DetectFaces"), "ImageTooLargeException")


def test_image_bytes_that_are_not_base64_are_invalid_parameters(aws):
    body = json.dumps({"Image": {"Bytes": "%%%not base64%%%"}})
    assert_error(send_raw(body, target="RekognitionService.DetectFaces"), "InvalidParameterException")


def test_an_unexpected_failure_is_a_bare_internal_server_error(aws, monkeypatch):
    from facesearch.operations import OPERATIONS

    def explode(services, request):
        raise RuntimeError("secret detail")

    monkeypatch.setitem(OPERATIONS, "ListCollections", explode)
    result = send_raw("{}")
    assert_error(result, "InternalServerError", status=500)
    assert "secret detail" not in result["body"]


TARGETS = [
    ("SearchFacesByImage", "FaceMatchThreshold", {"CollectionId": "c", "Image": {"Bytes": "AAAA"}}),
    ("CompareFaces", "SimilarityThreshold", {"SourceImage": {"Bytes": "AAAA"}, "TargetImage": {"Bytes": "AAAA"}}),
    ("SearchUsers", "UserMatchThreshold", {"CollectionId": "c", "UserId": "u"}),
    ("ListFaces", "MaxResults", {"CollectionId": "c"}),
]


def with_literal(rest: dict, member: str, literal: str) -> str:
    return json.dumps(rest)[:-1] + f', "{member}": {literal}}}'


@pytest.mark.parametrize("literal", ["1" + "0" * 400, "-" + "9" * 500, "1" + "0" * 5000, "1e400", "-1e400", "1e20"])
@pytest.mark.parametrize(("target", "member", "rest"), TARGETS)
def test_numbers_of_any_size_and_form_out_of_range_are_invalid_parameters(aws, literal, target, member, rest):
    result = send_raw(with_literal(rest, member, literal), target=f"RekognitionService.{target}")
    assert_error(result, "InvalidParameterException")
    assert member[:1].lower() + member[1:] in result["json"]["Message"]


@pytest.mark.parametrize("literal", ["100." + "0" * 400 + "1", "0." + "0" * 600 + "1e-400", "5"])
@pytest.mark.parametrize(("target", "member", "rest"), TARGETS)
def test_long_literals_that_round_into_range_are_taken_as_their_value(aws, literal, target, member, rest):
    result = send_raw(with_literal(rest, member, literal), target=f"RekognitionService.{target}")
    if member == "MaxResults" and not literal.isdigit():  # an integer member refuses a decimal literal
        assert_error(result, "InvalidParameterException")
        return
    assert result["statusCode"] == 400  # the request's own fate (no collection, no image): never a 500
    assert member[:1].lower() + member[1:] not in result["json"]["Message"]  # and the number was fine
