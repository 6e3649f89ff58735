"""One HTTP request in, one AWS JSON 1.1 response out: authenticate, route, validate, run.

Kept apart from `app.py` (the Lambda entry point) so that the order of checks, the one place a
ServiceError becomes a wire error and the one place an unexpected exception becomes a bare
InternalServerError can be read, and tested, without Lambda or powertools.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from facesearch.errors import InternalServerError, ServiceError, UnknownOperationException
from facesearch.operations import collection_of, operations_of
from facesearch.services import Services
from facesearch.wire import auth, protocol, validation

logger = Logger(child=True)


@dataclass(frozen=True)
class Outcome:
    """The wire response plus what the entry point records about it (metrics, logs)."""

    response: protocol.WireResponse
    operation: str | None
    error_code: str | None


def handle(
    request: auth.SignedRequest,
    request_id: str,
    services: Services,
    keys: Callable[[], auth.KeyRing],
) -> Outcome:
    operation_name: str | None = None
    service = "rekognition"  # whose error shapes answer, until the target names the operation's model
    try:
        if request.method != "POST" or request.path != "/":
            raise UnknownOperationException("Unknown operation: requests are POST / with X-Amz-Target")
        protocol.check_content_type(request.headers.get("content-type"))
        key = auth.authenticate(request, keys(), services.settings.region)
        model = protocol.operation_for_target(request.headers.get("x-amz-target"))
        operation_name = model.name
        service = model.service_model.service_name
        run = operations_of(service).get(model.name)
        if run is None:  # before its input is looked at: an unsupported operation has no valid input here
            raise UnknownOperationException(f"{model.name} is not supported by this Rekognition-compatible service.")
        params = protocol.parse_body(request.body)
        validation.validate(params, model.input_shape)
        auth.authorize(key, model.name, collection_of(params))
        params = protocol.without_nulls(protocol.decode_blobs(params, model.input_shape) if model.input_shape else {})
        result = run(services.for_caller(key), params)
        return Outcome(protocol.success_response(result, request_id), operation_name, None)
    except ServiceError as error:
        logger.info("request refused", extra={"operation": operation_name, "error_code": error.code,
                                               "error_message": error.message})
        return Outcome(protocol.error_response(error, request_id, service), operation_name, error.code_in(service))
    except Exception:
        logger.exception("request failed", extra={"operation": operation_name})
        failure = InternalServerError("Internal server error")
        return Outcome(protocol.error_response(failure, request_id), operation_name, failure.code)
