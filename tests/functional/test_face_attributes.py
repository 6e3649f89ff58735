"""DetectFaces `Attributes` and IndexFaces `DetectionAttributes`, as the API reference describes them, through
a real boto3 client (every response is also checked against botocore's output shape by the transport)."""

from __future__ import annotations

import pytest

from tests.conftest import ANNA, ANNA_SMILING, BEN, photo

DEFAULT_MEMBERS = {"BoundingBox", "Landmarks", "Pose", "Quality", "Confidence"}
MEASURED_MEMBERS = {"AgeRange", "Gender", "Smile", "EyesOpen", "MouthOpen", "Emotions", "EyeDirection"}
NOT_MEASURED = {"Beard", "Mustache", "Eyeglasses", "Sunglasses", "FaceOccluded"}  # no shipped model (README)


@pytest.fixture(autouse=True)
def attribute_models():
    from facesearch.vision import onnx
    from tests.conftest import MODEL_DIR

    try:
        onnx.model_path("face_mesh", MODEL_DIR)
    except onnx.ModelsNotFoundError as error:
        pytest.skip(f"attribute models not built: {error}")


def detail(client, name: str, attributes: list[str] | None = None) -> dict:
    extra = {"Attributes": attributes} if attributes is not None else {}
    faces = client.detect_faces(Image={"Bytes": photo(name)}, **extra)["FaceDetails"]
    assert len(faces) == 1
    return faces[0]


def test_default_returns_only_the_default_members(rekognition):
    for attributes in (None, ["DEFAULT"]):
        face = detail(rekognition, ANNA, attributes)
        assert set(face) == DEFAULT_MEMBERS
        assert len(face["Landmarks"]) == 5


def test_all_returns_every_measured_attribute_and_30_landmark_types(rekognition):
    face = detail(rekognition, ANNA_SMILING, ["ALL"])
    assert set(face) == DEFAULT_MEMBERS | MEASURED_MEMBERS
    assert not set(face) & NOT_MEASURED  # left out, never guessed
    assert len({mark["Type"] for mark in face["Landmarks"]}) == 30
    assert face["AgeRange"]["Low"] <= face["AgeRange"]["High"]
    assert face["Gender"]["Value"] in ("Male", "Female")
    assert face["Smile"]["Value"] is True and 50 <= face["Smile"]["Confidence"] <= 100
    emotions = [e["Type"] for e in face["Emotions"]]
    assert len(emotions) == 7 and "CONFUSED" not in emotions  # nothing measures CONFUSED (README)
    scores = [e["Confidence"] for e in face["Emotions"]]
    assert scores == sorted(scores, reverse=True)
    assert {"Yaw", "Pitch", "Confidence"} == set(face["EyeDirection"])


def test_all_and_default_together_mean_all(rekognition):
    assert set(detail(rekognition, ANNA, ["ALL", "DEFAULT"])) == DEFAULT_MEMBERS | MEASURED_MEMBERS


@pytest.mark.parametrize(("name", "member"), [("AGE_RANGE", "AgeRange"), ("GENDER", "Gender"), ("SMILE", "Smile"),
                                              ("EMOTIONS", "Emotions"), ("EYES_OPEN", "EyesOpen"),
                                              ("MOUTH_OPEN", "MouthOpen"), ("EYE_DIRECTION", "EyeDirection")])
def test_a_named_attribute_comes_on_top_of_default(rekognition, name, member):
    for attributes in ([name], ["DEFAULT", name]):
        face = detail(rekognition, ANNA, attributes)
        assert set(face) == DEFAULT_MEMBERS | {member}
        assert len(face["Landmarks"]) == 5


def test_an_attribute_no_model_measures_is_left_out(rekognition):
    assert set(detail(rekognition, BEN, ["BEARD", "SUNGLASSES"])) == DEFAULT_MEMBERS


def test_smile_reads_the_smiling_photo_and_not_the_neutral_one(rekognition):
    assert detail(rekognition, ANNA_SMILING, ["SMILE"])["Smile"]["Value"] is True
    assert detail(rekognition, ANNA, ["SMILE"])["Smile"]["Value"] is False


def test_index_faces_returns_the_detection_attributes_in_its_face_records(rekognition):
    rekognition.create_collection(CollectionId="people")
    response = rekognition.index_faces(CollectionId="people", Image={"Bytes": photo(ANNA)},
                                       DetectionAttributes=["ALL"])
    assert set(response["FaceRecords"][0]["FaceDetail"]) == DEFAULT_MEMBERS | MEASURED_MEMBERS
    plain = rekognition.index_faces(CollectionId="people", Image={"Bytes": photo(BEN)})
    assert set(plain["FaceRecords"][0]["FaceDetail"]) == DEFAULT_MEMBERS


def test_default_requests_load_no_attribute_model(rekognition, monkeypatch):
    from facesearch.vision.attributes import analyzer

    def refuse(*_):
        raise AssertionError("an attribute model was asked for on a DEFAULT request")

    monkeypatch.setattr(analyzer, "get_analyzer", refuse)
    detail(rekognition, ANNA)
    detail(rekognition, ANNA, ["DEFAULT", "FACE_OCCLUDED"])
