"""Where the ONNX models live and how their onnxruntime sessions are made (once per process).

The models layer (layers/models/build.py) writes the models plus a MANIFEST.json that says which file
each variant uses for each task: "int8" is what the service runs, "fp32" exists in a local build only, for
benchmarks. The directory and the thread count come from the caller (Settings, via the face pipeline):
nothing here reads the environment. Sessions are expensive (tens of ms, tens of MB), so they are created
lazily and cached for the life of the (warm) Lambda container.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import onnxruntime as ort

Variant = Literal["int8", "fp32"]

MANIFEST_NAME = "MANIFEST.json"


class ModelsNotFoundError(RuntimeError):
    """The model files are not where the service looks; build them with `make models`."""


@dataclass(frozen=True)
class ModelFiles:
    variant: str
    detector: Path
    embedder: Path


def _variant_files(directory: Path, variant: Variant) -> dict[str, str]:
    manifest = directory / MANIFEST_NAME
    if not manifest.is_file():
        raise ModelsNotFoundError(f"no {manifest}. Run `make models` (layers/models/build.py --out .cache/models) "
                                  "or set FACESEARCH_MODEL_DIR.")
    variants: dict[str, dict[str, str]] = json.loads(manifest.read_text()).get("variants", {})
    if variant not in variants:
        raise ValueError(f"unknown model variant {variant!r}; {manifest} has {sorted(variants)}")
    return variants[variant]


def model_path(task: str, directory: Path, variant: Variant = "int8") -> Path:
    """The file of `task` ("detector", "embedder", or an attribute model: "age", "gender", "face_mesh",
    "blendshapes", "emotions") in `variant`, from MANIFEST.json; ModelsNotFoundError if absent."""
    names = _variant_files(directory, variant)
    if task not in names:
        raise ModelsNotFoundError(f"no {task!r} model in the {variant} variant of {directory / MANIFEST_NAME}. "
                                  "Run `make models` (layers/models/build.py --out .cache/models) or set "
                                  "FACESEARCH_MODEL_DIR.")
    path = directory / names[task]
    if not path.is_file():
        raise ModelsNotFoundError(f"{task} model not found: {path}. Run `make models` or set FACESEARCH_MODEL_DIR")
    return path


def model_files(directory: Path, variant: Variant = "int8") -> ModelFiles:
    """The detector and embedder files of `variant`, raising ModelsNotFoundError if absent."""
    return ModelFiles(variant, model_path("detector", directory, variant), model_path("embedder", directory, variant))


def session_options(threads: int) -> ort.SessionOptions:
    """One request at a time per container, so parallelism goes inside operators, none across them."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # warnings about QDQ node placement are noise at run time
    # Idle intra-op threads must sleep, not spin: two sessions' spinning threads on 1-2 vCPUs took the CPU
    # from everything after them (python -m bench.search_api: pipeline 135 -> 82 ms, 100k scan 8.5 -> 4.3 ms).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


@functools.lru_cache(maxsize=16)
def create_session(path: str, threads: int) -> ort.InferenceSession:
    """A CPU session for the model at `path` with `threads` intra-op threads, cached per process."""
    return ort.InferenceSession(path, sess_options=session_options(threads), providers=["CPUExecutionProvider"])


def task_session(task: str, directory: Path, threads: int, variant: Variant = "int8") -> ort.InferenceSession:
    """The cached session of any model in the manifest by task name (e.g. "detector", "face_mesh")."""
    return create_session(str(model_path(task, directory, variant)), threads)


def detector_session(directory: Path, threads: int, variant: Variant = "int8") -> ort.InferenceSession:
    """The cached YuNet session of `variant`."""
    return task_session("detector", directory, threads, variant)


def embedder_session(directory: Path, threads: int, variant: Variant = "int8") -> ort.InferenceSession:
    """The cached SFace session of `variant`."""
    return task_session("embedder", directory, threads, variant)
