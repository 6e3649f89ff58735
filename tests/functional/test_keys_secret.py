"""Deployed keys: the access key pairs come from the Secrets Manager secret named by KEYS_SECRET_ARN."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import REGION, make_client


@pytest.fixture
def deployed_keys(aws, monkeypatch):
    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = secrets.create_secret(
        Name="facesearch-keys",
        SecretString=json.dumps({"Keys": [
            {"AccessKeyId": "FSKADMIN", "SecretAccessKey": "admin-secret"},
            {"AccessKeyId": "FSKREADER", "SecretAccessKey": "reader-secret", "Actions": ["List*", "Describe*"]},
        ]}),
    )["ARN"]
    monkeypatch.delenv("FACESEARCH_ACCESS_KEY_ID")
    monkeypatch.delenv("FACESEARCH_SECRET_ACCESS_KEY")
    monkeypatch.setenv("KEYS_SECRET_ARN", arn)
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    from facesearch import services

    services.reset()
    yield
    parameters.clear_caches()


def test_keys_from_the_secret_sign_requests(deployed_keys):
    admin = make_client(key_id="FSKADMIN", secret="admin-secret")
    admin.create_collection(CollectionId="from-secret")
    reader = make_client(key_id="FSKREADER", secret="reader-secret")
    assert "from-secret" in reader.list_collections()["CollectionIds"]


def test_a_key_is_limited_to_its_actions(deployed_keys):
    reader = make_client(key_id="FSKREADER", secret="reader-secret")
    with pytest.raises(ClientError) as excinfo:
        reader.create_collection(CollectionId="nope")
    assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"


def test_the_dev_keys_are_not_accepted_once_deployed(deployed_keys):
    with pytest.raises(ClientError) as excinfo:
        make_client().list_collections()
    assert excinfo.value.response["Error"]["Code"] == "UnrecognizedClientException"
