"""SigV4 verification: botocore-signed requests pass; every kind of wrong one is told why."""

from __future__ import annotations

import datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from facesearch.errors import (
    AccessDeniedException,
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)
from facesearch.wire import auth

KEY = auth.AccessKey("FSKUNIT", "unit-secret")
KEYS = auth.KeyRing({KEY.access_key_id: KEY})
NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)


def signed(body: bytes = b"{}", secret: str = "unit-secret", key_id: str = "FSKUNIT", region: str = "us-east-1",
           service: str = "rekognition", when: datetime.datetime = NOW) -> auth.SignedRequest:
    request = AWSRequest("POST", "https://faces.example/", data=body,
                         headers={"Content-Type": "application/x-amz-json-1.1",
                                  "X-Amz-Target": "RekognitionService.ListCollections"})
    signer = SigV4Auth(Credentials(key_id, secret), service, region)
    request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
    request.headers["X-Amz-Date"] = request.context["timestamp"]
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    signer._inject_signature_to_request(request, signature)
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers["host"] = "faces.example"
    return auth.SignedRequest("POST", "faces.example", "/", "", headers, body)


def verify(request: auth.SignedRequest) -> auth.AccessKey:
    return auth.authenticate(request, KEYS, "us-east-1", now=lambda: NOW)


def test_a_botocore_signature_is_accepted():
    assert verify(signed()) == KEY


def test_a_tampered_body_or_header_breaks_the_signature():
    request = signed()
    with pytest.raises(InvalidSignatureException):
        verify(auth.SignedRequest(**{**request.__dict__, "body": b'{"MaxResults": 1}'}))
    headers = {**request.headers, "x-amz-target": "RekognitionService.DeleteCollection"}
    with pytest.raises(InvalidSignatureException):
        verify(auth.SignedRequest(**{**request.__dict__, "headers": headers}))


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (signed(secret="other"), InvalidSignatureException),
        (signed(key_id="NOBODY"), UnrecognizedClientException),
        (signed(service="s3"), InvalidSignatureException),
        (signed(region="eu-west-1"), InvalidSignatureException),
        (signed(when=NOW - datetime.timedelta(minutes=6)), InvalidSignatureException),
        (signed(when=NOW + datetime.timedelta(minutes=6)), InvalidSignatureException),
    ],
)
def test_wrong_signatures_are_refused_with_the_aws_error(request_, error):
    with pytest.raises(error):
        verify(request_)


def test_a_little_clock_skew_is_tolerated():
    assert verify(signed(when=NOW - datetime.timedelta(minutes=4))) == KEY


def test_missing_or_malformed_authorization():
    request = signed()
    without = {k: v for k, v in request.headers.items() if k != "authorization"}
    with pytest.raises(MissingAuthenticationTokenException):
        verify(auth.SignedRequest(**{**request.__dict__, "headers": without}))
    garbled = {**request.headers, "authorization": "AWS4-HMAC-SHA256 Credential=x"}
    with pytest.raises(IncompleteSignatureException):
        verify(auth.SignedRequest(**{**request.__dict__, "headers": garbled}))


def test_key_ring_reads_one_key_or_many_with_permissions():
    single = auth.KeyRing.from_json('{"AccessKeyId": "A", "SecretAccessKey": "s"}')
    assert single.keys["A"].allows("IndexFaces", "anything")
    many = auth.KeyRing.from_json(
        '{"Keys": [{"AccessKeyId": "R", "SecretAccessKey": "s", "Actions": ["Search*", "List*"],'
        ' "Collections": ["public-*"]}]}'
    )
    reader = many.keys["R"]
    assert reader.allows("SearchFacesByImage", "public-faces")
    assert not reader.allows("IndexFaces", "public-faces")
    assert not reader.allows("SearchFaces", "private")
    with pytest.raises(AccessDeniedException):
        auth.authorize(reader, "DeleteCollection", "public-faces")
