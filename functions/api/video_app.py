"""Lambda entry point of the video worker: one phase of a stored-video job per invocation (plan, segment,
merge), and the end of jobs whose work failed every attempt (records from its failure destination queue).

Invoked asynchronously by the API function (Start*) and by itself; never through the Function URL.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from facesearch import services
from facesearch.operations.video import jobs, worker
from facesearch.video.launch import is_video_event

logger = Logger()
tracer = Tracer()


def record(phase: str, outcome: str, namespace: str) -> None:
    """VideoWork per Phase (plan, segment, merge) and Outcome (Done, Failed: retried, GaveUp: job FAILED)."""
    with single_metric(name="VideoWork", unit=MetricUnit.Count, value=1, namespace=namespace) as metric:
        metric.add_dimension(name="Phase", value=phase)
        metric.add_dimension(name="Outcome", value=outcome)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    warm = services.services()
    if is_video_event(event):
        phase = str(event.get("facesearch-video"))
        try:
            worker.handle(warm, event)  # an exception fails the attempt: Lambda retries it, then the destination
        except Exception:
            record(phase, "Failed", warm.settings.metrics_namespace)
            raise
        record(phase, "Done", warm.settings.metrics_namespace)
        return {"done": phase}
    failures = 0
    for message in event.get("Records", []):  # the OnFailure destination (SQS): attempts exhausted
        destination = json.loads(message.get("body") or "{}")
        reason = (destination.get("responsePayload") or {}).get("errorType") or \
            (destination.get("requestContext") or {}).get("condition", "unknown")
        jobs.failed(warm, destination.get("requestPayload") or {}, str(reason))
        record(str((destination.get("requestPayload") or {}).get("facesearch-video")), "GaveUp",
               warm.settings.metrics_namespace)
        failures += 1
    return {"failed": failures}

