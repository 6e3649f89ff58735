"""Where the ONNX models live and how their onnxruntime sessions are made (once per process).

The models layer (layers/models/build.py) writes the models plus a MANIFEST.json that says which file
each variant uses: "int8" is what the service runs, "fp32" exists in a local build only, for benchmarks.
Sessions are expensive (tens of ms, tens of MB), so they are created lazily and cached for the life of
the (warm) Lambda container.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import onnxruntime as ort

from facesearch.settings import Settings

# "int8" is what the service runs; "fp32", "int8-all" (int8 YuNet too) and "legacy" (the models before the
# size-agnostic YuNet and the PRelu rewrite, for bench/ baselines) exist in local builds only
Variant = Literal["int8", "fp32", "int8-all", "legacy"]

MANIFEST_NAME = "MANIFEST.json"

# Used when a manifest predates the "variants" key: the file names build.py writes.
_DEFAULT_FILES: dict[str, dict[str, str]] = {
    "int8": {"detector": "yunet_int8.onnx", "embedder": "sface_int8.onnx"},
    "fp32": {"detector": "yunet_fp32.onnx", "embedder": "sface_fp32.onnx"},
}


class ModelsNotFoundError(RuntimeError):
    """The model files are not where the service looks; build them with `make models`."""


@dataclass(frozen=True)
class ModelFiles:
    variant: str
    detector: Path
    embedder: Path


def model_dir() -> Path:
    """Where the models are: the settings' model_dir ($FACESEARCH_MODEL_DIR, /opt/models, .cache/models)."""
    return Settings.from_env().model_dir


def model_files(variant: Variant = "int8", directory: Path | None = None) -> ModelFiles:
    """Resolve the detector and embedder files of `variant`, raising ModelsNotFoundError if absent."""
    directory = directory or model_dir()
    manifest_path = directory / MANIFEST_NAME
    variants = {key: dict(value) for key, value in _DEFAULT_FILES.items()}
    if manifest_path.is_file():
        for key, value in json.loads(manifest_path.read_text()).get("variants", {}).items():
            variants.setdefault(key, {}).update(value)
    if variant not in variants:
        raise ValueError(f"unknown model variant {variant!r}; expected one of {sorted(variants)}")
    names = variants[variant]
    files = ModelFiles(variant, directory / names["detector"], directory / names["embedder"])
    missing = [str(p) for p in (files.detector, files.embedder) if not p.is_file()]
    if missing:
        raise ModelsNotFoundError(
            f"face models ({variant}) not found: {', '.join(missing)}. Run `make models` "
            "(layers/models/build.py --out .cache/models) or set FACESEARCH_MODEL_DIR."
        )
    return files


def model_path(task: str, variant: Variant = "int8", directory: Path | None = None) -> Path:
    """The file of `task` ("detector", "embedder", or an attribute model: "age", "gender", "face_mesh",
    "blendshapes", "emotions") in `variant`, from MANIFEST.json; ModelsNotFoundError if absent."""
    directory = directory or model_dir()
    manifest_path = directory / MANIFEST_NAME
    names = dict(_DEFAULT_FILES.get(variant, {}))
    if manifest_path.is_file():
        names.update(json.loads(manifest_path.read_text()).get("variants", {}).get(variant, {}))
    if task not in names:
        raise ModelsNotFoundError(
            f"no {task!r} model in the {variant} variant of {manifest_path}. Run `make models` "
            "(layers/models/build.py --out .cache/models) or set FACESEARCH_MODEL_DIR."
        )
    path = directory / names[task]
    if not path.is_file():
        raise ModelsNotFoundError(f"{task} model not found: {path}. Run `make models` or set FACESEARCH_MODEL_DIR")
    return path


def intra_op_threads() -> int:
    """Threads per operator: the settings' intra_op_threads ($FACESEARCH_INTRA_OP_THREADS, else every CPU)."""
    return Settings.from_env().intra_op_threads


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """One request at a time per container, so parallelism goes inside operators, none across them."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or intra_op_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # warnings about QDQ node placement are noise at run time
    # Idle intra-op threads must sleep, not spin: two sessions' spinning threads on 1-2 vCPUs took the CPU
    # from everything after them (bench/search_api.py: pipeline 135 -> 82 ms, 100k scan 8.5 -> 4.3 ms).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


@functools.lru_cache(maxsize=16)
def create_session(path: str, threads: int) -> ort.InferenceSession:
    """A CPU session for the model at `path` with `threads` intra-op threads, cached per process."""
    return ort.InferenceSession(
        path, sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )


def detector_session(variant: Variant = "int8", threads: int | None = None, directory: Path | None = None
                     ) -> ort.InferenceSession:
    """The cached YuNet session of `variant`."""
    return create_session(str(model_files(variant, directory).detector), threads or intra_op_threads())


def embedder_session(variant: Variant = "int8", threads: int | None = None, directory: Path | None = None
                     ) -> ort.InferenceSession:
    """The cached SFace session of `variant`."""
    return create_session(str(model_files(variant, directory).embedder), threads or intra_op_threads())


def task_session(task: str, variant: Variant = "int8", threads: int | None = None, directory: Path | None = None
                 ) -> ort.InferenceSession:
    """The cached session of any model in the manifest by task name (e.g. "face_mesh")."""
    return create_session(str(model_path(task, variant, directory)), threads or intra_op_threads())
