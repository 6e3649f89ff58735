"""YuNet decoding and pass rendering (pure), then the real model on committed photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesearch.vision import onnx as models
from facesearch.vision.canvas import render, resample, to_blob
from facesearch.vision.detector import Detector, decode
from facesearch.vision.image_decoder import decode_image
from facesearch.vision.pass_plan import Placement
from tests.conftest import MODEL_DIR, MODEL_THREADS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"


def test_resample_shrinks_smooth_images_like_one_area_average() -> None:
    y, x = np.mgrid[0:768, 0:1024]
    smooth = np.stack([x / 4, y / 3, 128 + 100 * np.sin(x / 60) * np.cos(y / 45)], axis=-1).astype(np.uint8)
    image = Image.fromarray(smooth)
    fast = np.asarray(resample(image, (0, 0, 1024, 768), (432, 324)), np.float64)
    plain = np.asarray(image.resize((432, 324), Image.Resampling.BOX), np.float64)
    assert fast.shape == plain.shape == (324, 432, 3)
    assert np.abs(fast - plain).mean() < 1.0  # of 255


def test_resample_does_not_alias_fine_detail() -> None:
    stripes = np.zeros((768, 1024, 3), np.uint8)
    stripes[:, ::2] = 255  # 1 px stripes: a 2.37x shrink must turn them grey, not into coarse bands
    out = np.asarray(resample(Image.fromarray(stripes), (0, 0, 1024, 768), (432, 324)), np.float64)
    assert abs(out.mean() - 127.5) < 3 and out.std() < 12


def test_resample_reads_only_the_region() -> None:
    pixels = np.zeros((400, 600, 3), np.uint8)
    pixels[100:300, 200:500] = 200
    out = np.asarray(resample(Image.fromarray(pixels), (200, 100, 500, 300), (75, 50)))
    assert out.shape == (50, 75, 3) and (out == 200).all()


def test_render_places_the_region_and_replicates_its_edge() -> None:
    pixels = np.zeros((100, 200, 3), np.uint8)
    pixels[:, :100] = 50
    pixels[:, 100:] = 150
    placement = Placement((0, 0, 200, 100), (100, 50), (14, 7), (128, 64), border="edge")
    canvas = render(Image.fromarray(pixels), placement)
    assert canvas.shape == (64, 128, 3)
    assert (canvas[:, :14] == 50).all() and (canvas[:, 14 + 100 :] == 150).all()  # the edge, continued
    black = render(Image.fromarray(pixels), Placement((0, 0, 200, 100), (100, 50), (14, 7), (128, 64)))
    assert (black[:7] == 0).all() and (black[:, :14] == 0).all() and (black[7:57, 14:60] == 50).all()


def test_the_blob_is_bgr_nchw_float() -> None:
    canvas = np.zeros((32, 64, 3), np.uint8)
    canvas[..., 0], canvas[..., 1], canvas[..., 2] = 10, 20, 30
    blob = to_blob(canvas)
    assert blob.shape == (1, 3, 32, 64) and blob.dtype == np.float32 and blob.flags.c_contiguous
    assert blob[0, :, 5, 7].tolist() == [30.0, 20.0, 10.0]


def synthetic_grid(width: int, height: int, strides: tuple[int, ...]) -> dict[str, np.ndarray]:
    outputs = {}
    for stride in strides:
        cells = (width // stride) * (height // stride)
        outputs[f"cls_{stride}"] = np.zeros((1, cells, 1), np.float32)
        outputs[f"obj_{stride}"] = np.zeros((1, cells, 1), np.float32)
        outputs[f"bbox_{stride}"] = np.zeros((1, cells, 4), np.float32)
        outputs[f"kps_{stride}"] = np.zeros((1, cells, 10), np.float32)
    return outputs


@pytest.mark.parametrize(("width", "height"), [(640, 640), (640, 320), (192, 416)])
def test_decode_reads_the_yunet_grid_layout(width: int, height: int) -> None:
    outputs = synthetic_grid(width, height, (8, 16, 32))
    cols = width // 16
    row, col = 5, 7
    index = row * cols + col
    outputs["cls_16"][0, index, 0] = 0.81
    outputs["obj_16"][0, index, 0] = 1.0
    outputs["bbox_16"][0, index] = [0.5, 0.25, np.log(4.0), np.log(2.0)]  # centre offset, log size
    outputs["kps_16"][0, index] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    boxes, scores, kps = decode(outputs, (width, height), (8, 16, 32), 0.5)
    assert scores.tolist() == pytest.approx([0.9])  # sqrt(cls * obj)
    cx, cy = (col + 0.5) * 16, (row + 0.25) * 16
    np.testing.assert_allclose(boxes[0], [cx - 32, cy - 16, cx + 32, cy + 16])
    np.testing.assert_allclose(kps[0, 0], [(col + 0.1) * 16, (row + 0.2) * 16])
    np.testing.assert_allclose(kps[0, 4], [(col + 0.9) * 16, (row + 1.0) * 16])
    assert decode(outputs, (width, height), (8, 16, 32), 0.95)[0].shape == (0, 4)


# --- the real model --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def detector() -> Detector:
    try:
        return Detector(models.detector_session(MODEL_DIR, MODEL_THREADS))
    except models.ModelsNotFoundError as error:
        pytest.skip(str(error))


def photo(name: str) -> np.ndarray:
    return decode_image((FIXTURES / name).read_bytes()).pixels


def test_detector_introspects_the_graph(detector: Detector) -> None:
    assert detector.strides == (8, 16, 32)


class FixedInputSession:
    """Stands in for the pre-multi-scale YuNet file, whose input was fixed at 640 x 640."""

    class Value:
        def __init__(self, name: str, shape: list[object]) -> None:
            self.name, self.shape = name, shape

    def get_inputs(self) -> list[Value]:
        return [self.Value("input", [1, 3, 640, 640])]

    def get_outputs(self) -> list[Value]:
        return [self.Value(f"{kind}_{s}", []) for kind in ("cls", "obj", "bbox", "kps") for s in (8, 16, 32)]


def test_a_fixed_size_detector_model_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="make models"):
        Detector(FixedInputSession())  # type: ignore[arg-type]


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
    big = np.asarray(Image.fromarray(small).resize((1000, 1000)))  # 2.5x, shrunk to 432 px by the main pass
    a, b = detector.detect(small)[0], detector.detect(big)[0]
    # the network sees the face at ~129 vs ~138 px, on different phases of its 32 px grid, where YuNet's
    # points wobble by ~6 % of the face width; a mapping error would be off by a multiple of that
    np.testing.assert_allclose(np.array(b.box) / 2.5, a.box, atol=0.05 * a.width)
    np.testing.assert_allclose(b.landmarks / 2.5, a.landmarks, atol=0.08 * a.width)


def test_faces_are_sorted_largest_first_and_capped(detector: Detector) -> None:
    face = photo("london_021_neutral.jpg")
    other = photo("london_022_neutral.jpg")
    canvas = np.zeros((400, 800, 3), np.uint8)
    canvas[:, 400:] = other
    canvas[100:300, 100:300] = np.asarray(Image.fromarray(face).resize((200, 200)))
    faces = detector.detect(canvas)
    assert len(faces) == 2
    assert faces[0].box[0] > 400 and faces[0].area > faces[1].area
    capped = Detector(models.detector_session(MODEL_DIR, MODEL_THREADS), max_faces=1).detect(canvas)
    assert len(capped) == 1 and capped[0].box == faces[0].box


def test_a_mirrored_border_reflects_the_region_at_its_edges_however_wide() -> None:
    pixels = np.zeros((2, 3, 3), np.uint8)
    pixels[..., 0] = [[1, 2, 3], [4, 5, 6]]
    placement = Placement((0, 0, 3, 2), (3, 2), (4, 1), (11, 5), border="mirror")
    canvas = render(Image.fromarray(pixels), placement)[..., 0]
    assert canvas.shape == (5, 11)
    # rows: the region reflected at its top and bottom edges (edge pixels repeated, as a mirror shows them)
    assert canvas[:, 4].tolist() == [1, 1, 4, 4, 1]
    # a border wider than the region reflects again
    assert canvas[1].tolist() == [3, 3, 2, 1, 1, 2, 3, 3, 2, 1, 1]
