"""The local endpoint's front door (local/http_server.py, local/function_url.py) against what clients send.

Over real sockets against a `python -m local.serve` subprocess with short timeouts, so each case takes
seconds: idle and slow-loris connections get closed, a thousand of them cost no threads and hold up
nobody, past the connection limit a newcomer waits for a free slot, an oversized body is refused in Lambda's
own shape without being read, a bad Content-Length gets a 400, and a chunked body is read whole.
"""

from __future__ import annotations

import json
import resource
import socket
import time
from collections.abc import Iterator

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.function_url import INVOKE_LIMIT, TOO_LARGE_MESSAGE
from tests.functional.serve_process import (
    KEY_ID,
    SECRET,
    Served,
    raw_exchange,
    serve,
    thread_count,
    wait_until,
)

IDLE_TIMEOUT = 2  # seconds, for this module's server (the default is 15)
REQUEST_TIMEOUT = 4.0  # seconds (the default is 30)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve("--idle-timeout", str(IDLE_TIMEOUT), "--request-timeout", str(REQUEST_TIMEOUT)) as running:
        yield running


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed its end (EOF or reset), without blocking."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def test_an_idle_connection_is_closed_after_the_idle_timeout(served):
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        opened = time.monotonic()
        assert wait_until(lambda: closed_by_server(sock), timeout=IDLE_TIMEOUT + 5)
        assert time.monotonic() - opened >= IDLE_TIMEOUT - 0.5


