"""Shared fixtures: a moto-backed deployment and a real boto3 Rekognition client that calls the handler.

The client's `before-send` hook turns botocore's signed request into the Function URL event the
deployed function gets and answers with the handler's response, so botocore serializes requests
and parses responses and errors exactly as it does for a user.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from moto import mock_aws

from facesearch.settings import Settings
from local.function_url_event import LambdaContext, function_url_event
from local.provision import create_bucket, create_table

REGION = "us-east-1"
ACCESS_KEY_ID = "FSKTESTKEY"
SECRET_ACCESS_KEY = "test-secret-access-key"
ENDPOINT = "https://rekognition.facesearch.test"
EXTENSION_MODELS = Path(__file__).resolve().parents[1] / "models"  # the shipped model, as users point at it
SHARED = Path(os.environ.get("FACESEARCH_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
MODEL_DIR = Settings.from_env().model_dir  # where the service finds its models here (FACESEARCH_MODEL_DIR, .cache)
MODEL_THREADS = Settings.from_env().intra_op_threads

ENVIRONMENT = {
    "TABLE_NAME": "facesearch-test",
    "BUCKET_NAME": "facesearch-test-bucket",
    "INPUT_BUCKETS": "facesearch-test-inputs",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "FACESEARCH_ACCESS_KEY_ID": ACCESS_KEY_ID,
    "FACESEARCH_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
    "FACESEARCH_ACCOUNT_ID": "123456789012",
    "POWERTOOLS_SERVICE_NAME": "facesearch",
    "POWERTOOLS_METRICS_NAMESPACE": "FaceSearch",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}


class ContractViolation(AssertionError):
    """A response that does not match botocore's output shape for its operation."""


CHECKED_OPERATIONS: set[str] = set()  # every operation whose successful responses were checked


class HandlerTransport:
    """A botocore before-send handler that delivers each request to the Lambda handler in-process, and checks
    every successful response against the operation's output shape in botocore's model."""

    def __init__(self) -> None:
        import app

        self.app = app
        self.last_response: AWSResponse | None = None

    def __call__(self, request, **_: object) -> AWSResponse:  # type: ignore[no-untyped-def]
        url = urlsplit(request.url)
        headers = {name: value.decode() if isinstance(value, bytes) else value
                   for name, value in request.headers.items()}
        headers.setdefault("Host", url.netloc)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        event = function_url_event(request.method, url.path or "/", url.query, headers, body)
        result = self.app.lambda_handler(event, LambdaContext.fresh())
        if result["statusCode"] == 200:
            check_contract(headers, result["body"])
        self.last_response = AWSResponse(
            request.url, result["statusCode"], result["headers"], RawBody(result["body"].encode("utf-8"))
        )
        return self.last_response


def check_contract(headers: dict[str, str], body: str) -> None:
    import json

    from tests.contract import response_violations

    target = {name.lower(): value for name, value in headers.items()}.get("x-amz-target", "")
    operation = target.rpartition(".")[2]
    problems = response_violations(operation, json.loads(body), target)
    if problems:
        raise ContractViolation(f"{operation} response breaks botocore's output shape: " + "; ".join(problems))
    CHECKED_OPERATIONS.add(operation)


class RawBody:
    """A response body botocore can read: the handler's answer, delivered without a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self._data

    def read(self, *_: object) -> bytes:
        return self._data


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    from facesearch import services

    services.reset()
    yield dict(ENVIRONMENT)
    services.reset()


@pytest.fixture
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make each mocked AWS request atomic, as the real services are.

    moto evaluates a condition and applies the write without a lock, so two threads can both pass
    the same ConditionExpression; DynamoDB never lets that happen. Concurrency tests need the real
    guarantee (and only that one: requests still interleave freely).
    """
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.RLock()
    original = BotocoreStubber.__call__

    def serialized(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialized)


