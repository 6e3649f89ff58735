"""What a Lambda Function URL does in front of the function, as a WSGI app for `make serve`.

Each HTTP request becomes the payload 2.0 event the deployed function gets; an event over Lambda's
synchronous invoke limit is refused before the function runs, in the shape Lambda answers it
(HTTP 413, RequestEntityTooLargeException), so a caller sees locally what it would see deployed.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from local.function_url_event import LambdaContext, function_url_event

INVOKE_LIMIT = 6 * 1024 * 1024  # bytes of the serialized event: Lambda's synchronous request payload limit
TOO_LARGE_MESSAGE = f"Request must be smaller than {INVOKE_LIMIT} bytes for the InvokeFunction operation"

Environ = dict[str, Any]
StartResponse = Callable[..., object]
Handler = Callable[[dict[str, Any], LambdaContext], Mapping[str, Any]]
Response = tuple[str, list[tuple[str, str]], bytes]



def status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Status"


def payload_too_large() -> Response:
    """Lambda's answer to a request payload over the invoke limit (the function never runs)."""
    body = json.dumps({"Message": TOO_LARGE_MESSAGE}).encode()
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", "RequestEntityTooLargeException"),
               ("x-amzn-RequestId", str(uuid.uuid4()))]
    return status_line(413), headers, body


def invoke_payload_size(event: Mapping[str, Any]) -> int:
    """The bytes Lambda counts against the limit: the event as compact UTF-8 JSON."""
    return len(json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers back from WSGI's HTTP_* keys (Function URLs lowercase names anyway)."""
    headers = {key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items()
               if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def event_from_environ(environ: Mapping[str, Any], body: bytes) -> dict[str, Any]:
    raw = str(environ.get("REQUEST_URI") or environ.get("PATH_INFO") or "/")
    path = raw.split("?", 1)[0] or "/"
    return function_url_event(str(environ["REQUEST_METHOD"]), path, str(environ.get("QUERY_STRING", "")),
                              request_headers(environ), body, source_ip=str(environ.get("REMOTE_ADDR", "")))


def response_from_result(result: Mapping[str, Any]) -> Response:
    """The HTTP response a Function URL makes of the handler's {statusCode, headers, body} answer."""
    text = str(result.get("body", ""))
    body = base64.b64decode(text) if result.get("isBase64Encoded") else text.encode("utf-8")
    headers = [(str(name), str(value)) for name, value in dict(result.get("headers") or {}).items()
               if str(name).lower() != "content-length"]  # the body's own length is sent instead
    return status_line(int(result["statusCode"])), headers, body


class FunctionUrl:
    """The WSGI app: request -> event -> handler -> response, with Lambda's payload limit in between."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        body = environ["wsgi.input"].read()
        event = event_from_environ(environ, body)
        if invoke_payload_size(event) > INVOKE_LIMIT:
            status, headers, payload = payload_too_large()
        else:
            status, headers, payload = response_from_result(self.handler(event, LambdaContext.fresh()))
        start_response(status, [*headers, ("Content-Length", str(len(payload)))])
        return [payload]
