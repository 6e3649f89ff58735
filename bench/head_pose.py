"""Head yaw from MediaPipe's face mesh (the shipped attribute model), for benches that need faces turned by a
known amount independently of the detector under test.

The mesh (478 points with depth) is fitted with a 3D similarity to a frontal reference, the mean mesh of the
London studio faces (frontal by design: |yaw| median 1.5, max 7.7 degrees against that mean); the fitted
rotation gives the yaw (the benches use its size only). The crop is MediaPipe's own
(1.5 x a square box, crops.square_roi), run twice: the second time from the first mesh's own extent. The mesh
regresses towards frontal at full profile (LFW faces that look 70-80 degrees turned read 55-65), so a
"|yaw| >= 60" set from it holds faces that are at least that turned.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from bench.common import models
from facesearch.vision.aligner import umeyama, warp
from facesearch.vision.attributes import crops
from facesearch.vision.attributes.face_mesh import sigmoid, to_image

FACE_POINTS = 468  # the mesh without the iris points


class HeadPose:
    def __init__(self) -> None:
        self._session = models.session("face_mesh", 1)
        self._input = self._session.get_inputs()[0].name
        self._outputs = [o.name for o in self._session.get_outputs()]
        self.reference: np.ndarray | None = None

    def mesh(self, image: Image.Image, box: tuple[float, float, float, float]) -> tuple[np.ndarray, float]:
        """(468, 3) mesh points in image px and the mesh's face presence, from a face box (two rounds)."""
        points = np.empty((0, 3))
        presence = 0.0
        for _ in range(2):
            centre, side = crops.box_centre_side(box)
            transform = crops.square_roi(centre, crops.MESH_ROI_SCALE * side, 0.0, crops.MESH_SIZE)
            blob = np.ascontiguousarray(warp(image, transform, crops.MESH_SIZE)[None], np.float32) / 255
            landmarks, logit = self._session.run(self._outputs, {self._input: blob})
            points = to_image(np.asarray(landmarks, np.float64).reshape(-1, 3), transform)[:FACE_POINTS]
            presence = float(sigmoid(np.asarray(logit).reshape(1))[0])
            (x1, y1), (x2, y2) = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
            box = (float(x1), float(y1), float(x2), float(y2))
        return points, presence

    @staticmethod
    def normalised(points: np.ndarray) -> np.ndarray:
        centred = points - points.mean(axis=0)
        normalised: np.ndarray = centred / np.sqrt((centred[:, :2] ** 2).sum(axis=1).mean())
        return normalised

    def fit_reference(self, faces: list[tuple[Image.Image, tuple[float, float, float, float]]]) -> None:
        """The frontal reference: the mean normalised mesh of these (frontal) faces."""
        self.reference = np.mean([self.normalised(self.mesh(image, box)[0]) for image, box in faces], axis=0)

    def yaw(self, image: Image.Image, box: tuple[float, float, float, float]) -> float:
        """Degrees the face in `box` is turned left or right (signed; its size is what counts)."""
        assert self.reference is not None, "fit_reference first"
        points = self.normalised(self.mesh(image, box)[0])
        rotation = umeyama(points, self.reference)[:3, :3]
        head = (rotation / np.cbrt(np.linalg.det(rotation))).T
        return math.degrees(math.asin(float(np.clip(-head[2, 0], -1.0, 1.0))))
