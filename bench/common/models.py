"""The service's face models as the benches load them: the model directory and thread count of
`Settings.from_env()` (FACESEARCH_MODEL_DIR, FACESEARCH_INTRA_OP_THREADS), and what the benches compute from
them (sessions, the pipeline, digests that key their caches)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
import onnxruntime as ort

from facesearch.settings import Settings
from facesearch.vision import onnx
from facesearch.vision.detector import Detector
from facesearch.vision.embedder import Embedder
from facesearch.vision.pipeline import FacePipeline, get_pipeline


@functools.cache
def settings() -> Settings:
    return Settings.from_env()


def model_dir() -> Path:
    return settings().model_dir


def threads(requested: int | None = None) -> int:
    """`requested`, else the settings' intra-op threads (every CPU unless FACESEARCH_INTRA_OP_THREADS says)."""
    return requested or settings().intra_op_threads


def pipeline(threads_: int | None = None, variant: onnx.Variant = "int8") -> FacePipeline:
    """The service's (cached) pipeline of `variant`."""
    return get_pipeline(model_dir(), threads(threads_), variant)


def session(task: str, threads_: int | None = None, variant: onnx.Variant = "int8") -> ort.InferenceSession:
    """The cached session of any model of the manifest ("detector", "embedder", "face_mesh", ...)."""
    return onnx.task_session(task, model_dir(), threads(threads_), variant)


def detector(threads_: int | None = None, variant: onnx.Variant = "int8", score_threshold: float | None = None
             ) -> Detector:
    task = session("detector", threads_, variant)
    return Detector(task) if score_threshold is None else Detector(task, score_threshold=score_threshold)


def embedder(threads_: int | None = None, variant: onnx.Variant = "int8", flip: bool = True) -> Embedder:
    return Embedder(session("embedder", threads_, variant), flip=flip)


def files(variant: onnx.Variant = "int8") -> onnx.ModelFiles:
    return onnx.model_files(model_dir(), variant)


def digests(variant: onnx.Variant = "int8") -> dict[str, str]:
    """The full sha256 of the detector and embedder files of `variant`, by file name."""
    chosen = files(variant)
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in (chosen.detector, chosen.embedder)}


class Boxed(Protocol):
    @property
    def box(self) -> tuple[float, float, float, float]: ...


F = TypeVar("F", bound=Boxed)


def centre_face(faces: Sequence[F], width: float, height: float) -> F | None:
    """The face whose box centre is nearest the image centre (LFW labels that one), None for no faces."""
    def distance(face: F) -> float:
        x1, y1, x2, y2 = face.box
        return float(np.hypot((x1 + x2) / 2 - width / 2, (y1 + y2) / 2 - height / 2))

    return min(faces, key=distance) if faces else None


CACHE = Path(__file__).resolve().parents[2] / ".cache" / "bench"


def cache_path(name: str, *parts: object, variant: onnx.Variant = "int8") -> Path:
    """.cache/bench/<name>_<key>.npz, the key made of the model files of `variant` and `parts` (so a rebuilt
    model or another input list computes afresh)."""
    digest = hashlib.sha256()
    for value in digests(variant).values():
        digest.update(bytes.fromhex(value))
    digest.update("\n".join(map(str, parts)).encode())
    return CACHE / f"{name}_{digest.hexdigest()[:16]}.npz"
