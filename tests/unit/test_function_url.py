"""local/function_url.py: a request becomes the event a Function URL sends, within Lambda's payload limit."""

from __future__ import annotations

import base64
import io
import json

from local.function_url import (
    INVOKE_LIMIT,
    TOO_LARGE_MESSAGE,
    FunctionUrl,
    event_from_environ,
    invoke_payload_size,
    payload_too_large,
    request_headers,
    response_from_result,
)


def environ(body: bytes = b"{}", **extra: str) -> dict:
    return {"REQUEST_METHOD": "POST", "REQUEST_URI": "/a%20b?x=1", "PATH_INFO": "/a b", "QUERY_STRING": "x=1",
            "REMOTE_ADDR": "10.0.0.7", "CONTENT_TYPE": "application/x-amz-json-1.1",
            "CONTENT_LENGTH": str(len(body)), "HTTP_X_AMZ_TARGET": "RekognitionService.ListCollections",
            "HTTP_HOST": "localhost:8085", "wsgi.input": io.BytesIO(body), **extra}


def test_headers_come_back_lowercased_with_dashes():
    assert request_headers(environ()) == {"x-amz-target": "RekognitionService.ListCollections",
                                          "host": "localhost:8085", "content-type": "application/x-amz-json-1.1",
                                          "content-length": "2"}


def test_the_event_carries_the_raw_path_query_source_and_body():
    event = event_from_environ(environ(), b'{"MaxResults": 1}')
    assert (event["rawPath"], event["rawQueryString"]) == ("/a%20b", "x=1")
    assert event["requestContext"]["http"]["sourceIp"] == "10.0.0.7"
    assert event["body"] == '{"MaxResults": 1}' and event["isBase64Encoded"] is False


def test_the_payload_size_is_the_event_as_compact_utf8_json():
    assert invoke_payload_size({"a": "é"}) == len('{"a":"é"}'.encode())


def test_the_413_is_lambda_s():
    status, headers, body = payload_too_large()
    assert status == "413 Request Entity Too Large"
    assert ("x-amzn-ErrorType", "RequestEntityTooLargeException") in headers
    assert json.loads(body) == {"Message": f"Request must be smaller than {INVOKE_LIMIT} bytes for the InvokeFunction"
                                           " operation"} == {"Message": TOO_LARGE_MESSAGE}


def test_the_handler_s_answer_becomes_the_http_response():
    assert response_from_result({"statusCode": 400, "headers": {"Content-Type": "x", "Content-Length": "99"},
                                 "body": "{}"}) == ("400 Bad Request", [("Content-Type", "x")], b"{}")
    encoded = {"statusCode": 200, "body": base64.b64encode(b"\x00\xff").decode(), "isBase64Encoded": True}
    assert response_from_result(encoded) == ("200 OK", [], b"\x00\xff")


def run(app: FunctionUrl, env: dict) -> tuple[str, dict, bytes]:
    started: list = []
    body = b"".join(app(env, lambda status, headers: started.append((status, dict(headers)))))
    return started[0][0], started[0][1], body


def test_the_handler_runs_only_for_an_event_within_the_limit():
    seen: list[dict] = []

    def handler(event, context):  # type: ignore[no-untyped-def]
        seen.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/x-amz-json-1.1"}, "body": '{"ok":1}'}

    app = FunctionUrl(handler)
    assert run(app, environ()) == ("200 OK", {"Content-Type": "application/x-amz-json-1.1", "Content-Length": "8"},
                                   b'{"ok":1}')
    big = b'{"a": "' + b"x" * (INVOKE_LIMIT - 100) + b'"}'
    status, _, body = run(app, environ(big))
    assert status.startswith("413") and json.loads(body) == {"Message": TOO_LARGE_MESSAGE}
    assert len(seen) == 1  # the oversized one never reached the function
