"""Builds, once per warm function, the services every request shares (clients, keys, caches)."""

from __future__ import annotations

import os
from functools import cache

import boto3
from botocore.config import Config

from facesearch.wire.auth import AccessKey, KeyRing
from facesearch.settings import Settings
from facesearch.operations import Services
from facesearch.resources import Resources
from facesearch.index.shards import SegmentStore
from facesearch.storage.table import Table

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)


def _client(name: str, settings: Settings):  # type: ignore[no-untyped-def]
    """A client for S3/DynamoDB; FACESEARCH_<NAME>_ENDPOINT points it elsewhere (the local moto server)."""
    endpoint = os.environ.get(f"FACESEARCH_{name.upper()}_ENDPOINT") or os.environ.get("FACESEARCH_AWS_ENDPOINT")
    return boto3.session.Session().client(
        name, region_name=settings.region, endpoint_url=endpoint or None, config=_CLIENT_CONFIG
    )


def build_services(settings: Settings) -> Services:
    s3 = _client("s3", settings)
    cache_mb = int(os.environ.get("FACESEARCH_CACHE_MB", "1024"))
    return Services(
        settings=settings,
        table=Table(_client("dynamodb", settings), settings.table_name),
        s3=s3,
        resources=Resources(SegmentStore(s3, settings.bucket_name, cache_bytes=cache_mb << 20)),
    )


@cache
def services() -> Services:
    return build_services(Settings.from_env())


def key_ring(settings: Settings) -> KeyRing:
    """The access keys requests may be signed with: local env keys, else the Secrets Manager secret."""
    if settings.local_access_key_id and settings.local_secret_access_key:
        key = AccessKey(settings.local_access_key_id, settings.local_secret_access_key)
        return KeyRing({key.access_key_id: key})
    if settings.keys_secret_arn:
        from aws_lambda_powertools.utilities import parameters

        text = parameters.get_secret(settings.keys_secret_arn, max_age=300)
        return KeyRing.from_json(text if isinstance(text, str) else text.decode("utf-8"))
    return KeyRing({})


def reset() -> None:
    """Forget the warm state (tests switch environments between cases)."""
    services.cache_clear()
