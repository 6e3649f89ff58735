"""The deployment's settings, read once from the environment into a frozen dataclass."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

FACE_MODEL_VERSION = "7.0"  # what FaceModelVersion reports: the YuNet 2023mar + SFace 2021dec pipeline


@dataclass(frozen=True)
class Settings:
    table_name: str
    bucket_name: str
    region: str
    account_id: str
    input_buckets: frozenset[str]  # buckets Image.S3Object may name (the service's own bucket excluded)
    keys_secret_arn: str | None
    local_access_key_id: str | None
    local_secret_access_key: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        buckets = frozenset(b.strip() for b in env.get("INPUT_BUCKETS", "").split(",") if b.strip())
        return cls(
            table_name=env.get("TABLE_NAME", "facesearch"),
            bucket_name=env.get("BUCKET_NAME", "facesearch"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            account_id=env.get("FACESEARCH_ACCOUNT_ID", "000000000000"),
            input_buckets=buckets,
            keys_secret_arn=env.get("KEYS_SECRET_ARN") or None,
            local_access_key_id=env.get("FACESEARCH_ACCESS_KEY_ID") or None,
            local_secret_access_key=env.get("FACESEARCH_SECRET_ACCESS_KEY") or None,
        )
