"""Lambda entry point: powertools logging, metrics and tracing around facesearch.handler."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from facesearch import handler, services, snapstart
from facesearch.index.fanout import is_slice_event
from facesearch.settings import Settings
from facesearch.wire.http_request import signed_request_from_event


def log_json(record: dict[str, Any]) -> str:
    """powertools' JSON (non-ASCII kept readable), with lone surrogates escaped: a request value echoed in
    an error message may hold one, and the UTF-8 log stream cannot write it (the line would be lost)."""
    text = json.dumps(record, default=str, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


logger = Logger(json_serializer=log_json)
tracer = Tracer()
snapstart.register(Settings.from_env())  # SnapStart: load the models before the snapshot


@logger.inject_lambda_context(correlation_id_path=correlation_paths.LAMBDA_FUNCTION_URL, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    warm = services.services()
    if is_slice_event(event):  # a fan-out slice of a search, invoked by this same function
        return warm.index.run_slice(event)
    outcome = handler.handle(signed_request_from_event(event), context.aws_request_id, warm,
                             lambda: services.key_ring(warm.settings))
    record_request(outcome.operation or "Unknown", failed=outcome.error_code is not None,
                   namespace=warm.settings.metrics_namespace)
    response = outcome.response
    return {"statusCode": response.status_code, "headers": response.headers, "body": response.body}


def record_request(operation: str, failed: bool, namespace: str) -> None:
    """Requests and Errors per Operation, each flushed on its own: a per-request dimension on the shared
    Metrics object would be overwritten by concurrent requests (threads of `make serve`)."""
    for name, value in (("Requests", 1), ("Errors", int(failed))):
        with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=namespace) as metric:
            metric.add_dimension(name="Operation", value=operation)
