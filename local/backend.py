"""The embedded S3 + DynamoDB of `make serve`: moto in its own process, one request at a time per service.

DynamoDB applies each request atomically; moto does not. Its threaded server runs requests side by
side over shared dicts, so two TransactWriteItems interleave (a condition passes twice, a rollback
restores a table another request had changed since, "dictionary changed size during iteration"
comes back as a 500 that the caller retries), and acknowledged faces get lost or doubled. Here every
request to one service runs alone under that service's lock, which is the guarantee the service's
storage design is built on. What is slow and needs no lock happens outside it: the request body is
read before, the answer is sent after, so a big S3 GET or a slow client holds nobody up, and S3
requests never wait for a DynamoDB transaction (the two backends share no state in moto, and moto
locks the creation of its per-region backends itself).

Its transactions copy only the items they name (local/moto_transactions.py), not the whole table
per action. It runs in its own process, so moto's Python work does not take the GIL from the
handler's threads, and it exits when the parent does: it watches its stdin, a pipe from the parent,
which closes however the parent ends (even kill -9).

    python -m local.backend [--port N]   # prints "listening on http://127.0.0.1:<port>", then serves
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

READY = "listening on "
SERVICES = ("dynamodb", "s3")  # the services the facesearch function uses; anything else shares one lock ...
# ... but for the ones that carry video job notices (SNS -> SQS, as AWS's samples set them up): they run as
# moto runs them, unserialised, because an SQS long poll (ReceiveMessage WaitTimeSeconds) waits inside moto and
# must not hold a lock the notice's Publish needs.
UNSERIALISED = ("sns", "sqs", "iam", "sts")

Environ = dict[str, Any]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def service_of(environ: Mapping[str, Any]) -> str:
    """The AWS service a request is for, from its SigV4 credential scope (`Credential=id/date/region/svc/...`).

    A request without one (unsigned, or presigned with the scope in the query) gets "" and the shared lock.
    """
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    _, found, rest = authorization.partition("Credential=")
    if not found:
        return ""
    scope = rest.split(",", 1)[0].strip().split("/")
    return scope[3] if len(scope) >= 5 else ""


def read_body(environ: Environ) -> bytes:
    """The whole request body, whether sized by Content-Length or chunked (werkzeug dechunks those)."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    length = str(environ.get("CONTENT_LENGTH") or "0")
    return bytes(stream.read(int(length))) if length.isdigit() and int(length) > 0 else b""


class OneRequestAtATime:
    """WSGI middleware: each service's requests run one at a time; their I/O does not hold the lock."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.locks = {name: threading.Lock() for name in (*SERVICES, "")}

    def __call__(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        body = read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        service = service_of(environ)
        started: list[tuple[str, list[tuple[str, str]]]] = []
        chunks: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[[bytes], None]:
            started[:] = [(status, headers)]
            return chunks.append

        lock = contextlib.nullcontext() if service in UNSERIALISED else self.locks.get(service, self.locks[""])
        with lock:
            result = self.app(environ, capture)
            try:
                chunks.extend(result)  # the whole answer is built inside the lock, sent outside it
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        status, headers = started[0]
        start_response(status, headers)
        return [b"".join(chunks)]


def moto_app() -> WSGIApp:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return OneRequestAtATime(DomainDispatcherApplication(create_backend_app))


def exit_with_parent(stdin: IO[bytes]) -> None:
    """Block until the parent's end of the pipe closes, then end this process at once."""
    while stdin.read(4096):
        pass
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    from werkzeug.serving import make_server

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port (the one taken is printed)")
    parser.add_argument("--exit-with-stdin", action="store_true", help="exit when stdin closes (the parent died)")
    parser.add_argument("--rollback", choices=("items", "table"), default="items",
                        help="what a transaction copies to roll back: the items it names (local/moto_transactions.py)"
                             " or, as moto does, the whole table per action (for benchmarks)")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if args.rollback == "items":
        from local import moto_transactions

        moto_transactions.install()
    server = make_server(args.host, args.port, moto_app(), threaded=True)
    if args.exit_with_stdin:
        threading.Thread(target=exit_with_parent, args=(sys.stdin.buffer,), daemon=True).start()
    print(f"{READY}http://{args.host}:{server.server_port}", flush=True)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nobody reads the pipe after that line: never fill it
    server.serve_forever()
    return 0


@dataclass(frozen=True)
class Backend:
    """A running `python -m local.backend` child and its endpoint."""

    endpoint: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(port: int = 0, timeout: float = 60.0, rollback: str = "items") -> Backend:
    """Start the backend process and wait until it listens; it dies with this process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "local.backend", "--port", str(port), "--exit-with-stdin", "--rollback", rollback],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[1],
    )
    assert process.stdout is not None
    line = _readline_within(process.stdout, timeout)
    if not line.startswith(READY):
        process.kill()
        raise RuntimeError(f"the local backend did not start (exit code {process.poll()}): {line!r}")
    return Backend(line[len(READY):].strip(), process)


def _readline_within(stream: IO[bytes], timeout: float) -> str:
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0].decode("utf-8", "replace") if lines else ""


if __name__ == "__main__":
    raise SystemExit(main())
