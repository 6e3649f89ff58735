"""The stack around the function in the artifact sandbox: moto (the project's local backend) stands in for the
account's S3, DynamoDB and Secrets Manager, holding the table, bucket and keys secret the template creates,
and the function's environment is the template's with each !Ref resolved to those. Shared by the artifact
test (conftest.py) and `python -m bench.refused --emulator`.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

from local.provision import create_bucket, create_table
from tests.artifact import sandbox

REGION = "us-east-1"
STACK = "facesearch"
ACCOUNT = "123456789012"
REPO = Path(__file__).resolve().parents[2]
ARTIFACT_DIR = REPO / ".cache" / "artifact"  # where `make artifact-test` builds


def default_python() -> str:
    """The dev venv's base interpreter: the one the deps twin is built for (mk/sam.mk ARTIFACT_PYTHON)."""
    return str(getattr(sys, "_base_executable", sys.executable))


def default_rie() -> Path:
    """aws-lambda-rie for this CPU, from the aws-sam-cli wheel in .venv-sam (mk/sam.mk RIE)."""
    arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    found = sorted(REPO.glob(f".venv-sam/lib/python*/site-packages/samcli/local/rapid/aws-lambda-rie-{arch}"))
    if not found:
        raise FileNotFoundError("no aws-lambda-rie in .venv-sam: run `make sam-venv` (or `make artifact-test`)")
    return found[-1]


def python_version(python: str) -> str:
    return subprocess.run([python, "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def aws_client(service: str, endpoint: str) -> Any:
    session: Any = boto3.session.Session()
    return session.client(service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id="moto",
                          aws_secret_access_key="moto")


def provision(backend: str, key_id: str, secret: str) -> dict[str, str]:
    """The stack's resources, made in moto: what each !Ref of the function's environment resolves to."""
    table, bucket = f"{STACK}-FacesTable-ARTIFACT", f"{STACK}-facesbucket-artifact"
    create_table(aws_client("dynamodb", backend), table)
    create_bucket(aws_client("s3", backend), bucket, REGION)
    keys = aws_client("secretsmanager", backend).create_secret(
        Name=f"{STACK}-KeysSecret-ARTIFACT",
        SecretString=json.dumps({"AccessKeyId": key_id, "SecretAccessKey": secret}),
    )
    return {"FacesTable": table, "FacesBucket": bucket, "KeysSecret": keys["ARN"], "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION, "AWS::StackName": STACK}


def environment(spec: sandbox.FunctionSpec, template: dict[str, Any], refs: dict[str, str], backend: str,
                python: str, function_name: str = f"{STACK}-api") -> dict[str, str]:
    env = sandbox.lambda_environment(spec, sandbox.function_environment(spec, template, refs),
                                     python_version(python), function_name=function_name, region=REGION)
    env.update({
        # The execution role's credentials (moto takes any) and the account's endpoints: moto, for every service.
        "AWS_ACCESS_KEY_ID": "ASIAARTIFACTTEST",
        "AWS_SECRET_ACCESS_KEY": "artifact-test",
        "AWS_SESSION_TOKEN": "artifact-test",
        "AWS_ENDPOINT_URL": backend,
    })
    return env
