"""Fixtures of the artifact test: the built artifact served by the Lambda Runtime Interface Emulator in a private
mount namespace, moto as the account's S3, DynamoDB and Secrets Manager, and a boto3 Rekognition client whose
requests arrive as Function URL events.

Only `make artifact-test` runs these (it builds the artifact and sets FACESEARCH_ARTIFACT); `make test` skips
them. Where no private mount namespace can be made (not root, no user namespaces) they skip with the reason,
except under CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from local import backend as local_backend
from local.function_url_event import function_url_event
from local.provision import create_bucket
from tests.artifact import sandbox, stack
from tests.artifact.async_lambda import AsyncLambda
from tests.conftest import RawBody

ARTIFACT = os.environ.get("FACESEARCH_ARTIFACT", "")
RIE = os.environ.get("FACESEARCH_RIE", "")
# The interpreter the runtime runs: the dev venv's base python, for which the deps layer's twin was built.
PYTHON = os.environ.get("FACESEARCH_ARTIFACT_PYTHON") or stack.default_python()

REGION = stack.REGION
KEY_ID = "FSKARTIFACTTEST"
SECRET = "artifact-test-secret-access-key"
# What a client would name (the Function URL, or the HTTP API's endpoint); requests go to the emulator.
ENDPOINT = "https://abcdefghij.lambda-url.us-east-1.on.aws"
HTTP_API_ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/"
INPUT_BUCKET = "artifact-inputs"

@pytest.fixture(scope="session")
def artifact() -> sandbox.Artifact:
    try:
        sandbox.unshare_prefix()
    except sandbox.SandboxUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"artifact test: {error}")
        pytest.skip(f"artifact test skipped on this machine: {error}")
    return sandbox.Artifact(Path(ARTIFACT))


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return sandbox.load_template()


@pytest.fixture(scope="session")
def spec(template: dict[str, Any]) -> sandbox.FunctionSpec:
    return sandbox.function_spec(template)


@pytest.fixture(scope="session")
def backend() -> Iterator[str]:
    """moto (the project's local backend) standing in for the account's S3, DynamoDB and Secrets Manager."""
    started = local_backend.start()
    try:
        yield started.endpoint
    finally:
        started.stop()


@pytest.fixture(scope="session")
def refs(backend: str) -> dict[str, str]:
    return stack.provision(backend, KEY_ID, SECRET)


@pytest.fixture(scope="session")
def async_lambda() -> Iterator[AsyncLambda]:
    """Lambda's asynchronous Invoke API: video jobs hand work to the worker through it."""
    running = AsyncLambda()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def environment(spec: sandbox.FunctionSpec, template: dict[str, Any], refs: dict[str, str], backend: str,
                async_lambda: AsyncLambda) -> dict[str, str]:
    return {**stack.environment(spec, template, refs, backend, PYTHON), **video_settings(backend, async_lambda)}


def video_settings(backend: str, async_lambda: AsyncLambda) -> dict[str, str]:
    """What a deployment with an input bucket sets (the InputBuckets parameter), and where Lambda's
    asynchronous invocations go here."""
    create_bucket(stack.aws_client("s3", backend), INPUT_BUCKET, REGION)
    return {"INPUT_BUCKETS": INPUT_BUCKET, "AWS_ENDPOINT_URL_LAMBDA": async_lambda.url}


@pytest.fixture(scope="session")
def video_emulator(artifact: sandbox.Artifact, template: dict[str, Any], refs: dict[str, str], backend: str,
                   async_lambda: AsyncLambda) -> Iterator[sandbox.Emulator]:
    """The video worker function, under a second emulator, as Lambda runs it."""
    worker = sandbox.function_spec(template, "VideoWorkerFunction")
    env = {**stack.environment(worker, template, refs, backend, PYTHON, function_name=f"{stack.STACK}-video"),
           **video_settings(backend, async_lambda)}
    running = sandbox.start_emulator(artifact, Path(RIE), PYTHON, worker, env, artifact.root / "video.log")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def emulator(artifact: sandbox.Artifact, spec: sandbox.FunctionSpec,
             environment: dict[str, str]) -> Iterator[sandbox.Emulator]:
    assert RIE, "FACESEARCH_RIE (the aws-lambda-rie binary) is not set"
    running = sandbox.start_emulator(artifact, Path(RIE), PYTHON, spec, environment)
    try:
        yield running
    finally:
        running.stop()


class FunctionUrlTransport:
    """A botocore before-send handler: the signed request becomes the Function URL event (payload 2.0) the
    deployed function gets, POSTed to the emulator; the handler's answer becomes the HTTP response."""

    def __init__(self, emulator: sandbox.Emulator, http_api: bool = False) -> None:
        self.emulator = emulator
        self.http_api = http_api

    def __call__(self, request: AWSPreparedRequest, **_: object) -> AWSResponse:
        url = urlsplit(request.url)
        signed: Any = request.headers.items()  # botocore keeps some values as bytes
        headers = {name: value.decode() if isinstance(value, bytes) else value for name, value in signed}
        headers.setdefault("Host", url.netloc)
        raw: Any = request.body or b""
        body: bytes = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        event = function_url_event(request.method, url.path or "/", url.query, headers, body)
        if self.http_api:
            event = as_http_api_event(event, body)
        result = invoke(self.emulator, event)
        if "statusCode" not in result:
            raise AssertionError(f"the function did not answer with an HTTP response: {result}")
        if result["statusCode"] >= 500:
            raise AssertionError(f"{result['statusCode']} {result.get('body')}; the function logged: "
                                 f"{last_logged_error(self.emulator.log)}")
        return AWSResponse(request.url, result["statusCode"], result.get("headers", {}),
                           RawBody(result.get("body", "").encode("utf-8")))


def as_http_api_event(event: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The same request as the optional HTTP API front (ApiThrottleRate > 0) delivers it in payload 2.0: the
    body base64-encoded (application/x-amz-json-1.1 is not a text type to API Gateway), the forwarding headers
    it adds, its own request context."""
    headers = dict(event["headers"])
    headers.update({"content-length": str(len(body)), "x-forwarded-for": "203.0.113.7", "x-forwarded-port": "443",
                    "x-forwarded-proto": "https", "x-amzn-trace-id": "Root=1-00000000-000000000000000000000000"})
    context = dict(event["requestContext"], apiId="abc123", domainPrefix="abc123", accountId="123456789012")
    return dict(event, headers=headers, requestContext=context, isBase64Encoded=True,
                body=base64.b64encode(body).decode("ascii"))


def last_logged_error(log: Path) -> str:
    """The last exception the function logged (powertools JSON: level ERROR, "exception" field), last line."""
    found = "(none)"
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"level":"ERROR"' in line:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            found = f"{record.get('message')}: {str(record.get('exception', '')).strip().splitlines()[-1:]}"
    return found


def invoke(emulator: sandbox.Emulator, event: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
    return emulator.invoke(event, timeout)


def rekognition_client(emulator: sandbox.Emulator, key_id: str = KEY_ID, secret: str = SECRET,
                       http_api: bool = False) -> Any:
    client = boto3.session.Session().client(
        "rekognition", region_name=REGION, endpoint_url=HTTP_API_ENDPOINT if http_api else ENDPOINT,
        aws_access_key_id=key_id, aws_secret_access_key=secret, config=Config(retries={"total_max_attempts": 1}),
    )
    client.meta.events.register("before-send.rekognition", FunctionUrlTransport(emulator, http_api))
    return client


@pytest.fixture(scope="session")
def rekognition(emulator: sandbox.Emulator) -> Any:
    return rekognition_client(emulator)
