"""Model location and session settings: the directory and threads come from Settings, the files from the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facesearch.settings import Settings
from facesearch.vision import onnx as models


def test_missing_models_name_the_make_target(tmp_path: Path) -> None:
    with pytest.raises(models.ModelsNotFoundError, match="make models"):
        models.model_files(tmp_path)


def test_env_dir_wins_and_manifest_picks_the_files(tmp_path: Path) -> None:
    (tmp_path / "yunet_fp32.onnx").write_bytes(b"x")
    (tmp_path / "sface_int8.onnx").write_bytes(b"x")
    manifest = {"variants": {"int8": {"detector": "yunet_fp32.onnx", "embedder": "sface_int8.onnx"}}}
    (tmp_path / models.MANIFEST_NAME).write_text(json.dumps(manifest))
    directory = Settings.from_env({"FACESEARCH_MODEL_DIR": str(tmp_path)}).model_dir
    assert directory == tmp_path
    files = models.model_files(directory)
    assert files.detector == tmp_path / "yunet_fp32.onnx" and files.embedder == tmp_path / "sface_int8.onnx"


def test_unknown_variant_is_rejected(tmp_path: Path) -> None:
    (tmp_path / models.MANIFEST_NAME).write_text(json.dumps({"variants": {"int8": {}}}))
    with pytest.raises(ValueError, match="variant"):
        models.model_files(tmp_path, "fp16")  # type: ignore[arg-type]


def test_thread_count_comes_from_the_environment() -> None:
    settings = Settings.from_env({"FACESEARCH_INTRA_OP_THREADS": "3"})
    assert settings.intra_op_threads == 3
    assert models.session_options(settings.intra_op_threads).intra_op_num_threads == 3
    assert Settings.from_env({}).intra_op_threads >= 1


def test_settings_are_read_from_the_environment_once() -> None:
    settings = Settings.from_env({"TABLE_NAME": "t", "INPUT_BUCKETS": " a, b ,", "FACESEARCH_AWS_ENDPOINT": "http://x",
                                  "FACESEARCH_DYNAMODB_ENDPOINT": "http://d", "FACESEARCH_FANOUT_ROWS": "10"})
    assert settings.table_name == "t" and settings.input_buckets == frozenset({"a", "b"})
    assert settings.s3_endpoint == "http://x" and settings.dynamodb_endpoint == "http://d"
    assert settings.fanout_rows == 10
    assert settings.may_read("a") and not settings.may_read("c")
    anywhere = Settings.from_env({"INPUT_BUCKETS": "*", "BUCKET_NAME": "own"})
    assert anywhere.may_read("c") and not anywhere.may_read("own")  # never the service's own bucket