def test_a_slow_loris_trickling_its_headers_is_closed_at_the_request_deadline(served):
    """It sends a byte every 0.5 s, never idle long enough for the idle timeout: the deadline ends it."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        opened = time.monotonic()
        sock.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\n")
        trickle = b"X-Slow: " + b"a" * 100
        closed_after = None
        for byte in trickle:
            time.sleep(0.5)
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed_after = time.monotonic() - opened
                break
            if closed_by_server(sock):
                closed_after = time.monotonic() - opened
                break
        assert closed_after is not None, "the trickling connection was never closed"
        assert REQUEST_TIMEOUT - 0.5 <= closed_after <= REQUEST_TIMEOUT + 3


def test_a_thousand_idle_connections_cost_no_threads_and_hold_up_no_other_client(served):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        if hard != resource.RLIM_INFINITY and hard < 1200:
            pytest.skip(f"this process may open only {hard} files")
        resource.setrlimit(resource.RLIMIT_NOFILE, (1200, hard))
    client = served.client(read_timeout=10)
    client.list_collections()
    threads_before = thread_count(served.pid)
    idle = []
    try:
        for i in range(1000):
            sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
            if i % 2:
                sock.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\n")  # half of them mid-request
            idle.append(sock)
        threads_during = thread_count(served.pid)
        started = time.monotonic()
        client.list_collections()  # answered now, not after the idle ones time out (read timeout 10 s)
        assert time.monotonic() - started < IDLE_TIMEOUT  # ... well before any of them is closed
        if threads_before is not None and threads_during is not None:
            assert threads_during - threads_before < 5  # a socket each, not a thread each
        assert wait_until(lambda: all(closed_by_server(sock) for sock in idle), timeout=IDLE_TIMEOUT + 10)
    finally:
        for sock in idle:  # released all at once
            sock.close()
    client.list_collections()


def test_past_the_connection_limit_a_new_client_waits_for_a_free_slot_not_for_ever():
    with serve("--connection-limit", "20", "--idle-timeout", str(IDLE_TIMEOUT)) as small:
        small.client().list_collections()
        idle = [socket.create_connection(("127.0.0.1", small.port), timeout=10) for _ in range(20)]
        newcomer = small.client(read_timeout=20)  # a new connection, not one of a pool accepted before
        try:
            started = time.monotonic()
            newcomer.list_collections()  # queued in the listen backlog until idle connections are closed
            waited = time.monotonic() - started
        finally:
            for sock in idle:
                sock.close()
        assert IDLE_TIMEOUT - 1 <= waited <= IDLE_TIMEOUT + 8


def test_a_body_over_lambda_s_invoke_limit_gets_lambda_s_413_through_boto3(served):
    client = served.client(read_timeout=30)
    with pytest.raises(client.exceptions.ClientError) as refused:
        client.detect_faces(Image={"Bytes": b"\xff\xd8" + bytes(7 << 20)})  # 7 MB: about 9.3 MB of JSON
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert refused.value.response["Error"]["Message"] == TOO_LARGE_MESSAGE
    with pytest.raises(client.exceptions.InvalidImageFormatException):  # 3 MB still reaches the function
        client.detect_faces(Image={"Bytes": b"GIF89a" + bytes(3 << 20)})


def test_a_declared_8_gb_body_is_refused_before_it_is_read(served):
    started = time.monotonic()
    head = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.1"
    response = raw_exchange(served.port, head + b"\r\nContent-Length: 8589934592\r\n\r\n" + b"{" * 65536)
    assert time.monotonic() - started < 10
    assert status_of(response) == 413
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"x-amzn-errortype: requestentitytoolargeexception" in head.lower()
    assert json.loads(body) == {"Message": TOO_LARGE_MESSAGE}


def test_a_body_that_fits_http_but_not_the_invoke_payload_is_refused_too(served):
    """Lambda counts the whole event (headers, request context, body), not just the body."""
    body = b'{"CollectionId": "' + b"a" * (INVOKE_LIMIT - 200) + b'"}'
    head = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.1"
    response = raw_exchange(served.port, head + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    assert len(body) < INVOKE_LIMIT and status_of(response) == 413
    assert json.loads(response.partition(b"\r\n\r\n")[2]) == {"Message": TOO_LARGE_MESSAGE}


@pytest.mark.parametrize("length", [b"abc", b"-1", b"12 34", b"0x10"])
def test_a_malformed_or_negative_content_length_gets_a_400_not_a_dropped_connection(served, length):
    response = raw_exchange(served.port, b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + length
                                         + b"\r\n\r\n{}")
    assert status_of(response) == 400


def signed_request(served: Served, operation: str, body: bytes) -> AWSRequest:
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"RekognitionService.{operation}",
               "Host": f"127.0.0.1:{served.port}"}
    request = AWSRequest("POST", served.url + "/", data=body, headers=headers)
    SigV4Auth(Credentials(KEY_ID, SECRET), "rekognition", "us-east-1").add_auth(request)
    return request


def test_a_chunked_request_body_is_read_whole(served):
    body = json.dumps({"CollectionId": "sent-in-chunks"}).encode()
    request = signed_request(served, "CreateCollection", body)
    head = [b"POST / HTTP/1.1", b"Transfer-Encoding: chunked"]
    head += [f"{name}: {value}".encode() for name, value in request.headers.items() if name.lower() != "content-length"]
    chunks = [body[:5], body[5:17], body[17:]]
    payload = b"".join(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for chunk in chunks) + b"0\r\n\r\n"
    response = raw_exchange(served.port, b"\r\n".join(head) + b"\r\n\r\n" + payload)
    assert status_of(response) == 200, response
    assert json.loads(response.partition(b"\r\n\r\n")[2])["StatusCode"] == 200
    assert served.client().describe_collection(CollectionId="sent-in-chunks")["FaceCount"] == 0


@pytest.mark.parametrize("megabytes", [12, 24, 100])
def test_a_client_still_sending_an_oversized_body_reads_the_413_not_a_reset(served, megabytes):
    """The server decides 413 long before the body ends; it answers, then keeps reading (and dropping) the rest
    for a bounded time before it closes, so a client that sends its whole body before it reads (as a plain
    socket, or boto3 on a loaded machine, does) sees the answer instead of a reset connection to retry."""
    body = b'{"CollectionId": "big", "Image": {"Bytes": "' + b"A" * (megabytes << 20) + b'"}}'
    head = (b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.1\r\n"
            b"X-Amz-Target: RekognitionService.IndexFaces\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", served.port), timeout=60) as sock:
            sock.sendall(head + body)
            response = b""
            while chunk := sock.recv(65536):
                response += chunk
        assert status_of(response) == 413
        assert json.loads(response.partition(b"\r\n\r\n")[2]) == {"Message": TOO_LARGE_MESSAGE}
    client = served.client(read_timeout=60)
    with pytest.raises(client.exceptions.ClientError) as refused:
        client.index_faces(CollectionId="big", Image={"Bytes": b"\xff\xd8" + bytes(megabytes << 20)})
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