@pytest.fixture
def aws(environment: dict[str, str], atomic_moto: None) -> Iterator[dict[str, object]]:
    """moto's S3 and DynamoDB with the service's table and bucket, plus an input bucket for images."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        s3 = boto3.client("s3", region_name=REGION)
        create_table(dynamodb, environment["TABLE_NAME"])
        create_bucket(s3, environment["BUCKET_NAME"], REGION)
        create_bucket(s3, environment["INPUT_BUCKETS"], REGION)
        yield {"dynamodb": dynamodb, "s3": s3}


def script_module(path: Path, name: str) -> Iterator[ModuleType]:
    """A script that is not a package module (layers/models/*.py) loaded as `name` for a module fixture;
    it stays in sys.modules while in use (dataclasses look their module up while the file executes)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(name, None)


def wired_client(session, service: str, validate: bool = True,  # type: ignore[no-untyped-def]
                 key_id: str = ACCESS_KEY_ID, secret: str = SECRET_ACCESS_KEY, region: str = REGION):
    """`service`'s client from `session` (a boto3 Session, or the boto3 module for its default session),
    its requests going to the handler (HandlerTransport), never the network."""
    client = session.client(
        service,
        region_name=region,
        endpoint_url=ENDPOINT,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(parameter_validation=validate, retries={"total_max_attempts": 1}),
    )
    transport = HandlerTransport()
    client.meta.events.register(f"before-send.{service}", transport)
    client.transport = transport
    return client


def make_client(validate: bool = True, key_id: str = ACCESS_KEY_ID, secret: str = SECRET_ACCESS_KEY,
                region: str = REGION):  # type: ignore[no-untyped-def]
    return wired_client(boto3, "rekognition", validate, key_id, secret, region)


def make_extension_client(monkeypatch: pytest.MonkeyPatch, validate: bool = True):  # type: ignore[no-untyped-def]
    """boto3's client for the facesearch extension model, found the way users find it: AWS_DATA_PATH."""
    monkeypatch.setenv("AWS_DATA_PATH", str(EXTENSION_MODELS))
    return wired_client(boto3.session.Session(), "facesearch", validate)


@pytest.fixture
def facesearch(aws, monkeypatch):  # type: ignore[no-untyped-def]
    """A facesearch extension client on the same moto deployment as `rekognition`."""
    return make_extension_client(monkeypatch)


@pytest.fixture
def raw_facesearch(aws, monkeypatch):  # type: ignore[no-untyped-def]
    """An extension client that skips botocore's own checks, to reach the service's validation."""
    return make_extension_client(monkeypatch, validate=False)


@pytest.fixture
def rekognition(aws):  # type: ignore[no-untyped-def]
    return make_client()


@pytest.fixture
def raw_rekognition(aws):  # type: ignore[no-untyped-def]
    """A client that skips botocore's own checks, to reach the service's validation."""
    return make_client(validate=False)


FIXTURES = Path(__file__).resolve().parent / "fixtures" / "faces"
ANNA = "london_021_neutral.jpg"  # two photos of one person...
ANNA_SMILING = "london_021_smiling.jpg"
BEN = "london_022_neutral.jpg"  # ...another person
CAT = "noface_chelsea.jpg"  # no human face


def photo(name: str) -> bytes:
    """A committed fixture photo's bytes (see tests/fixtures/faces/README.md for credits)."""
    return (FIXTURES / name).read_bytes()


def side_by_side(*names: str, height: int = 400) -> bytes:
    """One JPEG with the fixtures' people next to each other: a multi-face photo from CC-BY faces."""
    import io

    from PIL import Image

    parts = [Image.open(FIXTURES / name).convert("RGB") for name in names]
    parts = [part.resize((round(part.width * height / part.height), height)) for part in parts]
    canvas = Image.new("RGB", (sum(part.width for part in parts), height), "white")
    left = 0
    for part in parts:
        canvas.paste(part, (left, 0))
        left += part.width
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=92)
    return out.getvalue()


def face_grid(count: int = 121, tile: int = 128) -> bytes:
    """A JPEG grid of fixture portraits: an image with more faces than Rekognition's 100."""
    import io
    import math

    from PIL import Image

    names = [ANNA, ANNA_SMILING, BEN]
    tiles = []
    for name in names:
        image = Image.open(FIXTURES / name).convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        tiles.append(image.crop((left, top, left + side, top + side)).resize((tile, tile)))
    per_row = math.ceil(math.sqrt(count))
    canvas = Image.new("RGB", (tile * per_row, tile * math.ceil(count / per_row)), "white")
    for i in range(count):
        canvas.paste(tiles[i % len(tiles)], ((i % per_row) * tile, (i // per_row) * tile))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=90)
    return out.getvalue()


LAYER_BUILD = Path(__file__).resolve().parents[1] / "layers" / "models"


@pytest.fixture(scope="session")
def layer_build_path() -> Iterator[Path]:
    """The models layer's build scripts import each other as siblings (they run as scripts): make them
    importable for the tests that exercise them, and only for those."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(LAYER_BUILD))
        yield LAYER_BUILD
