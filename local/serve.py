"""`make serve`: the Lambda handler behind a local HTTP endpoint, with moto as S3 + DynamoDB.

Each HTTP request becomes the Function URL event the deployed function gets, so what answers
locally is the same code, auth included (local/function_url.py; the HTTP server and its limits are
local/http_server.py). By default an embedded moto process is the backend (local/backend.py), and what
it acknowledges is kept in FACESEARCH_DATA_DIR (default .cache/local-data; local/durable.py) across
restarts, kill -9 included; --fresh starts empty. Set FACESEARCH_AWS_ENDPOINT (any S3/DynamoDB-compatible
endpoint) or FACESEARCH_BACKEND=aws (real AWS, with your usual AWS credentials) to use another backend.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
from pathlib import Path

from local import backend as local_backend
from local import demo
from local.backend import Backend
from local.function_url import FunctionUrl
from local.http_server import Limits, make_server

ROOT = Path(__file__).resolve().parents[1]
KEYS_FILE = ROOT / ".cache" / "dev-keys.json"
DATA_DIR = ROOT / ".cache" / "local-data"


def data_dir() -> Path:
    """Where the embedded backend keeps its data: FACESEARCH_DATA_DIR, else .cache/local-data."""
    return Path(os.environ.get("FACESEARCH_DATA_DIR") or DATA_DIR).resolve()


def dev_keys() -> tuple[str, str]:
    """The key pair requests must be signed with: the environment's, else a generated, remembered one."""
    key_id = os.environ.get("FACESEARCH_ACCESS_KEY_ID")
    secret = os.environ.get("FACESEARCH_SECRET_ACCESS_KEY")
    if key_id and secret:
        return key_id, secret
    if KEYS_FILE.exists():
        stored = json.loads(KEYS_FILE.read_text())
        return stored["AccessKeyId"], stored["SecretAccessKey"]
    key_id = "FSK" + secrets.token_hex(8).upper()
    secret = secrets.token_urlsafe(30)
    KEYS_FILE.parent.mkdir(parents=True, exist_ok=True)
    KEYS_FILE.write_text(json.dumps({"AccessKeyId": key_id, "SecretAccessKey": secret}))
    KEYS_FILE.chmod(0o600)
    return key_id, secret


def start_backend(fresh: bool = False, fsync: bool = False) -> Backend | None:
    """Start the embedded moto process unless another backend is configured; returns it, to stop."""
    if os.environ.get("FACESEARCH_BACKEND") == "aws" or os.environ.get("FACESEARCH_AWS_ENDPOINT"):
        return None
    try:
        backend = local_backend.start(port=int(os.environ.get("FACESEARCH_MOTO_PORT") or 0), timeout=None,
                                      data_dir=data_dir(), fresh=fresh, fsync=fsync)
    except RuntimeError as error:
        raise SystemExit(str(error)) from None
    print(f"local data: {data_dir()}" + (" (emptied: --fresh)" if fresh else ""), flush=True)
    for note in backend.notes:
        print(f"  {note}", flush=True)
    os.environ["FACESEARCH_AWS_ENDPOINT"] = backend.endpoint
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "moto")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "moto")
    return backend


