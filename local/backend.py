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

With --data-dir, S3 and DynamoDB are durable (local/durable.py): each write answered 2xx is appended to
the service's write-ahead log inside the service's lock, before the answer is sent, and the logs are
replayed at the next start before the backend listens.

    python -m local.backend [--port N] [--data-dir DIR [--fresh] [--fsync]]
    # prints what it restored, then "listening on http://127.0.0.1:<port>", then serves
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from local.durable import Compaction, DataDir, Journal, Record, ServiceJournal, capture
from local.moto_determinism import fixed

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
    """The AWS service a request is for, from its SigV4 credential scope (`Credential=id/date/region/svc/...`),
    in the Authorization header or, for a presigned URL, the X-Amz-Credential query parameter.

    An unsigned request gets "" and the shared lock.
    """
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    _, found, rest = authorization.partition("Credential=")
    if found:
        scope = rest.split(",", 1)[0].strip().split("/")
    else:
        query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")))
        scope = query.get("X-Amz-Credential", [""])[0].split("/")
    return scope[3] if len(scope) >= 5 else ""


def read_body(environ: Environ) -> bytes:
    """The whole request body, whether sized by Content-Length or chunked (werkzeug dechunks those)."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    length = str(environ.get("CONTENT_LENGTH") or "0")
    return bytes(stream.read(int(length))) if length.isdigit() and int(length) > 0 else b""


class OneRequestAtATime:
    """WSGI middleware: each service's requests run one at a time; their I/O does not hold the lock.

    With a journal, a durable service's request runs with its own seed and clock (local/moto_determinism.py)
    and, answered 2xx and able to change state, is appended to the service's log before the answer leaves.
    """

    def __init__(self, app: WSGIApp, journal: Journal | None = None) -> None:
        self.app = app
        self.journal = journal
        self.locks = {name: threading.Lock() for name in (*SERVICES, "")}

    def __call__(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        body = read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        service = service_of(environ)
        durable = self.journal.get(service) if self.journal is not None else None
        lock = contextlib.nullcontext() if service in UNSERIALISED else self.locks.get(service, self.locks[""])
        with lock:
            if durable is None:
                status, headers, answer = self._run(environ)
            else:
                status, headers, answer = self._run_durably(durable, environ, body)
        start_response(status, headers)
        return [answer]

    def _run(self, environ: Environ) -> tuple[str, list[tuple[str, str]], bytes]:
        started: list[tuple[str, list[tuple[str, str]]]] = []
        chunks: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[[bytes], None]:
            started[:] = [(status, headers)]
            return chunks.append

        result = self.app(environ, capture)
        try:
            chunks.extend(result)  # the whole answer is built inside the lock, sent outside it
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started[0]
        return status, headers, b"".join(chunks)

    def _run_durably(self, durable: ServiceJournal, environ: Environ,
                     body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        if durable.failed:
            return _failure(durable.failed)
        request = capture(environ)
        seed, now = secrets.randbits(63), time.time()
        started = time.perf_counter()
        with fixed(seed, now):
            status, headers, answer = self._run(environ)
        if status[:1] == "2" and durable.model.is_write(request):
            try:
                durable.append(Record(request, body, now, seed), time.perf_counter() - started)
            except OSError as error:
                durable.failed = (f"the {durable.model.service} log in {durable.directory} could not be written "
                                  f"({error}); what this backend holds in memory is no longer durable. Free the "
                                  "disk and restart make serve: every write acknowledged before this one is kept")
                print(f"facesearch backend: {durable.failed}", file=sys.stderr, flush=True)
                return _failure(durable.failed)
            if durable.wants_compaction():
                durable.compacting = True
                threading.Thread(target=self._compact, args=(durable,), daemon=True).start()
        return status, headers, answer

    def _compact(self, durable: ServiceJournal) -> None:
        """Fold a long log into a new snapshot: the state is written holding the service's lock (its requests
        wait meanwhile), the file is synced and renamed after."""
        try:
            with self.locks[durable.model.service]:
                pending = durable.begin_compaction()
            if pending is not None:
                durable.finish_compaction(pending)
        finally:
            durable.compacting = False


def _failure(message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    return "503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8")], message.encode("utf-8")


def moto_app(journal: Journal | None = None) -> OneRequestAtATime:
    """moto's WSGI app behind the one-request-at-a-time middleware; a journal's logs are replayed into it first."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app = DomainDispatcherApplication(create_backend_app)
    if journal is not None:
        for report in journal.recover(app):
            for warning in report.warnings:
                print(f"warning: {report.service}: {warning}", flush=True)
            print(f"restored {report.line()}", flush=True)
    return OneRequestAtATime(app, journal)


