"""5-point face alignment to the ArcFace 112x112 template (pure geometry, numpy + Pillow).

Coordinates are continuous (pixel (i, j) covers [i, i+1) x [j, j+1)), the convention Pillow's affine
transform samples in. The ArcFace template is published in OpenCV's integer-centre convention (it is fed
to cv2.warpAffine), so it is shifted by half a pixel here.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

CROP_SIZE = 112

# insightface `arcface_dst` / OpenCV SFace alignCrop template: eyeLeft, eyeRight, nose, mouthLeft,
# mouthRight (left = left of the image) in a 112x112 crop, integer-centre pixel convention.
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
_TEMPLATE = ARCFACE_TEMPLATE + 0.5

# Below this crop/source scale the bilinear sampler would skip source pixels (aliasing), so the source
# is first box-reduced by an integer factor (Image.reduce) to bring the scale back to >= 0.5.
_MIN_SCALE = 0.5


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation) taking src to dst.

    Umeyama (1991), "Least-squares estimation of transformation parameters between two point
    patterns". Returns the 3x3 homogeneous matrix T with dst ~= (T @ [x, y, 1])[:2].
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    n, dim = src.shape
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / n
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(dim)
    if np.linalg.det(cov) < 0:  # reflection: flip the weakest axis
        d[-1] = -1.0
    rotation = u @ np.diag(d) @ vt
    src_var = (src_c**2).sum() / n
    scale = float((s * d).sum() / src_var) if src_var > 0 else 1.0
    transform = np.eye(dim + 1)
    transform[:dim, :dim] = scale * rotation
    transform[:dim, dim] = dst_mean - scale * rotation @ src_mean
    return transform


def alignment_matrix(landmarks: np.ndarray) -> np.ndarray:
    """3x3 transform from image coordinates to the 112x112 crop for (5, 2) landmarks."""
    return umeyama(np.asarray(landmarks, dtype=np.float64).reshape(5, 2), _TEMPLATE)


def warp(image: Image.Image, forward: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """Sample `image` into a size x size crop through the similarity `forward` (image -> crop).

    Pillow wants the inverse mapping (crop -> image). Large faces are box-reduced first so bilinear
    sampling does not alias.
    """
    inverse = np.linalg.inv(forward)
    scale = float(np.sqrt(abs(np.linalg.det(forward[:2, :2]))))
    source = image
    if scale < _MIN_SCALE:
        factor = int(_MIN_SCALE / scale)
        corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], dtype=np.float64)
        mapped = (inverse @ corners.T)[:2].T
        margin = 2 * factor
        left = int(np.clip(np.floor(mapped[:, 0].min()) - margin, 0, image.width))
        top = int(np.clip(np.floor(mapped[:, 1].min()) - margin, 0, image.height))
        right = int(np.clip(np.ceil(mapped[:, 0].max()) + margin, 0, image.width))
        bottom = int(np.clip(np.ceil(mapped[:, 1].max()) + margin, 0, image.height))
        if right - left >= factor and bottom - top >= factor:
            # Image.reduce averages factor x factor blocks starting at the box's corner, so an output
            # pixel (u, v) of the reduced image covers source [left + u*factor, left + (u+1)*factor).
            source = image.reduce(factor, box=(left, top, right, bottom))
            to_reduced = np.array(
                [[1 / factor, 0, -left / factor], [0, 1 / factor, -top / factor], [0, 0, 1]]
            )
            inverse = to_reduced @ inverse
    coefficients = tuple(float(v) for v in inverse[:2].ravel())
    crop = source.transform(
        (size, size), Image.Transform.AFFINE, coefficients, resample=Image.Resampling.BILINEAR, fillcolor=0
    )
    return np.asarray(crop.convert("RGB"))


def in_picture(landmarks: np.ndarray, width: int, height: int, size: int = CROP_SIZE) -> np.ndarray:
    """(size, size) bool: which pixels of the face's aligned crop sample the picture (the rest is the
    black fill beyond the edge of a face the frame cuts)."""
    inverse = np.linalg.inv(alignment_matrix(landmarks))
    if size != CROP_SIZE:
        inverse = inverse @ np.diag([CROP_SIZE / size, CROP_SIZE / size, 1.0])
    v, u = np.mgrid[0:size, 0:size] + 0.5
    x = inverse[0, 0] * u + inverse[0, 1] * v + inverse[0, 2]
    y = inverse[1, 0] * u + inverse[1, 1] * v + inverse[1, 2]
    inside: np.ndarray = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    return inside


def align(image: Image.Image, landmarks: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """The size x size RGB uint8 ArcFace crop of the face with these 5 landmarks."""
    forward = alignment_matrix(landmarks)
    if size != CROP_SIZE:
        forward = np.diag([size / CROP_SIZE, size / CROP_SIZE, 1.0]) @ forward
    return warp(image, forward, size)
