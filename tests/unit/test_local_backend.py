"""local/backend.py's pieces: which service a request is for, its body, and one request at a time per service."""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from local.backend import OneRequestAtATime, read_body, service_of

SCOPE = "AWS4-HMAC-SHA256 Credential=moto/20260101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=ab"


def test_the_service_comes_from_the_sigv4_credential_scope():
    assert service_of({"HTTP_AUTHORIZATION": SCOPE.format("dynamodb")}) == "dynamodb"
    assert service_of({"HTTP_AUTHORIZATION": SCOPE.format("s3")}) == "s3"


def test_a_presigned_url_names_its_service_in_the_query():
    query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=moto%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
    assert service_of({"QUERY_STRING": query}) == "s3"


def test_a_request_without_a_credential_scope_has_no_service():
    assert service_of({}) == ""
    assert service_of({"HTTP_AUTHORIZATION": "Basic abc"}) == ""
    assert service_of({"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=short/scope"}) == ""


def test_the_body_is_read_by_content_length_or_to_the_end_when_dechunked():
    assert read_body({"wsgi.input": io.BytesIO(b"abcdef"), "CONTENT_LENGTH": "4"}) == b"abcd"
    assert read_body({"wsgi.input": io.BytesIO(b"abcdef"), "wsgi.input_terminated": True}) == b"abcdef"
    assert read_body({"wsgi.input": io.BytesIO(b"abc"), "CONTENT_LENGTH": ""}) == b""
    assert read_body({"wsgi.input": io.BytesIO(b"abc"), "CONTENT_LENGTH": "-1"}) == b""


class Recorder:
    """A WSGI app that notes how many requests per service run inside it at once."""

    def __init__(self) -> None:
        self.inside: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.overlap_across_services = False
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        service = service_of(environ)
        with self.lock:
            self.inside[service] = self.inside.get(service, 0) + 1
            self.most[service] = max(self.most.get(service, 0), self.inside[service])
            self.overlap_across_services |= sum(self.inside.values()) > self.inside[service]
        time.sleep(0.02)
        with self.lock:
            self.inside[service] -= 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"echo:", environ["wsgi.input"].read()])


def call(app, service: str, body: bytes) -> tuple[str, bytes]:  # type: ignore[no-untyped-def]
    started: list[str] = []
    environ = {"HTTP_AUTHORIZATION": SCOPE.format(service), "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body))}
    chunks = app(environ, lambda status, headers, exc_info=None: started.append(status))
    return started[0], b"".join(chunks)


def test_requests_to_one_service_run_one_at_a_time_and_services_run_side_by_side():
    recorder = Recorder()
    app = OneRequestAtATime(recorder)
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda i: call(app, ("dynamodb", "s3")[i % 2], b"%d" % i), range(24)))
    assert recorder.most == {"dynamodb": 1, "s3": 1}
    assert recorder.overlap_across_services  # an S3 request never waits for a DynamoDB one
    assert answers == [("200 OK", b"echo:%d" % i) for i in range(24)]  # each gets its own whole answer
