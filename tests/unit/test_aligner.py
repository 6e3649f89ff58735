"""Umeyama similarity fitting and the Pillow warp to the ArcFace template."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from facesearch.vision.aligner import ARCFACE_TEMPLATE, CROP_SIZE, align, alignment_matrix, in_picture, umeyama


def similarity(scale: float, angle_deg: float, tx: float, ty: float) -> np.ndarray:
    a = math.radians(angle_deg)
    return np.array(
        [
            [scale * math.cos(a), -scale * math.sin(a), tx],
            [scale * math.sin(a), scale * math.cos(a), ty],
            [0, 0, 1],
        ]
    )


def apply(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    return (transform[:2, :2] @ points.T).T + transform[:2, 2]


@pytest.mark.parametrize(
    ("scale", "angle", "tx", "ty"), [(1, 0, 0, 0), (2.5, 30, 10, -4), (0.3, -170, 400, 25)]
)
def test_umeyama_recovers_a_known_similarity(scale: float, angle: float, tx: float, ty: float) -> None:
    src = np.random.default_rng(1).uniform(0, 300, (7, 2))
    truth = similarity(scale, angle, tx, ty)
    np.testing.assert_allclose(umeyama(src, apply(truth, src)), truth, atol=1e-9)


def test_umeyama_is_least_squares_under_noise() -> None:
    rng = np.random.default_rng(2)
    src = rng.uniform(0, 200, (50, 2))
    truth = similarity(1.7, 12, 5, 9)
    estimate = umeyama(src, apply(truth, src) + rng.normal(0, 0.5, (50, 2)))
    np.testing.assert_allclose(estimate[:2, :2], truth[:2, :2], atol=0.01)
    np.testing.assert_allclose(estimate[:2, 2], truth[:2, 2], atol=0.5)


def test_umeyama_never_reflects() -> None:
    src = np.random.default_rng(3).uniform(0, 100, (5, 2))
    mirrored = src * [-1, 1]
    transform = umeyama(src, mirrored)
    assert np.linalg.det(transform[:2, :2]) > 0


def test_template_landmarks_align_to_identity() -> None:
    # landmarks already at the template (continuous coordinates) -> the crop is the image itself
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)
    crop = align(Image.fromarray(pixels), ARCFACE_TEMPLATE + 0.5)
    assert crop.shape == (CROP_SIZE, CROP_SIZE, 3) and crop.dtype == np.uint8
    np.testing.assert_allclose(crop[1:-1, 1:-1], pixels[1:-1, 1:-1], atol=1)  # float rounding only


def test_align_undoes_a_rotation_and_scale() -> None:
    # draw a pattern in crop space, map it into a larger rotated image, and align it back
    rng = np.random.default_rng(5)
    pattern = Image.fromarray(rng.integers(0, 256, (14, 14, 3), dtype=np.uint8)).resize(
        (CROP_SIZE, CROP_SIZE), Image.Resampling.NEAREST
    )
    pattern = pattern.resize((CROP_SIZE, CROP_SIZE), Image.Resampling.BILINEAR)
    forward = similarity(1.8, 25, 120, 40)  # crop -> image
    inverse = np.linalg.inv(forward)
    image = pattern.transform(
        (400, 400), Image.Transform.AFFINE, tuple(inverse[:2].ravel()), Image.Resampling.BILINEAR
    )
    landmarks = apply(forward, ARCFACE_TEMPLATE + 0.5)
    np.testing.assert_allclose(alignment_matrix(landmarks), inverse, atol=1e-9)
    crop = align(image, landmarks).astype(int)
    error = np.abs(crop[8:-8, 8:-8] - np.asarray(pattern, dtype=int)[8:-8, 8:-8])
    assert error.mean() < 8


def test_large_faces_are_reduced_before_sampling() -> None:
    # a face 8x larger than the crop: box reduction must keep fine stripes from aliasing into bands
    stripes = np.zeros((1200, 1200, 3), dtype=np.uint8)
    stripes[:, ::2] = 255
    forward = similarity(8.0, 0, 100, 100)
    crop = align(Image.fromarray(stripes), apply(forward, ARCFACE_TEMPLATE + 0.5))
    assert abs(float(crop.mean()) - 127.5) < 3
    assert float(crop.std()) < 10


def test_in_picture_marks_the_crop_pixels_that_sample_the_picture() -> None:
    points = ARCFACE_TEMPLATE + 0.5 + [100.0, 100.0]  # the crop is the square (100, 100)-(212, 212)
    assert in_picture(points, 400, 400).all()
    half = in_picture(points, 156, 400)  # the picture ends at x = 156: the crop's left half is in it
    assert half[:, :56].all() and not half[:, 56:].any()
