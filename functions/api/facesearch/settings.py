"""The deployment's settings: read from the environment in this one place, then passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# <repo>/functions/api/facesearch/settings.py -> <repo>/.cache/models (a dev checkout; unused on Lambda)
_HERE = Path(__file__).resolve()
LOCAL_MODEL_DIR = (_HERE.parents[3] if len(_HERE.parents) > 3 else _HERE.parent) / ".cache" / "models"
LAYER_MODEL_DIR = Path("/opt/models")


def _model_dir(env: Mapping[str, str]) -> Path:
    """$FACESEARCH_MODEL_DIR, else the Lambda layer's /opt/models, else the repo's .cache/models."""
    if env.get("FACESEARCH_MODEL_DIR"):
        return Path(env["FACESEARCH_MODEL_DIR"])
    return LAYER_MODEL_DIR if LAYER_MODEL_DIR.is_dir() else LOCAL_MODEL_DIR


@dataclass(frozen=True)
class Settings:
    table_name: str = "facesearch"
    bucket_name: str = "facesearch"
    region: str = "us-east-1"
    account_id: str = "000000000000"
    input_buckets: frozenset[str] = frozenset()  # buckets Image.S3Object may name; "*" = any (local mode)
    keys_secret_arn: str | None = None
    local_access_key_id: str | None = None
    local_secret_access_key: str | None = None
    s3_endpoint: str | None = None  # another S3 / DynamoDB (the local moto server); None = AWS
    dynamodb_endpoint: str | None = None
    function_name: str | None = None  # set on Lambda: fan-out invokes this function
    function_qualifier: str | None = None  # the alias fan-out invokes (SnapStart applies to published versions)
    initialization_type: str | None = None  # Lambda's AWS_LAMBDA_INITIALIZATION_TYPE ("snap-start", ...)
    local: bool = False  # FACESEARCH_LOCAL: fan out to threads even where a function name is set
    fanout_rows: int = 1_000_000  # rows one invocation scans at most (~20 ms and 152 MB of compact shards)
    fanout_timeout: float = 20.0  # seconds every slice of a fanned-out search has to answer
    cache_mb: int = 1024  # decoded shards kept in a warm function
    model_dir: Path = LOCAL_MODEL_DIR
    intra_op_threads: int = 1  # onnxruntime threads per operator
    metrics_namespace: str = "FaceSearch"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        buckets = frozenset(b.strip() for b in env.get("INPUT_BUCKETS", "").split(",") if b.strip())
        endpoint = env.get("FACESEARCH_AWS_ENDPOINT") or None
        return cls(
            table_name=env.get("TABLE_NAME", "facesearch"),
            bucket_name=env.get("BUCKET_NAME", "facesearch"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            account_id=env.get("FACESEARCH_ACCOUNT_ID", "000000000000"),
            input_buckets=buckets,
            keys_secret_arn=env.get("KEYS_SECRET_ARN") or None,
            local_access_key_id=env.get("FACESEARCH_ACCESS_KEY_ID") or None,
            local_secret_access_key=env.get("FACESEARCH_SECRET_ACCESS_KEY") or None,
            s3_endpoint=env.get("FACESEARCH_S3_ENDPOINT") or endpoint,
            dynamodb_endpoint=env.get("FACESEARCH_DYNAMODB_ENDPOINT") or endpoint,
            function_name=env.get("AWS_LAMBDA_FUNCTION_NAME") or None,
            function_qualifier=env.get("FACESEARCH_FUNCTION_ALIAS") or None,
            initialization_type=env.get("AWS_LAMBDA_INITIALIZATION_TYPE") or None,
            local=bool(env.get("FACESEARCH_LOCAL")),
            fanout_rows=int(env.get("FACESEARCH_FANOUT_ROWS", "1000000")),
            fanout_timeout=float(env.get("FACESEARCH_FANOUT_TIMEOUT", "20")),
            cache_mb=int(env.get("FACESEARCH_CACHE_MB", "1024")),
            model_dir=_model_dir(env),
            intra_op_threads=max(1, int(env.get("FACESEARCH_INTRA_OP_THREADS") or os.cpu_count() or 1)),
            metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE", "FaceSearch"),
        )

    def may_read(self, bucket: str) -> bool:
        """Whether Image.S3Object may name this bucket: an input bucket ("*": any), never the service's own
        (it holds the embeddings; answering for its keys would tell which exist)."""
        return bucket != self.bucket_name and ("*" in self.input_buckets or bucket in self.input_buckets)
