"""Lambda entry point: powertools logging, metrics and tracing around facesearch.handler."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from facesearch import handler, internal, runtime

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.LAMBDA_FUNCTION_URL, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    services = runtime.services()
    if internal.is_internal(event):  # a fan-out slice of a search, invoked by this same function
        return internal.run(services, event)
    request = handler.signed_request_from_event(event)
    outcome = handler.handle(
        request, context.aws_request_id, services, lambda: runtime.key_ring(services.settings)
    )
    metrics.add_dimension(name="Operation", value=outcome.operation or "Unknown")
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=1 if outcome.error_code else 0)
    response = outcome.response
    return {"statusCode": response.status_code, "headers": response.headers, "body": response.body}
