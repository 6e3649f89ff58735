"""A facesearch endpoint for the benches: `python -m local.serve` on a free port, or one already running.

The bench's own server gets fresh keys and its own embedded moto (S3 + DynamoDB) on another free port, so it
never touches a developer's `make serve`. Besides the boto3 rekognition client a user would make, the
benches reach the backend behind it: raw clients, or the service's own storage and index built against it
(`backend_services`), for what no Rekognition call can do quickly (bulk loads) or for timing one part alone.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config

from bench.common.sets import REPO
from facesearch.services import Services, build_services, dynamodb_client
from facesearch.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

DEFAULT_TABLE = "facesearch"  # local.serve's defaults
DEFAULT_BUCKET = "facesearch-local"
DEV_KEYS = REPO / ".cache" / "dev-keys.json"

# botocore's parsed JSON. The dev venv pins no rekognition stubs, so the responses are untyped here.
Response = dict[str, Any]


class Rekognition(Protocol):
    """The calls the benches make on boto3's rekognition client."""

    def list_collections(self, **kwargs: Any) -> Response: ...
    def create_collection(self, **kwargs: Any) -> Response: ...
    def delete_collection(self, **kwargs: Any) -> Response: ...
    def describe_collection(self, **kwargs: Any) -> Response: ...
    def index_faces(self, **kwargs: Any) -> Response: ...
    def delete_faces(self, **kwargs: Any) -> Response: ...
    def detect_faces(self, **kwargs: Any) -> Response: ...
    def search_faces_by_image(self, **kwargs: Any) -> Response: ...


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def region() -> str:
    """The region local.serve provisions its table and bucket in (the same rule as its environment)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@dataclass(frozen=True)
class Endpoint:
    url: str
    key_id: str
    secret: str
    backend: str | None  # the S3/DynamoDB endpoint behind it (moto), for bulk loads and direct timing
    table: str
    bucket: str
    region: str
    process: subprocess.Popen[bytes] | None = None  # set when the bench started the server
    log_path: Path | None = None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # serve.py stops moto on KeyboardInterrupt
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def existing_endpoint(url: str, key_id: str | None, secret: str | None, backend: str | None) -> Endpoint:
    """A running `make serve`; without keys, the ones it generated in .cache/dev-keys.json."""
    if not (key_id and secret):
        keys = json.loads(DEV_KEYS.read_text())
        key_id, secret = keys["AccessKeyId"], keys["SecretAccessKey"]
    return Endpoint(url.rstrip("/"), key_id, secret, backend, os.environ.get("TABLE_NAME", DEFAULT_TABLE),
                    os.environ.get("BUCKET_NAME", DEFAULT_BUCKET), region())


def start_server(startup_timeout: float, backend: str | None = None) -> Endpoint:
    """Start local.serve with its own keys and its own moto (or the S3/DynamoDB endpoint `backend`, e.g. a
    local.backend the bench started); returns once it answers ListCollections."""
    port = free_port()
    key_id, secret = "FSKBENCH" + secrets.token_hex(6).upper(), secrets.token_urlsafe(30)
    env = dict(os.environ)
    for name in ("FACESEARCH_BACKEND", "FACESEARCH_AWS_ENDPOINT", "FACESEARCH_S3_ENDPOINT",
                 "FACESEARCH_DYNAMODB_ENDPOINT"):
        env.pop(name, None)  # never a developer's backend
    env.update(FACESEARCH_ACCESS_KEY_ID=key_id, FACESEARCH_SECRET_ACCESS_KEY=secret, PYTHONUNBUFFERED="1")
    if backend is None:
        backend = f"http://127.0.0.1:{free_port()}"
        env["FACESEARCH_MOTO_PORT"] = backend.rsplit(":", 1)[1]
    else:
        env.update(FACESEARCH_AWS_ENDPOINT=backend, AWS_ACCESS_KEY_ID=env.get("AWS_ACCESS_KEY_ID", "moto"),
                   AWS_SECRET_ACCESS_KEY=env.get("AWS_SECRET_ACCESS_KEY", "moto"))
    log_file = Path(tempfile.mkstemp(prefix="facesearch-bench-serve-", suffix=".log")[1])
    with log_file.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "local.serve", "--port", str(port)], cwd=REPO,
                                   env=env, stdout=sink, stderr=subprocess.STDOUT)
    endpoint = Endpoint(f"http://127.0.0.1:{port}", key_id, secret, backend,
                        env.get("TABLE_NAME", DEFAULT_TABLE), env.get("BUCKET_NAME", DEFAULT_BUCKET), region(),
                        process, log_file)
    _wait_until_answering(endpoint, startup_timeout)
    return endpoint


def _wait_until_answering(endpoint: Endpoint, startup_timeout: float) -> None:
    client = rekognition(endpoint, timeout=5)
    deadline = time.monotonic() + startup_timeout
    while True:
        if endpoint.process is not None and endpoint.process.poll() is not None:
            tail = endpoint.log_path.read_text()[-3000:] if endpoint.log_path else ""
            raise SystemExit(f"local.serve exited with {endpoint.process.returncode}:\n{tail}")
        try:
            client.list_collections(MaxResults=1)
            return
        except Exception as error:
            if time.monotonic() > deadline:
                endpoint.stop()
                raise SystemExit(f"local.serve did not answer within {startup_timeout:.0f} s "
                                 f"({error}); see {endpoint.log_path}") from error
            time.sleep(0.25)


def rekognition(endpoint: Endpoint, timeout: float = 600) -> Rekognition:
    """boto3's rekognition client for the endpoint, as a user makes it; no retries, so every call is timed once."""
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=timeout, connect_timeout=10)
    client: Rekognition = boto3.client("rekognition", endpoint_url=endpoint.url, region_name=endpoint.region,
                                       aws_access_key_id=endpoint.key_id, aws_secret_access_key=endpoint.secret,
                                       config=config)
    return client


def backend_settings(endpoint: Endpoint) -> Settings:
    """The settings of a service whose S3 and DynamoDB are the endpoint's backend (its table and bucket)."""
    if endpoint.backend is None:
        raise ValueError("this endpoint's backend is unknown (pass --backend)")
    # moto takes any key; boto3 just needs one to sign with (the developer's own, when set, are kept)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "moto")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "moto")
    return Settings(table_name=endpoint.table, bucket_name=endpoint.bucket, region=endpoint.region,
                    s3_endpoint=endpoint.backend, dynamodb_endpoint=endpoint.backend)


def backend_services(endpoint: Endpoint) -> Services:
    """The service's storage repositories and embedding index, built against the endpoint's backend."""
    return build_services(backend_settings(endpoint))


def backend_dynamodb(endpoint: Endpoint) -> DynamoDBClient:
    """A raw DynamoDB client of the backend, for what only the backend can tell (moto's own costs)."""
    return dynamodb_client(backend_settings(endpoint))
