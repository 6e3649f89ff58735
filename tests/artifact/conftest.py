"""Fixtures of the artifact test: the built artifact served by the Lambda Runtime Interface Emulator in a private
mount namespace, moto as the account's S3, DynamoDB and Secrets Manager, and a boto3 Rekognition client whose
requests arrive as Function URL events.

Only `make artifact-test` runs these (it builds the artifact and sets FACESEARCH_ARTIFACT); `make test` skips
them. Where no private mount namespace can be made (not root, no user namespaces) they skip with the reason,
except under CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from local import backend as local_backend
from local.lambda_event import function_url_event
from local.provision import create_bucket, create_table
from tests.artifact import sandbox

ARTIFACT = os.environ.get("FACESEARCH_ARTIFACT", "")
RIE = os.environ.get("FACESEARCH_RIE", "")
# The interpreter the runtime runs: the dev venv's base python, for which the deps layer's twin was built.
PYTHON = os.environ.get("FACESEARCH_ARTIFACT_PYTHON", getattr(sys, "_base_executable", sys.executable))

REGION = "us-east-1"
STACK = "facesearch"
ACCOUNT = "123456789012"
KEY_ID = "FSKARTIFACTTEST"
SECRET = "artifact-test-secret-access-key"
ENDPOINT = "https://abcdefghij.lambda-url.us-east-1.on.aws"  # what a client would name; requests go to the RIE

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


def aws_client(service: str, endpoint: str) -> Any:
    session: Any = boto3.session.Session()
    return session.client(service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id="moto",
                          aws_secret_access_key="moto")


@pytest.fixture(scope="session")
def refs(backend: str) -> dict[str, str]:
    """The stack's resources, made in moto: what each !Ref of the function's environment resolves to."""
    table, bucket = f"{STACK}-FacesTable-ARTIFACT", f"{STACK}-facesbucket-artifact"
    create_table(aws_client("dynamodb", backend), table)
    create_bucket(aws_client("s3", backend), bucket, REGION)
    secret = aws_client("secretsmanager", backend).create_secret(
        Name=f"{STACK}-KeysSecret-ARTIFACT",
        SecretString=json.dumps({"AccessKeyId": KEY_ID, "SecretAccessKey": SECRET}),
    )
    return {"FacesTable": table, "FacesBucket": bucket, "KeysSecret": secret["ARN"], "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION, "AWS::StackName": STACK}


@pytest.fixture(scope="session")
def environment(spec: sandbox.FunctionSpec, template: dict[str, Any], refs: dict[str, str],
                backend: str) -> dict[str, str]:
    version = subprocess.run([PYTHON, "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    env = sandbox.lambda_environment(spec, sandbox.function_environment(spec, template, refs), version,
                                     function_name=f"{STACK}-api", region=REGION)
    env.update({
        # The execution role's credentials (moto takes any) and the account's endpoints: moto, for every service.
        "AWS_ACCESS_KEY_ID": "ASIAARTIFACTTEST",
        "AWS_SECRET_ACCESS_KEY": "artifact-test",
        "AWS_SESSION_TOKEN": "artifact-test",
        "AWS_ENDPOINT_URL": backend,
    })
    return env


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

    def __init__(self, emulator: sandbox.Emulator) -> None:
        self.emulator = emulator

    def __call__(self, request: AWSPreparedRequest, **_: object) -> AWSResponse:
        url = urlsplit(request.url)
        signed: Any = request.headers.items()  # botocore keeps some values as bytes
        headers = {name: value.decode() if isinstance(value, bytes) else value for name, value in signed}
        headers.setdefault("Host", url.netloc)
        raw: Any = request.body or b""
        body: bytes = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        event = function_url_event(request.method, url.path or "/", url.query, headers, body)
        result = invoke(self.emulator, event)
        if "statusCode" not in result:
            raise AssertionError(f"the function did not answer with an HTTP response: {result}")
        if result["statusCode"] >= 500:
            raise AssertionError(f"{result['statusCode']} {result.get('body')}; the function logged: "
                                 f"{last_logged_error(self.emulator.log)}")
        return AWSResponse(request.url, result["statusCode"], result.get("headers", {}),
                           _Raw(result.get("body", "").encode("utf-8")))


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
    posted = urllib.request.Request(emulator.invoke_url, data=json.dumps(event).encode(), method="POST")
    with urllib.request.urlopen(posted, timeout=timeout) as answer:
        result: dict[str, Any] = json.loads(answer.read() or b"null") or {}
    return result


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self._data

    def read(self, *_: object) -> bytes:
        return self._data


def rekognition_client(emulator: sandbox.Emulator, key_id: str = KEY_ID, secret: str = SECRET) -> Any:
    client = boto3.session.Session().client(
        "rekognition", region_name=REGION, endpoint_url=ENDPOINT, aws_access_key_id=key_id,
        aws_secret_access_key=secret, config=Config(retries={"total_max_attempts": 1}),
    )
    client.meta.events.register("before-send.rekognition", FunctionUrlTransport(emulator))
    return client


@pytest.fixture(scope="session")
def rekognition(emulator: sandbox.Emulator) -> Any:
    return rekognition_client(emulator)
