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
    sns_endpoint: str | None = None  # where video job notices are published (the local backend); None = AWS
    video_function_name: str | None = None  # the video worker function Start* hands jobs to (deployed)
    video_job_limit: int = 20  # stored-video jobs running at once (Rekognition's default quota)
    video_segment_ms: int = 180_000  # video time one worker invocation analyses
    video_step_ms: int = 200  # between two sampled frames (about 5 a second, as Rekognition's examples)
    video_deadline_ms: int = 3_600_000  # a job still running this long (+ 3x the video's duration) has failed
    video_workers: int = 2  # threads analysing video in this process when no worker function is set

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
            sns_endpoint=env.get("FACESEARCH_SNS_ENDPOINT") or endpoint,
            video_function_name=env.get("FACESEARCH_VIDEO_FUNCTION") or None,
            video_job_limit=int(env.get("FACESEARCH_VIDEO_JOB_LIMIT", "20")),
            video_segment_ms=int(float(env.get("FACESEARCH_VIDEO_SEGMENT_SECONDS", "180")) * 1000),
            video_step_ms=int(env.get("FACESEARCH_VIDEO_STEP_MS", "200")),
            video_deadline_ms=int(float(env.get("FACESEARCH_VIDEO_DEADLINE_MINUTES", "60")) * 60_000),
            video_workers=max(1, int(env.get("FACESEARCH_VIDEO_WORKERS", "2"))),

        )

    def may_read(self, bucket: str) -> bool:
        """Whether Image.S3Object may name this bucket: an input bucket ("*": any), never the service's own
        (it holds the embeddings; answering for its keys would tell which exist)."""
        return bucket != self.bucket_name and ("*" in self.input_buckets or bucket in self.input_buckets)
