"""What every request is handed: the settings and the edges (storage, the index, input objects, the face pipeline).

Built once per warm function from one Settings; tests build their own (moto clients, a fake invoker).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, cast

import boto3
from botocore.config import Config

from facesearch.index import EmbeddingIndex
from facesearch.index.fanout import Invoker, LambdaInvoker, ThreadInvoker
from facesearch.index.shards import ShardCache
from facesearch.settings import Settings
from facesearch.storage import Storage
from facesearch.storage.input_objects import InputObjects
from facesearch.storage.notices import Notices
from facesearch.video.launch import LambdaLauncher, Launcher, ThreadLauncher
from facesearch.vision import FACE_MODEL_VERSION
from facesearch.vision.pipeline import FacePipeline, LazyPipeline
from facesearch.wire.auth import AccessKey, KeyRing

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sns.client import SNSClient

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)


@dataclass(frozen=True)
class Services:
    settings: Settings
    storage: Storage
    index: EmbeddingIndex
    inputs: InputObjects  # the callers' own objects requests name (Image.S3Object)
    pipeline: Callable[[], FacePipeline]
    launcher: Launcher  # hands video job work to a worker (the video worker function, or threads here)
    notices: Notices  # video jobs' completion notices (SNS)
    caller: AccessKey | None = None  # the key this request was signed with (handler.handle sets it)

    def for_caller(self, key: AccessKey) -> Services:
        return dataclasses.replace(self, caller=key)


class _Lazy:
    """An AWS client made on first use: a cold start that never touches S3 (or DynamoDB) does not pay for
    loading that service's model (~100-150 ms for S3's)."""

    def __init__(self, make: Callable[[], object]) -> None:
        self._make = make
        self._client: object | None = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> object:
        with self._lock:
            if self._client is None:
                self._client = self._make()
        return getattr(self._client, name)


def s3_client(settings: Settings) -> S3Client:
    return boto3.session.Session().client("s3", region_name=settings.region, endpoint_url=settings.s3_endpoint,
                                          config=_CLIENT_CONFIG)


def dynamodb_client(settings: Settings) -> DynamoDBClient:
    return boto3.session.Session().client("dynamodb", region_name=settings.region,
                                          endpoint_url=settings.dynamodb_endpoint, config=_CLIENT_CONFIG)


def sns_client(settings: Settings) -> SNSClient:
    return boto3.session.Session().client("sns", region_name=settings.region, endpoint_url=settings.sns_endpoint,
                                          config=_CLIENT_CONFIG)


def video_launcher(settings: Settings) -> Launcher:
    """Invocations of the video worker function when deployed; threads in this process otherwise."""
    if settings.video_function_name and not settings.local:
        client = boto3.client("lambda", region_name=settings.region,
                              config=Config(retries={"mode": "standard", "max_attempts": 5}))
        return LambdaLauncher(client, settings.video_function_name)
    return ThreadLauncher(workers=settings.video_workers)


def build_services(settings: Settings, invoker: Invoker | None = None, launcher: Launcher | None = None) -> Services:
    s3 = cast("S3Client", _Lazy(lambda: s3_client(settings)))
    dynamodb = cast("DynamoDBClient", _Lazy(lambda: dynamodb_client(settings)))
    storage = Storage.connect(dynamodb, s3, settings.table_name, settings.bucket_name)
    cache_ = ShardCache(storage.segments, cache_bytes=settings.cache_mb << 20)
    chosen: list[Invoker] = [invoker] if invoker is not None else []

    def get_invoker() -> Invoker:
        """Lambda invocations of this function when deployed; threads in this process otherwise."""
        if not chosen:
            if settings.function_name and not settings.local:
                config = Config(read_timeout=settings.fanout_timeout, retries={"mode": "standard", "max_attempts": 2})
                chosen.append(LambdaInvoker(boto3.client("lambda", region_name=settings.region, config=config),
                                            settings.function_name, timeout=settings.fanout_timeout,
                                            qualifier=settings.function_qualifier))
            else:
                chosen.append(ThreadInvoker(lambda event: index.run_slice(event), timeout=settings.fanout_timeout))
        return chosen[0]

    index = EmbeddingIndex(storage, cache_, FACE_MODEL_VERSION, settings.fanout_rows, get_invoker)
    pipeline = LazyPipeline(settings.model_dir, settings.intra_op_threads)
    inputs = InputObjects(s3, settings.may_read)
    notices = Notices(cast("SNSClient", _Lazy(lambda: sns_client(settings))))
    return Services(settings=settings, storage=storage, index=index, inputs=inputs, pipeline=pipeline,
                    launcher=launcher or video_launcher(settings), notices=notices)


@cache
def services() -> Services:
    """The warm function's services, from the environment's settings."""
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