def open_journal(data_dir: DataDir, fsync: bool = False, compaction: Compaction | None = None) -> Journal:
    """The durable S3 and DynamoDB of a data directory (locked by this process until it ends)."""
    from local import moto_determinism
    from local.durable_dynamodb import DynamoDBModel
    from local.durable_s3 import S3Model

    moto_determinism.install()
    return Journal(data_dir, [DynamoDBModel(), S3Model()], fsync=fsync, compaction=compaction)


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
    parser.add_argument("--data-dir", type=Path, help="keep S3 and DynamoDB here (local/durable.py); without it, "
                                                      "in memory only")
    parser.add_argument("--fresh", action="store_true", help="with --data-dir: delete what it holds, start empty")
    parser.add_argument("--fsync", action="store_true",
                        help="with --data-dir: each write reaches the disk before it is answered (survives a power "
                             "loss, not just a crash of this process)")
    rule = Compaction()
    parser.add_argument("--compact-seconds", type=float,
                        default=float(os.environ.get("FACESEARCH_COMPACT_SECONDS") or rule.min_seconds),
                        help="fold a log into a new snapshot once replaying it would take longer than this and than "
                             "loading the snapshot (FACESEARCH_COMPACT_SECONDS)")
    parser.add_argument("--compact-ratio", type=float, default=rule.ratio, help="... times loading the snapshot")
    parser.add_argument("--compact-bytes", type=int, default=rule.min_bytes,
                        help="... or once it holds more bytes than this and than the snapshot")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from local.durable import DataDir, DataDirError
    from local.wal import NewerFormat

    try:  # first, and cheaply: a directory in use or not ours is refused before anything is loaded
        data_dir = DataDir(args.data_dir, fresh=args.fresh) if args.data_dir is not None else None
    except DataDirError as error:
        print(f"error: {error}", flush=True)
        return 2
    if args.exit_with_stdin:  # also while replaying: a parent killed meanwhile must not leave this behind
        threading.Thread(target=exit_with_parent, args=(sys.stdin.buffer,), daemon=True).start()
    if args.rollback == "items":
        from local import moto_transactions

        moto_transactions.install()
    journal = None
    if data_dir is not None:
        journal = open_journal(data_dir, fsync=args.fsync,
                               compaction=Compaction(args.compact_seconds, args.compact_bytes, args.compact_ratio))
    try:
        app = moto_app(journal)
    except NewerFormat as error:
        print(f"error: {error}", flush=True)
        os._exit(2)  # not a return: the stdin thread would abort the interpreter's shutdown
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"{READY}http://{args.host}:{server.server_port}", flush=True)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nobody reads the pipe after that line: never fill it
    server.serve_forever()
    return 0


@dataclass(frozen=True)
class Backend:
    """A running `python -m local.backend` child and its endpoint."""

    endpoint: str
    process: subprocess.Popen[bytes]
    notes: tuple[str, ...] = field(default=())  # what it printed before it listened (what it restored)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(port: int = 0, timeout: float | None = 60.0, rollback: str = "items", data_dir: Path | None = None,
          fresh: bool = False, fsync: bool = False, compaction: Compaction | None = None) -> Backend:
    """Start the backend process and wait until it listens; it dies with this process.

    With `data_dir`, its S3 and DynamoDB are durable there; the start waits for the replay as long as the
    process lives (`timeout` then counts from the last line it printed).
    """
    command = [sys.executable, "-m", "local.backend", "--port", str(port), "--exit-with-stdin", "--rollback", rollback]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir), *(["--fresh"] if fresh else []), *(["--fsync"] if fsync else [])]
        if compaction is not None:
            command += ["--compact-seconds", str(compaction.min_seconds), "--compact-bytes", str(compaction.min_bytes),
                        "--compact-ratio", str(compaction.ratio)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               cwd=Path(__file__).resolve().parents[1])
    assert process.stdout is not None
    notes: list[str] = []
    while True:
        line = _readline_within(process.stdout, timeout)
        if line.startswith(READY):
            return Backend(line[len(READY):].strip(), process, tuple(notes))
        if not line:
            process.kill()
            detail = "".join(f"\n  {note}" for note in notes)
            raise RuntimeError(f"the local backend did not start (exit code {process.poll()}){detail}")
        notes.append(line.rstrip("\n"))


def _readline_within(stream: IO[bytes], timeout: float | None) -> str:
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0].decode("utf-8", "replace") if lines else ""


if __name__ == "__main__":
    raise SystemExit(main())
