"""Python values <-> DynamoDB attribute values, and DynamoDB's errors -> Rekognition's.

boto3's TypeSerializer does the encoding; numbers go in as Decimal (DynamoDB's only number type), which
`decimal()` rounds from floats so no binary-float noise is stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from facesearch.errors import ProvisionedThroughputExceededException, ThrottlingException

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    Item = dict[str, AttributeValueTypeDef]
else:
    Item = dict[str, Any]

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> Item:
    """Attribute values of `values`, leaving out None (DynamoDB has no use for absent members)."""
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def decimal(value: float, digits: int = 6) -> Decimal:
    return Decimal(repr(round(float(value), digits)))


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def cancellation_reasons(error: ClientError) -> list[str]:
    """Per-action codes of a cancelled TransactWriteItems ("None" for the actions that were fine)."""
    response: Mapping[str, Any] = error.response
    reasons = response.get("CancellationReasons", [])
    return [str(reason.get("Code", "None")) for reason in reasons]


def translate(error: ClientError) -> Exception:
    """DynamoDB's capacity errors become Rekognition's; everything else is a real fault."""
    code = error_code(error)
    if code in ("ProvisionedThroughputExceededException", "RequestLimitExceeded"):
        return ProvisionedThroughputExceededException("The request rate is too high; retry with backoff.")
    if code == "ThrottlingException":
        return ThrottlingException("Rate exceeded.")
    return error


@contextmanager
def dynamo_errors() -> Iterator[None]:
    """Run DynamoDB calls whose failures, other than the ones a caller handles itself, map to Rekognition's."""
    try:
        yield
    except ClientError as error:
        raise translate(error) from error
