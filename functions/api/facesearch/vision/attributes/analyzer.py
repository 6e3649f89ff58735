"""One entry point for Rekognition's optional face attributes: runs only the models a request needs.

    analyzer = get_analyzer(model_dir, threads)
    results = analyzer.analyze(image, [FaceInput(landmarks, box), ...], {"SMILE", "AGE_RANGE"})

`image` is the upright RGB Pillow image (DecodedImage.picture), each face comes with YuNet's 5 landmarks
(eyeLeft, eyeRight, nose, mouthLeft, mouthRight, image pixels) and box (x1, y1, x2, y2, image pixels), and the
requested names are Rekognition's Attribute values plus LANDMARKS (ALL's 30 landmark types). A request
without any of them (DEFAULT) creates no session and runs no model. Sessions are created on first use
and reused (models.create_session caches them per process). Several faces run as one batch where the
graph allows (mesh, age, gender, emotions); the blendshape graph is fixed at one face.

Model per attribute: AGE_RANGE -> age, GENDER -> gender, EMOTIONS -> emotions, SMILE / EYES_OPEN /
MOUTH_OPEN / EYE_DIRECTION -> face mesh + blendshapes, LANDMARKS -> face mesh.
BEARD, EYEGLASSES, FACE_OCCLUDED, MUSTACHE and SUNGLASSES have no model (UNSUPPORTED): no shipped,
permissively licensed one exists (docs/attributes.md), so they are never computed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from facesearch.vision import onnx as models
from facesearch.vision.attributes import calibration, gaze, landmarks
from facesearch.vision.attributes.age_gender import AgeModel, GenderModel
from facesearch.vision.attributes.calibration import BoolAttribute
from facesearch.vision.attributes.emotions import UNMEASURED, Emotion, EmotionModel
from facesearch.vision.attributes.face_mesh import BlendshapeModel, Blendshapes, FaceMesh, Mesh

if TYPE_CHECKING:
    import onnxruntime as ort

AGE_RANGE = "AGE_RANGE"
EMOTIONS = "EMOTIONS"
EYE_DIRECTION = "EYE_DIRECTION"
EYES_OPEN = "EYES_OPEN"
GENDER = "GENDER"
MOUTH_OPEN = "MOUTH_OPEN"
SMILE = "SMILE"
LANDMARKS = "LANDMARKS"  # not a Rekognition Attribute value: ALL's 30 landmark types
SUPPORTED = frozenset({AGE_RANGE, EMOTIONS, EYE_DIRECTION, EYES_OPEN, GENDER, MOUTH_OPEN, SMILE, LANDMARKS})
UNSUPPORTED = frozenset({"BEARD", "EYEGLASSES", "FACE_OCCLUDED", "MUSTACHE", "SUNGLASSES"})
ALL = SUPPORTED  # everything this service measures; what Rekognition's "ALL" maps to
UNMEASURED_EMOTIONS = UNMEASURED  # ("CONFUSED",): no model has such a class

_BLENDSHAPE_ATTRIBUTES = frozenset({SMILE, EYES_OPEN, MOUTH_OPEN, EYE_DIRECTION})
_MESH_ATTRIBUTES = _BLENDSHAPE_ATTRIBUTES | {LANDMARKS}

SessionFactory = Callable[[str], "ort.InferenceSession"]
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class FaceInput:
    landmarks: np.ndarray  # (5, 2) image pixels, YuNet / Rekognition order
    box: Box  # x1, y1, x2, y2 image pixels


@dataclass(frozen=True)
class AgeRange:
    low: int
    high: int


@dataclass(frozen=True)
class Gender:
    value: str  # "Male" or "Female"
    confidence: float


@dataclass(frozen=True)
class EyeDirection:
    yaw: float  # degrees, positive = towards the image right
    pitch: float  # degrees, positive = up
    confidence: float


@dataclass(frozen=True)
class Landmark:
    type: str  # botocore LandmarkType
    x: float  # ratio of the image width
    y: float  # ratio of the image height


@dataclass(frozen=True)
class FaceAttributes:
    """What was asked for (None = not asked, or not measurable for this face)."""

    age_range: AgeRange | None = None
    gender: Gender | None = None
    smile: BoolAttribute | None = None
    eyes_open: BoolAttribute | None = None
    mouth_open: BoolAttribute | None = None
    emotions: tuple[Emotion, ...] | None = None  # the 7 measured types, most likely first
    eye_direction: EyeDirection | None = None
    landmarks: tuple[Landmark, ...] | None = None  # all 30 types, botocore's LandmarkType order
    face_presence: float | None = None  # the mesh's P(face), when the mesh ran


def needed_models(requested: Collection[str]) -> frozenset[str]:
    """Model task names a request needs; DEFAULT (nothing supported asked) needs none."""
    tasks = set()
    if AGE_RANGE in requested:
        tasks.add("age")
    if GENDER in requested:
        tasks.add("gender")
    if EMOTIONS in requested:
        tasks.add("emotions")
    if _MESH_ATTRIBUTES & set(requested):
        tasks.add("face_mesh")
    if _BLENDSHAPE_ATTRIBUTES & set(requested):
        tasks.add("blendshapes")
    return frozenset(tasks)


def eye_direction(mesh: Mesh, blendshapes: Blendshapes) -> EyeDirection | None:
    offsets = gaze.iris_offsets(mesh.points)
    if offsets is None:
        return None
    angles = gaze.gaze_from_offsets(offsets, (calibration.GAZE_ZERO_YAW, calibration.GAZE_ZERO_PITCH))
    closed = calibration.EYES_CLOSED.probability(
        calibration.eyes_closed_feature(blendshapes["eyeBlinkLeft"], blendshapes["eyeBlinkRight"])
    )
    # a gaze needs a face (mesh presence) and open eyes; the angle's own error is not measured
    return EyeDirection(yaw=angles.yaw, pitch=angles.pitch, confidence=100.0 * mesh.presence * (1.0 - closed))


def mesh_attributes(mesh: Mesh, blendshapes: Blendshapes | None, requested: Collection[str],
                    width: int, height: int) -> dict[str, object]:  # fmt: skip
    """FaceAttributes fields computed from one face's mesh and blendshapes."""
    fields: dict[str, object] = {"face_presence": mesh.presence}
    if LANDMARKS in requested:
        ratios = landmarks.as_ratios(landmarks.landmark_points(mesh.points), width, height)
        fields["landmarks"] = tuple(Landmark(kind, x, y) for kind, (x, y) in ratios.items())
    if blendshapes is None:
        return fields
    b = blendshapes
    if SMILE in requested:
        fields["smile"] = calibration.decide(
            calibration.SMILE, calibration.smile_feature(b["mouthSmileLeft"], b["mouthSmileRight"])
        )
    if EYES_OPEN in requested:
        closed = calibration.decide(
            calibration.EYES_CLOSED, calibration.eyes_closed_feature(b["eyeBlinkLeft"], b["eyeBlinkRight"])
        )
        fields["eyes_open"] = BoolAttribute(value=not closed.value, confidence=closed.confidence)
    if MOUTH_OPEN in requested:
        fields["mouth_open"] = calibration.decide(
            calibration.MOUTH_OPEN, calibration.mouth_open_feature(b["jawOpen"], b["mouthClose"])
        )
    if EYE_DIRECTION in requested:
        fields["eye_direction"] = eye_direction(mesh, b)
    return fields


