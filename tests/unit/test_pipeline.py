"""The whole vision pipeline on committed CC-BY photos: FaceDetail shape, identity, ordering."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesearch.operations.render import face_detail
from facesearch.vision import onnx as models
from facesearch.vision.detector import LANDMARK_TYPES
from facesearch.vision.image_decoder import DecodedImage, decode_image
from facesearch.vision.pipeline import FacePipeline, get_pipeline
from facesearch.vision.similarity import to_similarity
from tests.conftest import MODEL_DIR, MODEL_THREADS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"


@pytest.fixture(scope="module")
def pipeline() -> FacePipeline:
    try:
        return get_pipeline(MODEL_DIR, MODEL_THREADS)
    except models.ModelsNotFoundError as error:
        pytest.skip(str(error))


def load(name: str) -> DecodedImage:
    return decode_image((FIXTURES / name).read_bytes())


def test_face_detail_has_rekognition_default_attributes(pipeline: FacePipeline) -> None:
    faces = pipeline.analyze(load("london_021_neutral.jpg"))
    assert len(faces) == 1
    detail = face_detail(faces[0])
    assert set(detail) == {"BoundingBox", "Landmarks", "Pose", "Quality", "Confidence"}
    box = detail["BoundingBox"]
    assert set(box) == {"Width", "Height", "Left", "Top"}
    assert 0.2 < box["Width"] < 0.6 and 0.2 < box["Height"] < 0.7
    assert 0 < box["Left"] < 0.5 and 0 < box["Top"] < 0.5
    assert [lm["Type"] for lm in detail["Landmarks"]] == list(LANDMARK_TYPES)
    for lm in detail["Landmarks"]:
        assert box["Left"] <= lm["X"] <= box["Left"] + box["Width"]
        assert box["Top"] <= lm["Y"] <= box["Top"] + box["Height"]
    assert set(detail["Pose"]) == {"Roll", "Yaw", "Pitch"}
    assert all(abs(v) < 20 for v in detail["Pose"].values())  # a frontal studio photo
    assert 20 < detail["Quality"]["Brightness"] < 80 and detail["Quality"]["Sharpness"] > 50
    assert 90 <= detail["Confidence"] <= 100
    assert all(isinstance(v, float) for v in box.values())


def test_same_person_matches_and_another_does_not(pipeline: FacePipeline) -> None:
    neutral = pipeline.analyze(load("london_021_neutral.jpg"))[0].embedding
    smiling = pipeline.analyze(load("london_021_smiling.jpg"))[0].embedding
    other = pipeline.analyze(load("london_022_neutral.jpg"))[0].embedding
    assert neutral.shape == (128,) and neutral.dtype == np.float32
    assert float(np.linalg.norm(neutral)) == pytest.approx(1.0, abs=1e-5)
    assert to_similarity(float(neutral @ smiling)) > 90
    assert to_similarity(float(neutral @ other)) < 50


def test_identical_photo_scores_at_least_99(pipeline: FacePipeline) -> None:
    image = load("london_021_neutral.jpg")
    first = pipeline.analyze(image)[0].embedding
    buffer = io.BytesIO()
    Image.fromarray(image.pixels).save(buffer, format="PNG")  # the same photo, re-encoded
    again = pipeline.analyze(decode_image(buffer.getvalue()))[0].embedding
    assert to_similarity(float(first @ again)) >= 99
    buffer = io.BytesIO()
    Image.fromarray(image.pixels).save(buffer, format="JPEG", quality=75)  # and lossily
    lossy = pipeline.analyze(decode_image(buffer.getvalue()))[0].embedding
    assert to_similarity(float(first @ lossy)) >= 99


def test_no_face_gives_an_empty_list(pipeline: FacePipeline) -> None:
    assert pipeline.analyze(load("noface_chelsea.jpg")) == []


def test_embeddings_are_optional(pipeline: FacePipeline) -> None:
    faces = pipeline.analyze(load("london_021_neutral.jpg"), with_embeddings=False)
    assert faces[0].embedding is None


def test_exif_rotated_photo_gives_boxes_in_the_rotated_image(pipeline: FacePipeline) -> None:
    upright = Image.open(FIXTURES / "london_021_neutral.jpg")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # lying on its side on disk
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 CW, i.e. upright again
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", exif=exif, quality=92)
    rotated = pipeline.analyze(decode_image(buffer.getvalue()))
    reference = pipeline.analyze(load("london_021_neutral.jpg"))
    assert len(rotated) == 1
    a, b = face_detail(rotated[0])["BoundingBox"], face_detail(reference[0])["BoundingBox"]
    for key in ("Width", "Height", "Left", "Top"):
        assert a[key] == pytest.approx(b[key], abs=0.03)
    assert float(rotated[0].embedding @ reference[0].embedding) > 0.9


def test_several_faces_come_largest_first(pipeline: FacePipeline) -> None:
    big = load("london_022_neutral.jpg").pixels
    small = np.asarray(Image.fromarray(load("london_021_neutral.jpg").pixels).resize((200, 200)))
    canvas = np.zeros((400, 700, 3), np.uint8)
    canvas[100:300, 20:220] = small
    canvas[:, 300:700] = big
    faces = pipeline.analyze(DecodedImage(pixels=canvas, width=700, height=400, format="PNG"))
    assert len(faces) == 2
    assert faces[0].bounding_box.left > 300 / 700 > faces[1].bounding_box.left
    assert faces[0].bounding_box.width > faces[1].bounding_box.width
    # each face keeps its own identity
    own = pipeline.analyze(load("london_021_neutral.jpg"))[0].embedding
    assert float(faces[1].embedding @ own) > float(faces[0].embedding @ own)


def test_detection_confidence_is_monotonic_and_puts_the_threshold_at_90() -> None:
    from facesearch.vision.detector import DEFAULT_SCORE_THRESHOLD
    from facesearch.vision.pipeline import detection_confidence

    scores = np.linspace(0, 1, 101)
    confidences = [detection_confidence(s) for s in scores]
    assert all(b > a for a, b in itertools.pairwise(confidences))
    assert detection_confidence(DEFAULT_SCORE_THRESHOLD) == pytest.approx(90.0)
    assert detection_confidence(1.0) == 100.0 and detection_confidence(0.0) == 0.0
