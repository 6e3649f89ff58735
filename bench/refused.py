"""What a refused request costs: the warm handler's time for a request signed with a wrong secret, and the price
of a million of them on Lambda (and behind the optional HTTP API front).

    .venv/bin/python -m bench.refused                      # ~10 s
    .venv/bin/python -m bench.refused --requests 5000 --memory-mb 1024
    .venv/bin/python -m bench.refused --emulator           # also through the Lambda runtime (~30 s; after
                                                           # `make artifact-test`, as root or with user namespaces)

The Function URL is public (AuthType NONE: the handler checks SigV4 itself), so anyone who finds it can make
the function run and bill; this measures what one such request costs. It calls `app.lambda_handler` in this
process, warm, as Lambda would: powertools logger, metrics and tracer on (the template turns tracing on; a
sampled trace id is set, and the X-Ray SDK sends its segments to a local UDP port nobody reads), the access
keys read from a Secrets Manager secret (moto) and cached, as deployed. Each refusal's output (the log line and
the EMF metric lines, which CloudWatch Logs ingests and bills) is counted, not printed.

With --emulator the same requests also go through the built artifact under the Lambda Runtime Interface
Emulator and awslambdaric (tests/artifact/sandbox.py, as `make artifact-test` runs it), and the durations are
the ones the emulator's REPORT lines give: the runtime's own work per invoke (event and response JSON, the
Runtime API round trip) included, which is what Lambda bills.

Prices (us-east-1 list, bench.cost.Prices): Lambda arm64 $0.0000133334 per GB-s with 1 ms billing
granularity, $0.20 per million requests; API Gateway HTTP API $1.00 per million; CloudWatch Logs ingestion
$0.50 per GB. The memory size is template.yaml's MemorySize default. This machine is x86; Lambda runs arm64
at the memory's share of a vCPU, so the duration is an estimate, taken as is. A benchmark: it prints numbers
and asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import math
import os
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common.tables import boxed
from bench.common.timing import load_average, pct
from bench.cost import MILLION, Prices

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
KEY_ID = "FSKBENCHREFUSED"
SECRET = "the-real-secret-access-key"
HTTP_API_REQUEST = 1.00 / MILLION
LOGS_PER_GB = 0.50
GB = 1024**3


def template_memory_mb() -> int:
    """MemorySize's default in template.yaml (read as text: the template's !Ref tags need no YAML loader)."""
    text = (REPO / "template.yaml").read_text()
    match = re.search(r"^  MemorySize:\n(?:    .*\n)*?    Default: (\d+)", text, re.MULTILINE)
    if not match:
        raise SystemExit("template.yaml has no MemorySize parameter default")
    return int(match.group(1))


class CountingSink(io.TextIOBase):
    """Stands in for stdout: counts what the function writes (CloudWatch Logs ingests it), keeps nothing."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode("utf-8"))
        return len(text)


