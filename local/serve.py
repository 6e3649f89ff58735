"""`make serve`: the Lambda handler behind a local HTTP endpoint, with moto as S3 + DynamoDB.

Each HTTP request becomes the Function URL event the deployed function gets, so what answers
locally is the same code, auth included. By default an embedded moto server is the backend; set
FACESEARCH_AWS_ENDPOINT (any S3/DynamoDB-compatible endpoint) or FACESEARCH_BACKEND=aws (real AWS,
with your usual AWS credentials) to use another one.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
KEYS_FILE = ROOT / ".cache" / "dev-keys.json"
log = logging.getLogger("facesearch.local")


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_backend() -> object | None:
    """Start moto unless another backend is configured; returns the server to stop, if any."""
    if os.environ.get("FACESEARCH_BACKEND") == "aws" or os.environ.get("FACESEARCH_AWS_ENDPOINT"):
        return None
    from moto.server import ThreadedMotoServer

    port = int(os.environ.get("FACESEARCH_MOTO_PORT") or free_port())
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ["FACESEARCH_AWS_ENDPOINT"] = f"http://127.0.0.1:{port}"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "moto")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "moto")
    return server


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


class LambdaHTTPHandler(BaseHTTPRequestHandler):
    """Every method goes to the handler, which refuses what is not `POST /` as the service does."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # header and body are two writes: Nagle + delayed ACK add ~40 ms

    def _deliver(self) -> None:
        import app
        from local.lambda_event import LambdaContext, function_url_event

        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        event = function_url_event(self.command, url.path or "/", url.query, dict(self.headers.items()), body,
                                   source_ip=self.client_address[0])
        result = app.lambda_handler(event, LambdaContext.fresh())
        payload = result["body"].encode("utf-8")
        self.send_response(result["statusCode"])
        for name, value in result["headers"].items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _deliver

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)


def usage(endpoint: str, key_id: str, secret: str, region: str) -> str:
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

Ctrl-C stops it (moto keeps its data in memory only).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8085")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sys.path.insert(0, str(ROOT / "functions" / "api"))

    key_id, secret = dev_keys()
    backend = start_backend()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    configure_environment(key_id, secret)
    provision()
    server = ThreadingHTTPServer((args.host, args.port), LambdaHTTPHandler)
    endpoint = f"http://{args.host}:{args.port}"
    print(usage(endpoint, key_id, secret, os.environ["AWS_REGION"]), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if backend is not None:
            backend.stop()  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
