"""The response-shape check used by the functional tests: what it accepts and what it refuses."""

from __future__ import annotations

import json

from tests.contract import response_violations


def test_a_well_formed_response_has_no_violations():
    assert response_violations("DescribeCollection", {"FaceCount": 1, "FaceModelVersion": "7.0",
                                                       "CollectionARN": "arn:x", "CreationTimestamp": 1.5}) == []


def test_unknown_members_wrong_types_and_bad_enums_are_reported():
    problems = response_violations("DetectFaces", {"FaceDetails": [
        {"BoundingBox": {"Width": "0.5"}, "Confidense": 99.0,
         "Landmarks": [{"Type": "leftEye", "X": 0.1, "Y": 0.2}]}]})
    assert any("Width: str where the model has a float" in p for p in problems)
    assert any("Confidense: not a member" in p for p in problems)
    assert any("'leftEye' is not one of LandmarkType's values" in p for p in problems)


def test_booleans_are_not_numbers_and_map_values_are_typed():
    assert response_violations("CreateCollection", {"StatusCode": True}) == [
        "CreateCollectionResponse.StatusCode: bool where the model has a integer"]
    assert response_violations("ListTagsForResource", {"Tags": {"a": 1}}) == [
        "ListTagsForResourceResponse.Tags[a]: int where the model has a string"]


def test_required_members_must_be_there():
    # no output shape of the 21 implemented operations has required members; a liveness one does
    assert response_violations("GetFaceLivenessSessionResults", {"SessionId": "s"}) == [
        "GetFaceLivenessSessionResultsResponse.Status: required member missing"]


def test_every_error_the_service_can_raise_is_a_rekognition_or_protocol_error_shape():
    import facesearch.operations  # noqa: F401 - import every module that might define an error class
    from facesearch import errors
    from facesearch.wire.protocol import extension_model, service_model

    protocol = {"UnknownOperationException", "SerializationException", "MissingAuthenticationTokenException",
                "IncompleteSignatureException", "UnrecognizedClientException", "InvalidSignatureException"}
    modelled = {shape.name for model in (service_model(), extension_model()) for shape in model.error_shapes}

    def subclasses(cls: type) -> list[type]:
        return [cls, *(sub for child in cls.__subclasses__() for sub in subclasses(child))]

    codes = {cls.__name__ for cls in subclasses(errors.ServiceError)} - {"ServiceError"}
    assert codes <= modelled | protocol, codes - modelled - protocol


def test_the_extension_model_reuses_rekognitions_shapes_unchanged():
    """A shape both models name (Image, FaceDetail, Face, the errors...) is Rekognition's, so a client's
    code for one reads the other's answers."""
    import botocore.session

    from facesearch.wire.protocol import EXTENSION_MODELS, EXTENSION_SERVICE

    def bare(shape: object) -> object:
        if isinstance(shape, dict):
            return {key: bare(value) for key, value in shape.items() if key != "documentation"}
        return shape

    loader = botocore.session.get_session().get_component("data_loader")
    rekognition = loader.load_service_model("rekognition", "service-2")["shapes"]
    ours = json.loads((EXTENSION_MODELS / EXTENSION_SERVICE / "2026-12-01" / "service-2.json").read_text())["shapes"]
    shared = set(ours) & set(rekognition)
    assert {"Image", "FaceDetail", "Face", "FaceMatch", "BoundingBox", "InvalidParameterException"} <= shared
    assert [name for name in sorted(shared) if bare(ours[name]) != bare(rekognition[name])] == []
    assert set(ours["SearchAllFacesByImageRequest"]["members"]) - set(
        rekognition["SearchFacesByImageRequest"]["members"]) == {"Attributes"}  # + DetectFaces' Attributes


def test_the_models_link_at_the_root_is_the_shipped_model():
    from pathlib import Path

    from facesearch.wire.protocol import EXTENSION_MODELS

    assert (Path(__file__).resolve().parents[2] / "models").resolve() == EXTENSION_MODELS.resolve()