def environment(log_level: str, tracing: bool) -> dict[str, str]:
    env = {
        "TABLE_NAME": "facesearch-bench", "BUCKET_NAME": "facesearch-bench", "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_SERVICE_NAME": "facesearch", "POWERTOOLS_METRICS_NAMESPACE": "FaceSearch",
        "POWERTOOLS_LOG_LEVEL": log_level, "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false", "AWS_LAMBDA_FUNCTION_NAME": "facesearch-api",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048", "FACESEARCH_FUNCTION_ALIAS": "live",
    }
    if tracing:  # powertools traces only where LAMBDA_TASK_ROOT is set; the X-Ray SDK needs a trace header
        env["LAMBDA_TASK_ROOT"] = str(REPO / "functions" / "api")
        root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
        env["_X_AMZN_TRACE_ID"] = f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=1"
        env["AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1:2000"
    else:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def refused_event(secret: str | None, key_id: str = KEY_ID) -> dict[str, Any]:
    """A ListCollections Function URL event as botocore signs it (with `secret`; None: not signed at all)."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    from local.function_url_event import function_url_event

    captured: list[dict[str, Any]] = []

    def capture(request: Any, **_: object) -> Any:
        from botocore.awsrequest import AWSResponse, HTTPHeaders

        url = urlsplit(request.url)
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        headers.setdefault("Host", url.netloc)
        body = request.body.encode() if isinstance(request.body, str) else bytes(request.body or b"")
        captured.append(function_url_event(request.method, url.path or "/", url.query, headers, body))
        return AWSResponse(request.url, 200, HTTPHeaders(), _Empty())

    config = Config(signature_version=UNSIGNED) if secret is None else Config()
    client = boto3.session.Session().client(
        "rekognition", region_name=REGION, endpoint_url="https://abcdefghij.lambda-url.us-east-1.on.aws",
        aws_access_key_id=key_id, aws_secret_access_key=secret or "unused", config=config)
    client.meta.events.register("before-send.rekognition", capture)
    client.list_collections()
    return captured[0]


class _Empty:
    def stream(self, **_: object) -> Any:
        yield b"{}"

    def read(self, *_: object) -> bytes:
        return b"{}"


def measure(handler: Callable[[dict[str, Any], Any], dict[str, Any]], event: dict[str, Any], sink: CountingSink,
            warmup: int, requests: int, expect: str) -> tuple[list[float], float]:
    """Seconds per call of `requests` calls after `warmup`, and the output bytes per call."""
    from local.function_url_event import LambdaContext

    events = [copy.deepcopy(event) for _ in range(warmup + requests)]
    contexts = [LambdaContext.fresh() for _ in events]
    first = handler(events[0], contexts[0])
    code = json.loads(first["body"]).get("__type", "")
    if first["statusCode"] < 400 or not code.endswith(expect):
        raise SystemExit(f"expected a refusal with {expect}, got {first['statusCode']} {first['body']}")
    for i in range(1, warmup):
        handler(events[i], contexts[i])
    before = sink.bytes
    times = []
    for i in range(warmup, warmup + requests):
        start = time.perf_counter()
        handler(events[i], contexts[i])
        times.append(time.perf_counter() - start)
    return times, (sink.bytes - before) / requests


REPORT = re.compile(r"^REPORT RequestId: \S+\s+(?:Init Duration: [0-9.]+ ms\s+)?Duration: ([0-9.]+) ms\s+"
                    r"Billed Duration: ([0-9]+) ms")


def reports(log: Path) -> list[tuple[str, str]]:
    """(Duration, Billed Duration) of each REPORT line in the emulator's log, in order."""
    found = (REPORT.match(line) for line in log.read_text(errors="replace").splitlines())
    return [(m.group(1), m.group(2)) for m in found if m]


def through_emulator(cases: list[tuple[str, dict[str, Any], str]], warmup: int,
                     requests: int) -> list[tuple[str, list[float], list[float]]]:
    """Each case's (Duration, Billed Duration) in ms, per the emulator's REPORT lines, after `warmup` calls."""
    from local import backend as local_backend
    from tests.artifact import sandbox, stack

    artifact = sandbox.Artifact(stack.ARTIFACT_DIR)
    template = sandbox.load_template()
    spec = sandbox.function_spec(template)
    python = stack.default_python()
    backend = local_backend.start()
    results = []
    try:
        refs = stack.provision(backend.endpoint, KEY_ID, SECRET)
        env = stack.environment(spec, template, refs, backend.endpoint, python)
        emulator = sandbox.start_emulator(artifact, stack.default_rie(), python, spec, env)
        try:
            for label, event, expect in cases:
                answer = emulator.invoke(event)
                if expect not in answer.get("body", ""):
                    raise SystemExit(f"expected {expect} through the emulator, got {answer}")
                for _ in range(warmup):
                    emulator.invoke(event)
                time.sleep(0.5)  # a REPORT line is written after its answer
                seen = len(reports(artifact.log))
                for _ in range(requests):
                    emulator.invoke(event)
                time.sleep(0.5)
                timed = reports(artifact.log)[seen:seen + requests]
                results.append((label, [float(d) for d, _ in timed], [float(b) for _, b in timed]))
        finally:
            emulator.stop()
    finally:
        backend.stop()
    return results


def price_row(label: str, billed_ms: float, memory_mb: int, front: float, log_bytes: float,
              prices: Prices) -> list[object]:
    compute = billed_ms / 1000 * memory_mb / 1024 * prices.lambda_gb_second * MILLION
    requests = prices.lambda_request * MILLION
    logs = log_bytes * MILLION / GB * LOGS_PER_GB
    front_cost = front * MILLION
    total = compute + requests + front_cost + logs
    return [label, f"{requests:.3f}", f"{compute:.3f}", f"{front_cost:.2f}", f"{logs:.3f}", f"{total:.3f}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--memory-mb", type=int, default=None, help="default: template.yaml's MemorySize default")
    parser.add_argument("--log-level", default="INFO", help="the template's LogLevel (INFO by default)")
    parser.add_argument("--no-tracing", action="store_true", help="as if Tracing were not Active")
    parser.add_argument("--emulator", action="store_true",
                        help="also run the requests through the built artifact under the Lambda emulator")
    parser.add_argument("--emulator-requests", type=int, default=500)
    args = parser.parse_args(argv)
    memory_mb = args.memory_mb or template_memory_mb()
    prices = Prices()

    real_stdout = sys.stdout
    sink = CountingSink()
    os.environ.update(environment(args.log_level, tracing=not args.no_tracing))
    os.environ.pop("FACESEARCH_ACCESS_KEY_ID", None)
    os.environ.pop("FACESEARCH_SECRET_ACCESS_KEY", None)

    from moto import mock_aws

    with mock_aws():
        import boto3

        secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="facesearch-keys", SecretString=json.dumps({"AccessKeyId": KEY_ID, "SecretAccessKey": SECRET}))
        os.environ["KEYS_SECRET_ARN"] = secret["ARN"]
        cases = [
            ("wrong secret", refused_event("not-the-secret"), "InvalidSignatureException"),
            ("unknown key", refused_event("whatever", key_id="FSKNOSUCHKEY"), "UnrecognizedClientException"),
            ("no signature", refused_event(None), "MissingAuthenticationTokenException"),
        ]
        sys.stdout = sink  # before app is imported: powertools' Logger binds its handler to sys.stdout then
        try:
            import app

            results = [(label, *measure(app.lambda_handler, event, sink, args.warmup, args.requests, expect))
                       for label, event, expect in cases]
        finally:
            sys.stdout = real_stdout

    rows, prices_rows = [], []
    for label, times, out_bytes in results:
        billed = statistics.fmean(max(1, math.ceil(t * 1000)) for t in times)
        rows.append([label, len(times), f"{1000 * pct(times, 50):.2f}", f"{1000 * pct(times, 90):.2f}",
                     f"{1000 * pct(times, 99):.2f}", f"{1000 * statistics.fmean(times):.2f}", f"{billed:.2f}",
                     f"{out_bytes:.0f}"])
        prices_rows.append(price_row(f"{label}, Function URL", billed, memory_mb, 0.0, out_bytes, prices))
        prices_rows.append(price_row(f"{label}, HTTP API front", billed, memory_mb, HTTP_API_REQUEST, out_bytes,
                                     prices))
    if args.emulator:
        emulated = through_emulator(cases, warmup=50, requests=args.emulator_requests)
        by_label = {label: out_bytes for label, _, out_bytes in results}
        for label, durations, billed_ms in emulated:
            billed = statistics.fmean(billed_ms)
            rows.append([f"{label}, via emulator", len(durations), f"{pct(durations, 50):.2f}",
                         f"{pct(durations, 90):.2f}", f"{pct(durations, 99):.2f}",
                         f"{statistics.fmean(durations):.2f}", f"{billed:.2f}", "-"])
            prices_rows.append(price_row(f"{label}, via emulator, Function URL", billed, memory_mb, 0.0,
                                         by_label[label], prices))
            prices_rows.append(price_row(f"{label}, via emulator, HTTP API front", billed, memory_mb,
                                         HTTP_API_REQUEST, by_label[label], prices))
    tracing = "off" if args.no_tracing else "on"
    print(f"load average: {load_average()}")
    print(boxed(f"Refused requests, warm handler in-process (tracing {tracing}, log level {args.log_level}; "
                f"ms per request)",
                ["request", "n", "p50", "p90", "p99", "mean", "billed (1 ms steps)", "log bytes"], rows))
    print()
    print(boxed(f"Price of 1 million refused requests at {memory_mb} MB (USD; arm64, us-east-1 list prices; "
                "logs: the function's own output only)",
                ["request, front", "requests", "compute", "HTTP API", "logs", "total"], prices_rows))
    print("\nNot counted: Lambda's START/END/REPORT log lines (about 0.3 KB per request, ingested as logs too);"
          "\nin-process rows leave out the runtime's own work per invoke (--emulator measures it). A throttled"
          "\nrequest (over reserved concurrency, or over the HTTP API stage's rate) runs no function and is not"
          "\nbilled as a Lambda request.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