def configure_environment(key_id: str, secret: str) -> None:
    defaults = {
        "TABLE_NAME": "facesearch",
        "BUCKET_NAME": "facesearch-local",
        "INPUT_BUCKETS": "*",
        "AWS_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "POWERTOOLS_SERVICE_NAME": "facesearch",
        "POWERTOOLS_METRICS_NAMESPACE": "FaceSearch",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    os.environ["FACESEARCH_ACCESS_KEY_ID"] = key_id
    os.environ["FACESEARCH_SECRET_ACCESS_KEY"] = secret


def provision() -> None:
    from facesearch.services import dynamodb_client, s3_client
    from facesearch.settings import Settings
    from local.provision import create_bucket, create_table

    settings = Settings.from_env()
    create_table(dynamodb_client(settings), settings.table_name)
    create_bucket(s3_client(settings), settings.bucket_name, settings.region)


def end_orphaned_video_jobs() -> None:
    from facesearch import services
    from facesearch.operations.video import jobs

    ended = jobs.end_orphans(services.services(), "The local server stopped while the job was running.")
    if ended:
        print(f"  ended {ended} video job(s) left running by the previous run (FAILED; start them again)")


def stopping(backend: Backend | None, fsync: bool) -> str:
    if backend is None:
        return "Ctrl-C stops it."
    durability = "through a crash, a kill -9 or a power loss (--fsync)" if fsync else \
        "through a crash or a kill -9; --fsync: a power loss too"
    return f"Ctrl-C stops it; the data stays in {data_dir()} ({durability}). make serve FRESH=1 starts empty."


def usage(endpoint: str, key_id: str, secret: str, region: str, backend: Backend | None = None,
          fsync: bool = False) -> str:
    return f"""
facesearch is listening on {endpoint}  (region {region}; backend {os.environ.get('FACESEARCH_AWS_ENDPOINT', 'AWS')})

  access key id:     {key_id}
  secret access key: {secret}

boto3:
  import boto3
  rekognition = boto3.client("rekognition", endpoint_url="{endpoint}", region_name="{region}",
                             aws_access_key_id="{key_id}", aws_secret_access_key="{secret}")
  rekognition.create_collection(CollectionId="my-faces")
  print(rekognition.list_collections())

aws CLI:
  AWS_ACCESS_KEY_ID={key_id} AWS_SECRET_ACCESS_KEY={secret} \\
    aws rekognition list-collections --endpoint-url {endpoint} --region {region}

demo page (drop a photo, see every face and its matches; the keys are in the link's #fragment):
  {demo.demo_url(endpoint, key_id, secret, region)}
{video_recipe(endpoint, key_id, secret, region)}
{stopping(backend, fsync)}
"""


def video_recipe(endpoint: str, key_id: str, secret: str, region: str) -> str:
    """Stored video: the caller's videos, topics and queues live in the backend, so clients point S3, SNS, SQS
    and IAM there and Rekognition here (README "Stored video"); nothing to say without an embedded backend."""
    backend = os.environ.get("FACESEARCH_AWS_ENDPOINT")
    if not backend:
        return ""
    return f"""
stored video (StartFaceDetection / StartFaceSearch; videos, SNS topics and SQS queues live in the backend):
  export AWS_ACCESS_KEY_ID={key_id} AWS_SECRET_ACCESS_KEY={secret} AWS_DEFAULT_REGION={region}
  export AWS_ENDPOINT_URL={backend} AWS_ENDPOINT_URL_REKOGNITION={endpoint}
  # then AWS's own video examples run unchanged (README: Stored video)
"""


def main(argv: list[str] | None = None) -> int:
    defaults = Limits()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8085")))
    parser.add_argument("--threads", type=int, default=defaults.threads, help="requests handled at once")
    parser.add_argument("--connection-limit", type=int, default=defaults.connection_limit)
    parser.add_argument("--idle-timeout", type=int, default=defaults.idle_timeout,
                        help="seconds a connection may stay silent before it is closed")
    parser.add_argument("--request-timeout", type=float, default=defaults.request_timeout,
                        help="seconds a request may take to arrive, first byte to last")
    parser.add_argument("--fresh", action="store_true",
                        help="delete what the embedded backend kept (FACESEARCH_DATA_DIR) and start empty")
    parser.add_argument("--fsync", action="store_true", default=os.environ.get("FACESEARCH_FSYNC") == "1",
                        help="each write of the embedded backend reaches the disk before it is answered, so it "
                             "also survives a power loss (FACESEARCH_FSYNC=1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sys.path.insert(0, str(ROOT / "functions" / "api"))

    key_id, secret = dev_keys()
    backend = start_backend(fresh=args.fresh, fsync=args.fsync)
    configure_environment(key_id, secret)
    provision()
    import app

    if backend is not None:  # only this server works on the embedded backend's jobs: the last one's died with it
        end_orphaned_video_jobs()

    limits = Limits(threads=args.threads, connection_limit=args.connection_limit, idle_timeout=args.idle_timeout,
                    request_timeout=args.request_timeout)
    server = make_server(demo.with_demo(FunctionUrl(app.lambda_handler)), args.host, args.port, limits)
    endpoint = f"http://{args.host}:{args.port}"
    print(usage(endpoint, key_id, secret, os.environ["AWS_REGION"], backend, args.fsync), flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if backend is not None:
            backend.stop()
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Video work runs on daemon threads that may be inside native code (the decoder, onnxruntime): finalizing
    # the interpreter under them can abort it, so leave at once; the backend has stopped and kept its data.
    os._exit(status)
