"""The attribute entry point: which models a request runs, and what the real models say about the
committed CC-BY fixtures (labels from ../shared/faces/london/london_info.csv: person 021 is a 48-year-old
man, 022 a 29-year-old man; 021_smiling smiles, the neutral photos do not)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesearch.vision import onnx as models
from facesearch.vision.attributes import analyzer as attributes
from facesearch.vision.attributes.analyzer import ALL, AttributeAnalyzer, FaceAttributes, FaceInput
from facesearch.vision.detector import Detector
from facesearch.vision.image_decoder import decode_image
from tests.conftest import MODEL_DIR

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
LABELS = {"london_021": {"age": 48, "gender": "Male"}, "london_022": {"age": 29, "gender": "Male"}}
MESH_ONLY = {"face_mesh"}
MESH_AND_BLENDSHAPES = {"face_mesh", "blendshapes"}


@pytest.mark.parametrize(
    ("requested", "tasks"),
    [
        (set(), set()),  # DEFAULT
        ({"BEARD", "SUNGLASSES", "EYEGLASSES", "MUSTACHE", "FACE_OCCLUDED"}, set()),  # nothing measures these
        ({"AGE_RANGE"}, {"age"}),
        ({"GENDER"}, {"gender"}),
        ({"EMOTIONS"}, {"emotions"}),
        ({"SMILE"}, MESH_AND_BLENDSHAPES),
        ({"EYES_OPEN", "MOUTH_OPEN"}, MESH_AND_BLENDSHAPES),
        ({"EYE_DIRECTION"}, MESH_AND_BLENDSHAPES),
        ({"LANDMARKS"}, MESH_ONLY),
        (ALL, {"age", "gender", "emotions", "face_mesh", "blendshapes"}),
    ],
)
def test_a_request_needs_only_its_models(requested: set[str], tasks: set[str]) -> None:
    assert attributes.needed_models(requested) == tasks


def test_default_creates_no_session_and_runs_no_model() -> None:
    def no_session(task: str):  # type: ignore[no-untyped-def]
        raise AssertionError(f"DEFAULT must not load {task}")

    face = FaceInput(np.zeros((5, 2)), (0.0, 0.0, 10.0, 10.0))
    result = AttributeAnalyzer(no_session).analyze(Image.new("RGB", (100, 100)), [face, face], set())
    assert result == [FaceAttributes(), FaceAttributes()]


def test_unsupported_and_supported_names_are_disjoint_and_all_is_everything_measured() -> None:
    assert not attributes.SUPPORTED & attributes.UNSUPPORTED
    assert attributes.ALL == attributes.SUPPORTED
    assert attributes.UNMEASURED_EMOTIONS == ("CONFUSED",)


# --- the real models on the fixtures --------------------------------------------------------------------


class Recorder:
    """A session factory that records which models were loaded (real sessions, 1 thread)."""

    def __init__(self) -> None:
        self.loaded: list[str] = []

    def __call__(self, task: str):  # type: ignore[no-untyped-def]
        self.loaded.append(task)
        return models.create_session(str(models.model_path(task, MODEL_DIR)), 1)


@pytest.fixture(scope="module")
def detector() -> Detector:
    try:
        for task in ("age", "gender", "face_mesh", "blendshapes", "emotions"):
            models.model_path(task, MODEL_DIR)
        return Detector(models.detector_session(MODEL_DIR, 1))
    except models.ModelsNotFoundError as error:
        pytest.skip(f"attribute models not built: {error}")


@pytest.fixture(scope="module")
def analyze(detector: Detector) -> Callable[[bytes], list[FaceAttributes]]:
    analyzer = AttributeAnalyzer(Recorder())

    def run(data: bytes, requested: frozenset[str] = ALL) -> list[FaceAttributes]:
        image = decode_image(data)
        faces = [FaceInput(d.landmarks, d.box) for d in detector.detect(image.pixels)]
        return analyzer.analyze(image.picture, faces, requested)

    return run


def photo(name: str) -> bytes:
    return (FIXTURES / f"{name}.jpg").read_bytes()


def test_only_the_requested_models_are_loaded(detector: Detector) -> None:
    recorder = Recorder()
    image = decode_image(photo("london_022_neutral"))
    faces = [FaceInput(d.landmarks, d.box) for d in detector.detect(image.pixels)]
    analyzer = AttributeAnalyzer(recorder)
    (gender_only,) = analyzer.analyze(image.picture, faces, {"GENDER"})
    assert recorder.loaded == ["gender"]
    assert gender_only.gender is not None and gender_only.smile is None and gender_only.age_range is None
    analyzer.analyze(image.picture, faces, {"SMILE"})
    assert recorder.loaded == ["gender", "face_mesh", "blendshapes"]


def test_the_smiling_photo_smiles_and_the_neutral_ones_do_not(analyze) -> None:  # type: ignore[no-untyped-def]
    (smiling,) = analyze(photo("london_021_smiling"))
    (neutral,) = analyze(photo("london_021_neutral"))
    (other,) = analyze(photo("london_022_neutral"))
    assert smiling.smile is not None and smiling.smile.value is True and smiling.smile.confidence > 90
    for face in (neutral, other):
        assert face.smile is not None and face.smile.value is False and face.smile.confidence > 70
    assert smiling.emotions is not None and neutral.emotions is not None
    assert neutral.emotions[0].type == "CALM"
    happy = {e.type: e.confidence for e in smiling.emotions}["HAPPY"]
    assert happy > {e.type: e.confidence for e in neutral.emotions}["HAPPY"]


@pytest.mark.parametrize("name", ["london_021_neutral", "london_021_smiling", "london_022_neutral"])
def test_gender_age_eyes_and_mouth_as_labelled(analyze, name: str) -> None:  # type: ignore[no-untyped-def]
    (face,) = analyze(photo(name))
    label = LABELS[name[:10]]
    assert face.gender is not None and face.gender.value == label["gender"] and face.gender.confidence > 90
    assert face.age_range is not None and face.age_range.low <= label["age"] <= face.age_range.high
    assert face.age_range.high - face.age_range.low <= 30
    assert face.eyes_open is not None and face.eyes_open.value is True  # studio photos, eyes open
    assert face.mouth_open is not None and face.mouth_open.value is False  # lips closed in all three
    assert face.face_presence is not None and face.face_presence > 0.99


def test_thirty_landmarks_in_image_ratios_where_the_face_is(analyze) -> None:  # type: ignore[no-untyped-def]
    (face,) = analyze(photo("london_021_neutral"))
    assert face.landmarks is not None and len(face.landmarks) == 30
    points = {lm.type: (lm.x, lm.y) for lm in face.landmarks}
    assert all(0.0 < x < 1.0 and 0.0 < y < 1.0 for x, y in points.values())
    assert points["eyeLeft"][0] < points["nose"][0] < points["eyeRight"][0]  # image left to right
    assert points["leftEyeLeft"][0] < points["leftPupil"][0] < points["leftEyeRight"][0]
    assert (
        points["upperJawlineLeft"][0]
        < points["mouthLeft"][0]
        < points["mouthRight"][0]
        < points["upperJawlineRight"][0]
    )
    assert points["leftEyeBrowUp"][1] < points["leftEyeUp"][1] < points["leftEyeDown"][1] < points["nose"][1]
    assert points["nose"][1] < points["mouthUp"][1] < points["mouthDown"][1] < points["chinBottom"][1]


def test_camera_directed_gaze_reads_near_zero(analyze) -> None:  # type: ignore[no-untyped-def]
    for name in ("london_021_neutral", "london_022_neutral"):
        (face,) = analyze(photo(name))
        assert face.eye_direction is not None
        assert abs(face.eye_direction.yaw) < 10 and abs(face.eye_direction.pitch) < 10
        assert face.eye_direction.confidence > 50


def test_several_faces_in_one_call_give_each_its_own_answer(analyze) -> None:  # type: ignore[no-untyped-def]
    both = Image.new("RGB", (800, 400), "white")
    for k, name in enumerate(("london_021_smiling", "london_022_neutral")):
        both.paste(Image.open(FIXTURES / f"{name}.jpg").convert("RGB").resize((400, 400)), (400 * k, 0))
    buffer = io.BytesIO()
    both.save(buffer, format="JPEG", quality=95)
    faces = analyze(buffer.getvalue())
    assert len(faces) == 2
    smiles = sorted(face.smile.value for face in faces if face.smile is not None)
    assert smiles == [False, True]


def test_no_face_no_attributes(analyze) -> None:  # type: ignore[no-untyped-def]
    assert analyze((FIXTURES / "noface_chelsea.jpg").read_bytes()) == []
