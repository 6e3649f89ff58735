"""YuNet decoding, NMS and letterbox maths (pure), then the real model on committed photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesearch.vision import onnx as models
from facesearch.vision.detector import Detector, Letterbox, decode, letterbox, letterbox_scale, nms
from facesearch.vision.imaging import decode_image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10.5]], dtype=np.float64)
    scores = np.array([0.8, 0.95, 0.7, 0.6])
    assert nms(boxes, scores, 0.3).tolist() == [1, 2]
    assert nms(boxes, scores, 0.99).tolist() == [1, 0, 2, 3]
    assert nms(np.empty((0, 4)), np.empty(0), 0.3).tolist() == []


def test_nms_keeps_touching_but_not_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [10, 0, 20, 10]], dtype=np.float64)
    assert sorted(nms(boxes, np.array([0.9, 0.8]), 0.0).tolist()) == [0, 1]


def test_small_images_are_padded_not_upscaled() -> None:
    assert letterbox_scale(250, 250, 640) == 1.0
    pixels = np.full((250, 200, 3), 77, np.uint8)
    canvas, box = letterbox(pixels, 640)
    assert canvas.shape == (640, 640, 3)
    assert (box.scale_x, box.scale_y) == (1.0, 1.0)
    assert (canvas[:250, :200] == 77).all() and (canvas[250:] == 0).all() and (canvas[:, 200:] == 0).all()


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (1350, 1800), (641, 640), (3000, 97)])
def test_letterbox_maps_coordinates_round_trip(width: int, height: int) -> None:
    canvas, box = letterbox(np.zeros((height, width, 3), np.uint8), 640)
    assert max(box.width, box.height) == 640
    assert canvas[: box.height, : box.width].shape[:2] == (box.height, box.width)
    points = np.array([[0.0, 0.0, width, height], [width / 3, height / 2, width / 2, height / 5]])
    mapped = box.to_input(points)
    assert mapped[0, 2] == pytest.approx(box.width) and mapped[0, 3] == pytest.approx(box.height)
    np.testing.assert_allclose(box.to_original(mapped), points)


def test_letterbox_scales_x_and_y_separately() -> None:
    box = Letterbox(scale_x=0.5, scale_y=0.25, width=10, height=10)
    np.testing.assert_allclose(box.to_original(np.array([[1.0, 1.0, 2.0, 2.0]])), [[2.0, 4.0, 4.0, 8.0]])
    np.testing.assert_allclose(box.to_original(np.ones((1, 5, 2))), np.tile([[2.0, 4.0]], (1, 5, 1)))


def synthetic_outputs(size: int, strides: tuple[int, ...]) -> dict[str, np.ndarray]:
    outputs = {}
    for stride in strides:
        cells = (size // stride) ** 2
        outputs[f"cls_{stride}"] = np.zeros((1, cells, 1), np.float32)
        outputs[f"obj_{stride}"] = np.zeros((1, cells, 1), np.float32)
        outputs[f"bbox_{stride}"] = np.zeros((1, cells, 4), np.float32)
        outputs[f"kps_{stride}"] = np.zeros((1, cells, 10), np.float32)
    return outputs


def test_decode_reads_the_yunet_grid_layout() -> None:
    outputs = synthetic_outputs(640, (8, 16, 32))
    cols = 640 // 16
    row, col = 5, 7
    index = row * cols + col
    outputs["cls_16"][0, index, 0] = 0.81
    outputs["obj_16"][0, index, 0] = 1.0
    outputs["bbox_16"][0, index] = [0.5, 0.25, np.log(4.0), np.log(2.0)]  # centre offset, log size
    outputs["kps_16"][0, index] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    boxes, scores, kps = decode(outputs, 640, (8, 16, 32), 0.5)
    assert scores.tolist() == pytest.approx([0.9])  # sqrt(cls * obj)
    cx, cy = (col + 0.5) * 16, (row + 0.25) * 16
    np.testing.assert_allclose(boxes[0], [cx - 32, cy - 16, cx + 32, cy + 16])
    np.testing.assert_allclose(kps[0, 0], [(col + 0.1) * 16, (row + 0.2) * 16])
    np.testing.assert_allclose(kps[0, 4], [(col + 0.9) * 16, (row + 1.0) * 16])
    assert decode(outputs, 640, (8, 16, 32), 0.95)[0].shape == (0, 4)


# --- the real model --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def detector() -> Detector:
    try:
        return Detector(models.detector_session("int8"))
    except models.ModelsNotFoundError as error:
        pytest.skip(str(error))


def photo(name: str) -> np.ndarray:
    return decode_image((FIXTURES / name).read_bytes()).pixels


def test_detector_introspects_the_graph(detector: Detector) -> None:
    assert detector.input_size == 640
    assert detector.strides == (8, 16, 32)


def test_finds_one_face_with_landmarks_in_rekognition_order(detector: Detector) -> None:
    faces = detector.detect(photo("london_021_neutral.jpg"))
    assert len(faces) == 1
    face = faces[0]
    assert face.score > 0.9
    x1, y1, x2, y2 = face.box
    assert 100 < x1 < x2 < 300 and 50 < y1 < y2 < 300
    eye_left, eye_right, nose, mouth_left, mouth_right = face.landmarks
    assert eye_left[0] < nose[0] < eye_right[0]  # eyeLeft is the eye on the left of the image
    assert mouth_left[0] < mouth_right[0]
    assert max(eye_left[1], eye_right[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    assert all(x1 <= x <= x2 and y1 <= y <= y2 for x, y in face.landmarks)


def test_no_face_in_a_cat_photo(detector: Detector) -> None:
    assert detector.detect(photo("noface_chelsea.jpg")) == []


def test_boxes_refer_to_the_original_image_at_any_scale(detector: Detector) -> None:
    small = photo("london_021_neutral.jpg")
    big = np.asarray(Image.fromarray(small).resize((1000, 1000)))  # 2.5x, shrunk again to 640 inside
    a, b = detector.detect(small)[0], detector.detect(big)[0]
    # the network sees the face at 400 vs 640 px: same place to within a few % of the face size
    tolerance = 0.05 * a.width
    np.testing.assert_allclose(np.array(b.box) / 2.5, a.box, atol=tolerance)
    np.testing.assert_allclose(b.landmarks / 2.5, a.landmarks, atol=tolerance)


def test_faces_are_sorted_largest_first_and_capped(detector: Detector) -> None:
    face = photo("london_021_neutral.jpg")
    other = photo("london_022_neutral.jpg")
    canvas = np.zeros((400, 800, 3), np.uint8)
    canvas[:, 400:] = other
    canvas[100:300, 100:300] = np.asarray(Image.fromarray(face).resize((200, 200)))
    faces = detector.detect(canvas)
    assert len(faces) == 2
    assert faces[0].box[0] > 400 and faces[0].area > faces[1].area
    capped = Detector(models.detector_session("int8"), max_faces=1).detect(canvas)
    assert len(capped) == 1 and capped[0].box == faces[0].box