class AttributeAnalyzer:
    """Runs the attribute models for the faces of one image; sessions come from `sessions(task)`."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @functools.cached_property
    def face_mesh(self) -> FaceMesh:
        return FaceMesh(self._sessions("face_mesh"))

    @functools.cached_property
    def blendshapes(self) -> BlendshapeModel:
        return BlendshapeModel(self._sessions("blendshapes"))

    @functools.cached_property
    def age(self) -> AgeModel:
        return AgeModel(self._sessions("age"))

    @functools.cached_property
    def gender(self) -> GenderModel:
        return GenderModel(self._sessions("gender"))

    @functools.cached_property
    def emotions(self) -> EmotionModel:
        return EmotionModel(self._sessions("emotions"))

    def analyze(
        self, image: Image.Image, faces: Sequence[FaceInput], requested: Collection[str]
    ) -> list[FaceAttributes]:
        """One FaceAttributes per face of the upright RGB `image` (the one the detector saw), in order.
        Names outside SUPPORTED are ignored here (the request layer decides what to say about UNSUPPORTED
        ones)."""
        tasks = needed_models(requested)
        if not faces or not tasks:
            return [FaceAttributes() for _ in faces]
        width, height = image.size
        fields: list[dict[str, object]] = [{} for _ in faces]
        points = [np.asarray(face.landmarks, dtype=np.float64).reshape(5, 2) for face in faces]
        if "age" in tasks:
            for f, estimate in zip(fields, self.age.run(image, points), strict=True):
                low, high = calibration.age_range(estimate.mean)
                f["age_range"] = AgeRange(low=low, high=high)
        if "gender" in tasks:
            for f, g in zip(fields, self.gender.run(image, points), strict=True):
                f["gender"] = Gender(value=g.value, confidence=g.confidence)
        if "emotions" in tasks:
            boxed = [(p, face.box) for p, face in zip(points, faces, strict=True)]
            for f, ranked in zip(fields, self.emotions.run(image, boxed), strict=True):
                f["emotions"] = ranked
        if "face_mesh" in tasks:
            meshes = self.face_mesh.run(image, [(p, face.box) for p, face in zip(points, faces, strict=True)])
            for f, mesh in zip(fields, meshes, strict=True):
                shapes = self.blendshapes.run(mesh) if "blendshapes" in tasks else None
                f.update(mesh_attributes(mesh, shapes, requested, width, height))
        return [FaceAttributes(**f) for f in fields]  # type: ignore[arg-type]


@functools.lru_cache(maxsize=4)
def get_analyzer(directory: Path, threads: int) -> AttributeAnalyzer:
    """The process-wide analyzer of the int8 models in `directory` (sessions are created on first use)."""
    return AttributeAnalyzer(lambda task: models.task_session(task, directory, threads))
