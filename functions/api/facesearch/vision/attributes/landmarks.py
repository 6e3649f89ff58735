"""Rekognition's 30 landmark types from the 478-point face mesh.

Rekognition names sides as seen in the image: "eyeLeft"/"leftPupil" are the eye with the smaller X, i.e.
the subject's right eye in an ordinary (unmirrored) photo, which is what MediaPipe calls "right". The mesh
indices below were checked on a London photo drawn with its index numbers (docs/attributes.md). A type
given as several indices is their mean (eye centres: the two corners; brow ends: the upper and lower
brow contour).
"""

from __future__ import annotations

import numpy as np

# Rekognition type -> mesh indices (averaged). Image-left = subject's right = MediaPipe's "right".
LANDMARK_MESH_INDICES: dict[str, tuple[int, ...]] = {
    "eyeLeft": (33, 133),  # image-left eye: outer + inner corner
    "eyeRight": (362, 263),
    "nose": (1,),  # nose tip
    "mouthLeft": (61,),  # mouth corners
    "mouthRight": (291,),
    "leftEyeBrowLeft": (70, 46),  # image-left brow, outer end (upper, lower contour)
    "leftEyeBrowRight": (107, 55),  # its inner end
    "leftEyeBrowUp": (105,),  # its highest upper-contour point
    "rightEyeBrowLeft": (336, 285),  # image-right brow, inner end
    "rightEyeBrowRight": (300, 276),  # its outer end
    "rightEyeBrowUp": (334,),
    "leftEyeLeft": (33,),  # image-left eye, outer corner
    "leftEyeRight": (133,),  # inner corner
    "leftEyeUp": (159,),  # upper lid, middle
    "leftEyeDown": (145,),  # lower lid, middle
    "rightEyeLeft": (362,),  # image-right eye, inner corner
    "rightEyeRight": (263,),  # outer corner
    "rightEyeUp": (386,),
    "rightEyeDown": (374,),
    "noseLeft": (98,),  # nostril wings
    "noseRight": (327,),
    "mouthUp": (0,),  # upper lip, top of the Cupid's bow centre
    "mouthDown": (17,),  # lower lip, bottom centre
    "leftPupil": (468,),  # iris centres
    "rightPupil": (473,),
    "upperJawlineLeft": (234,),  # face contour at the cheekbone / ear level
    "midJawlineLeft": (172,),  # jaw angle
    "chinBottom": (152,),
    "midJawlineRight": (397,),
    "upperJawlineRight": (454,),
}


def landmark_points(mesh_points: np.ndarray) -> dict[str, tuple[float, float]]:
    """Each of the 30 types' (x, y) in the mesh's own units (pixels in, pixels out), in botocore's
    LandmarkType order."""
    points = np.asarray(mesh_points, dtype=np.float64)[:, :2]
    result = {}
    for kind, indices in LANDMARK_MESH_INDICES.items():
        x, y = points[list(indices)].mean(axis=0)
        result[kind] = (float(x), float(y))
    return result


def as_ratios(
    points: dict[str, tuple[float, float]], width: int, height: int
) -> dict[str, tuple[float, float]]:
    """Pixels -> Rekognition's ratios of the image width and height (may leave [0, 1] near the border)."""
    return {kind: (x / width, y / height) for kind, (x, y) in points.items()}
