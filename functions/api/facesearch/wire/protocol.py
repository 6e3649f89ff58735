"""AWS JSON 1.1, the wire protocol of Rekognition, read from botocore's service model.

Requests are `POST /` with `X-Amz-Target: RekognitionService.<Operation>`, or
`FaceSearchExtensions.<Operation>` for the operations beyond Rekognition's (their botocore model ships in
`wire/models/facesearch/`, so clients get them with AWS_DATA_PATH); this module maps the target to the
operation's model, decodes the JSON body (blobs arrive base64-encoded) and renders
results and errors the way botocore's JSON parser expects them.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from facesearch.errors import (
    InvalidParameterException,
    SerializationException,
    ServiceError,
    UnknownOperationException,
)

CONTENT_TYPE = "application/x-amz-json-1.1"
ACCEPTED_CONTENT_TYPES = frozenset({CONTENT_TYPE, "application/x-amz-json-1.0", "application/json"})


EXTENSION_MODELS = Path(__file__).resolve().parent / "models"  # what users point AWS_DATA_PATH at
EXTENSION_SERVICE = "facesearch"


@cache
def service_model() -> ServiceModel:
    """The pinned botocore Rekognition model: the contract of every operation."""
    return botocore.session.get_session().get_service_model("rekognition")


@cache
def extension_model() -> ServiceModel:
    """The facesearch extension operations' model, loaded by botocore's own loader as clients load it."""
    loader = botocore.loaders.Loader(extra_search_paths=[str(EXTENSION_MODELS)], include_default_search_paths=False)
    return ServiceModel(loader.load_service_model(EXTENSION_SERVICE, "service-2"), EXTENSION_SERVICE)


def service_models() -> tuple[ServiceModel, ...]:
    return service_model(), extension_model()


def operation_for_target(target: str | None) -> OperationModel:
    """The operation a `X-Amz-Target` header names (in Rekognition's or the extension model), or
    UnknownOperationException."""
    for model in service_models():
        prefix = model.metadata["targetPrefix"] + "."
        if target and target.startswith(prefix):
            name = target[len(prefix) :]
            if name not in model.operation_names:
                raise UnknownOperationException(f"Unknown operation {name}")
            return model.operation_model(name)
    raise UnknownOperationException("Unknown operation")


def check_content_type(content_type: str | None) -> None:
    """AWS JSON services only route JSON bodies; anything else is not an operation they know."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in ACCEPTED_CONTENT_TYPES:
        raise UnknownOperationException("Unknown operation: expected Content-Type " + CONTENT_TYPE)


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON: AWS's parsers refuse them."""
    raise ValueError(f"{name} is not a JSON value")


MAX_INTEGER_DIGITS = 400  # far past any member's range; beyond it an integer literal is not converted at all


def _integer(text: str) -> int | float:
    """An integer literal; one too long to matter (or for Python to convert: it refuses 4,300+ digits) is an
    infinity of its sign, which validation refuses as out of range like any other."""
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        return -math.inf if text.startswith("-") else math.inf
    return int(text)


def parse_body(body: bytes | str | None) -> dict[str, Any]:
    """The request's JSON object; an empty body means no parameters, as botocore sends `{}`."""
    if body is None or body in (b"", ""):
        return {}
    try:
        params = json.loads(body, parse_constant=_no_constant, parse_int=_integer)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nesting too deep
        raise SerializationException("Start of structure or map found where not expected.") from exc
    if not isinstance(params, dict):
        raise SerializationException("Start of structure or map found where not expected.")
    return params


def decode_blobs(params: Any, shape: Shape, path: str = "") -> Any:
    """Replace base64 strings by bytes wherever the model says `blob` (after validation)."""
    if shape.type_name == "blob":
        if not isinstance(params, str):
            return params
        try:
            return base64.b64decode(params, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidParameterException(f"Value at '{path}' is not valid base64.") from exc
    if isinstance(shape, StructureShape) and isinstance(params, dict):
        return {
            key: decode_blobs(value, shape.members[key], _join(path, key)) if key in shape.members else value
            for key, value in params.items()
        }
    if isinstance(shape, ListShape) and isinstance(params, list):
        return [decode_blobs(item, shape.member, f"{path}.{i}") for i, item in enumerate(params)]
    if isinstance(shape, MapShape) and isinstance(params, dict):
        return {key: decode_blobs(value, shape.value, f"{path}.{key}") for key, value in params.items()}
    return params


def without_nulls(params: Any) -> Any:
    """An explicit JSON null for a member means the member is absent (the validator let only optional ones
    through), so the operations' defaults apply."""
    if isinstance(params, dict):
        return {key: without_nulls(value) for key, value in params.items() if value is not None}
    if isinstance(params, list):
        return [without_nulls(item) for item in params]
    return params


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def serialize(value: Any) -> Any:
    """JSON-ready form of an operation result: timestamps as epoch seconds, Decimals as numbers."""
    if isinstance(value, Mapping):
        return {key: serialize(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [serialize(item) for item in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


@dataclass(frozen=True)
class WireResponse:
    """What goes back over HTTP: status, JSON body text and the protocol headers."""

    status_code: int
    body: str
    headers: dict[str, str]


def success_response(result: Mapping[str, Any], request_id: str) -> WireResponse:
    return WireResponse(
        200,
        json.dumps(serialize(result), separators=(",", ":")),
        {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id},
    )


def error_response(error: ServiceError, request_id: str, service: str = "rekognition") -> WireResponse:
    """The error as `service`'s model names it (ServiceError.code_in)."""
    code = error.code_in(service)
    body = {"__type": code, "Message": error.message}
    headers = {
        "Content-Type": CONTENT_TYPE,
        "x-amzn-RequestId": request_id,
        "x-amzn-ErrorType": code,
    }
    return WireResponse(error.status_code, json.dumps(body, separators=(",", ":")), headers)
