"""models.model_path: any model of the manifest by task name, per variant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facesearch.vision import onnx as models


def manifest(directory: Path, variants: dict[str, dict[str, str]]) -> None:
    (directory / models.MANIFEST_NAME).write_text(json.dumps({"variants": variants}))
    for variant in variants.values():
        for name in variant.values():
            (directory / name).write_bytes(b"onnx")


def test_a_task_resolves_to_its_variants_file(tmp_path: Path) -> None:
    manifest(tmp_path, {"int8": {"face_mesh": "mesh.onnx", "age": "age_int8.onnx"}, "fp32": {"age": "age.onnx"}})
    assert models.model_path("face_mesh", tmp_path) == tmp_path / "mesh.onnx"
    assert models.model_path("age", tmp_path, "int8") == tmp_path / "age_int8.onnx"
    assert models.model_path("age", tmp_path, "fp32") == tmp_path / "age.onnx"


def test_an_unknown_task_or_a_missing_file_says_how_to_build(tmp_path: Path) -> None:
    manifest(tmp_path, {"int8": {"face_mesh": "mesh.onnx"}})
    with pytest.raises(models.ModelsNotFoundError, match="make models"):
        models.model_path("emotions", tmp_path)
    (tmp_path / "mesh.onnx").unlink()
    with pytest.raises(models.ModelsNotFoundError, match="make models"):
        models.model_path("face_mesh", tmp_path)
