"""`make serve` as the user runs it: `python -m local.serve` in a subprocess on a free port, its own keys."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
KEY_ID, SECRET = "FSKLOCALTEST", "local-test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Served:
    url: str
    port: int
    backend: str  # the moto endpoint the banner names
    pid: int
    banner: str
    data_dir: Path  # where its embedded backend keeps its data

    def kill_everything(self) -> list[int]:
        """kill -9 the server and every process it started (its moto backend); returns their pids."""
        pids = [self.pid, *children(self.pid)]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in pids[1:]:  # not ours to wait for: wait until they are gone
            wait_until(lambda pid=pid: not alive(pid), timeout=10)
        return pids

    def client(self, read_timeout: float = 120, **config: object):  # type: ignore[no-untyped-def]
        """A Rekognition client of its own (botocore clients are not shared across threads), no retries."""
        return boto3.client("rekognition", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                            config=Config(retries={"total_max_attempts": 1}, read_timeout=read_timeout,
                                          connect_timeout=10, **config))  # type: ignore[arg-type]


@contextmanager
def serve(*args: str, startup_timeout: float = 90, data_dir: Path | None = None,
          env: Mapping[str, str] | None = None) -> Iterator[Served]:
    """Start `python -m local.serve --port <free> *args`, wait for its banner, stop it afterwards.

    Its embedded backend keeps its data in `data_dir`, by default a temporary directory of its own (never
    a developer's .cache/local-data), removed afterwards. `env` adds to its environment.
    """
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="facesearch-serve-")))
        yield stack.enter_context(_serve(args, startup_timeout, data_dir, env or {}))


@contextmanager
def _serve(args: tuple[str, ...], startup_timeout: float, data_dir: Path, extra: Mapping[str, str]) -> Iterator[Served]:
    port = free_port()
    env = {**os.environ, "FACESEARCH_ACCESS_KEY_ID": KEY_ID, "FACESEARCH_SECRET_ACCESS_KEY": SECRET,
           "FACESEARCH_DATA_DIR": str(data_dir)}
    for name in ("FACESEARCH_AWS_ENDPOINT", "FACESEARCH_BACKEND", "FACESEARCH_MOTO_PORT", "TABLE_NAME",
                 "BUCKET_NAME", "INPUT_BUCKETS", "FACESEARCH_FSYNC", "FACESEARCH_COMPACT_SECONDS"):
        env.pop(name, None)
    env.update(extra)
    process = subprocess.Popen([sys.executable, "-m", "local.serve", "--port", str(port), *args], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    banner: list[str] = []
    ready = threading.Event()

    def read_output() -> None:  # keeps draining afterwards, so the server never blocks on a full pipe
        for line in process.stdout:  # type: ignore[union-attr]
            banner.append(line)
            if "Ctrl-C stops it" in line:
                ready.set()
        ready.set()

    threading.Thread(target=read_output, daemon=True).start()
    try:
        if not ready.wait(startup_timeout) or process.poll() is not None:
            raise RuntimeError("local.serve did not start:\n" + "".join(banner))
        text = "".join(banner)
        backend = text.split("backend ", 1)[1].split(")", 1)[0]
        yield Served(f"http://127.0.0.1:{port}", port, backend, process.pid, text, data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def children(pid: int) -> list[int]:
    """The processes a process started, from /proc (empty where there is no /proc)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(child) for child in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def thread_count(pid: int) -> int | None:
    """Threads of a process, from /proc (None where there is no /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def wait_until(condition, timeout: float, interval: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def raw_exchange(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, then read until the server closes or `timeout` passes: what came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # the server may answer and close before it has read everything
            sock.sendall(request)
        chunks: list[bytes] = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if _complete(b"".join(chunks)):
                    break
        except OSError:
            pass
        return b"".join(chunks)


def _complete(data: bytes) -> bool:
    head, found, body = data.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False

