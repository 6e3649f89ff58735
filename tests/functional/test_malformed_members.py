"""Every operation of both shipped models, each member in turn replaced by a malformed value: the answer is a
Rekognition error with HTTP 400 (or a normal answer where the value is acceptable), never a 500."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import botocore.session
from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape

from tests.conftest import ANNA, EXTENSION_MODELS, photo
from tests.functional.test_protocol import send_raw

COLLECTION = "malformed"
VALUES: list[Any] = [None, 12345678901234567890, -1, 1e308, True, [], {}, "", "x" * 5000, "\ud800", "é\udfff"]


def services() -> Iterator[tuple[str, ServiceModel]]:
    yield "RekognitionService", botocore.session.get_session().get_service_model("rekognition")
    model = Loader(extra_search_paths=[str(EXTENSION_MODELS)]).load_service_model("facesearch", "service-2")
    yield "FaceSearchExtensions", ServiceModel(model)


def is_image(shape: Shape) -> bool:
    return shape.type_name == "structure" and "Bytes" in getattr(shape, "members", {})


def image_values() -> list[dict[str, Any]]:
    """Bytes that are not base64, not an image, a truncated image, and S3 objects that cannot be read."""
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return [{"Bytes": "!!not base64"}, {"Bytes": b64(b"\x89PNG\r\n\x1a\n" + b"0" * 64)},
            {"Bytes": b64(photo(ANNA)[:2000])}, {"Bytes": ""},
            {"S3Object": {"Bucket": "no-such-bucket", "Name": "a.jpg"}}]


def test_no_malformed_member_of_any_operation_gets_a_server_error(rekognition):
    rekognition.create_collection(CollectionId=COLLECTION)
    rekognition.index_faces(CollectionId=COLLECTION, Image={"Bytes": photo(ANNA)}, ExternalImageId="anna")
    good_image = {"Bytes": base64.b64encode(photo(ANNA)).decode()}
    failures, sent = [], 0
    for prefix, model in services():
        for name in model.operation_names:
            shape = model.operation_model(name).input_shape
            if shape is None:
                continue
            valid = {member: COLLECTION if member == "CollectionId" else good_image
                     for member, member_shape in shape.members.items()
                     if member == "CollectionId" or is_image(member_shape)}
            for member, member_shape in shape.members.items():
                for value in VALUES + (image_values() if is_image(member_shape) else []):
                    result = send_raw(json.dumps({**valid, member: value}), target=f"{prefix}.{name}")
                    sent += 1
                    refused_well = result["statusCode"] == 400 and "__type" in (result.get("json") or {})
                    if result["statusCode"] != 200 and not refused_well:
                        failures.append(f"{name}.{member}={value!r:.40}: {result['statusCode']} {result['body']:.120}")
    assert sent > 2000
    assert not failures, "\n".join(failures)
