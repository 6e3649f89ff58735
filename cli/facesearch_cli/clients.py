"""boto3 clients the way the AWS CLI makes them: the standard credential chain, profile and region, plus an
endpoint (--endpoint-url, else AWS_ENDPOINT_URL_REKOGNITION / AWS_ENDPOINT_URL), with botocore's adaptive
retries (they back off on ThrottlingException and ProvisionedThroughputExceededException).

The extension operations' model ships in the facesearch package; it is added to botocore's search path here,
so the command needs no AWS_DATA_PATH.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

EXTENSION_MODELS = resources.files("facesearch.wire") / "models"


@dataclass(frozen=True)
class Connection:
    endpoint_url: str | None
    region: str | None
    profile: str | None
    workers: int = 8

    @classmethod
    def from_args(cls, args: Any) -> Connection:
        endpoint = (args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_REKOGNITION")
                    or os.environ.get("AWS_ENDPOINT_URL"))
        return cls(endpoint, args.region, args.profile, getattr(args, "workers", 8))

    def config(self) -> Config:
        return Config(retries={"mode": "adaptive", "max_attempts": 8}, max_pool_connections=max(10, self.workers),
                      read_timeout=120, connect_timeout=10)

    def _session(self) -> boto3.session.Session:
        core = botocore.session.Session(profile=self.profile)
        loader = core.get_component("data_loader")
        loader.search_paths.insert(0, str(EXTENSION_MODELS))
        return boto3.session.Session(botocore_session=core, region_name=self.region)

    def rekognition(self) -> Any:
        return self._session().client("rekognition", endpoint_url=self.endpoint_url, config=self.config())

    def extensions(self) -> Any:
        """The facesearch extension operations' client (same endpoint, keys and signing as Rekognition's)."""
        session: Any = self._session()  # the stubs know AWS's service names only
        return session.client("facesearch", endpoint_url=self.endpoint_url, config=self.config())


def s3_client(profile: str | None, region: str | None, endpoint_url: str | None) -> Any:
    """S3, for s3:// locations and video uploads: its own profile and endpoint (the facesearch keys are not
    AWS keys). AWS_ENDPOINT_URL names the facesearch endpoint here, so S3 does not take it (botocore would
    send every S3 call there): --s3-endpoint-url or AWS_ENDPOINT_URL_S3, else S3 itself (while
    AWS_ENDPOINT_URL is set, a profile's configured endpoint_url is ignored too)."""
    session = boto3.session.Session(profile_name=profile, region_name=region)
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3")
    ignore = endpoint is None and bool(os.environ.get("AWS_ENDPOINT_URL"))
    # botocore takes this option since 1.31; botocore-stubs does not list it
    config = Config(ignore_configured_endpoint_urls=True) if ignore else None  # type: ignore[call-arg]
    return session.client("s3", endpoint_url=endpoint, config=config)
