"""The JSON 1.1 codec: routing by target, body parsing, result and error rendering."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest

from facesearch.errors import ResourceNotFoundException, SerializationException, UnknownOperationException
from facesearch.wire import protocol


def test_targets_route_to_model_operations():
    assert protocol.operation_for_target("RekognitionService.IndexFaces").name == "IndexFaces"
    for target in (None, "", "RekognitionService.Nope", "OtherService.IndexFaces"):
        with pytest.raises(UnknownOperationException):
            protocol.operation_for_target(target)


def test_bodies_must_be_json_objects():
    assert protocol.parse_body(b"") == {}
    assert protocol.parse_body(b'{"a": 1}') == {"a": 1}
    for bad in (b"[]", b"null", b"{", b"\xff"):
        with pytest.raises(SerializationException):
            protocol.parse_body(bad)


def test_blobs_are_decoded_where_the_model_says_blob():
    shape = protocol.service_model().operation_model("DetectFaces").input_shape
    assert protocol.decode_blobs({"Image": {"Bytes": "aGk="}}, shape) == {"Image": {"Bytes": b"hi"}}


def test_results_render_timestamps_as_epoch_seconds_and_drop_nones():
    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    response = protocol.success_response({"T": when, "N": Decimal("2"), "F": Decimal("0.5"), "X": None}, "rid")
    assert json.loads(response.body) == {"T": when.timestamp(), "N": 2, "F": 0.5}
    assert response.headers["x-amzn-RequestId"] == "rid"


def test_errors_carry_type_message_and_header():
    response = protocol.error_response(ResourceNotFoundException("gone"), "rid")
    assert response.status_code == 400
    assert json.loads(response.body) == {"__type": "ResourceNotFoundException", "Message": "gone"}
    assert response.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
