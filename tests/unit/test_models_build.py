"""The models layer build: pinned inputs, idempotency key, and what the layer ships."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import script_module

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "models"


@pytest.fixture(scope="module")
def build():
    yield from script_module(REPO / "layers" / "models" / "build.py", "models_build")


def test_sources_are_pinned(build) -> None:
    assert build.WHEEL_VERSION == "0.1.1"
    assert build.SOURCES["yunet"][1] == "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
    assert build.SOURCES["sface"][1] == "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79"


def test_calibration_set_is_committed(build) -> None:
    faces = build.calibration_faces()
    assert len(faces) >= 40
    crop, landmarks = faces[0]
    assert crop.shape == (160, 160, 3) and landmarks.shape == (5, 2)
    assert (build.CALIBRATION_DIR / "README.md").read_text().count("CC-BY 4.0") >= 1


def test_build_key_is_stable_and_an_empty_dir_is_not_up_to_date(build, tmp_path: Path) -> None:
    key = build.build_key(build.RECIPE)
    assert key == build.build_key(build.RECIPE)
    assert not build.up_to_date(tmp_path, key)


def test_cached_build_is_current_and_exports_only_the_int8_variant(build, tmp_path: Path) -> None:
    if not (CACHE / build.MANIFEST).is_file():
        pytest.skip("no .cache/models: run `make models`")
    if not build.up_to_date(CACHE, build.build_key(build.RECIPE)):
        pytest.skip(".cache/models is stale: run `make models`")
    build.export(CACHE, tmp_path / "models")
    shipped = sorted(p.name for p in (tmp_path / "models").iterdir())
    manifest = json.loads((tmp_path / "models" / build.MANIFEST).read_text())
    assert set(manifest["variants"]) == {"int8"}
    notices = manifest.get("attributes", {}).get("notices", [])
    assert shipped == sorted({build.MANIFEST, *manifest["variants"]["int8"].values(), *notices,
                              *manifest["notices"]})
    assert "sface_int8.onnx" in shipped and "sface_fp32.onnx" not in shipped
    assert {"LICENSE-MIT-YuNet.txt", "LICENSE-Apache-2.0-SFace.txt"} <= set(shipped)  # the face models' own terms
    shutil.rmtree(tmp_path / "models")


def prelu_model(path: Path, slope: list[float]) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    slopes = numpy_helper.from_array(np.array(slope, np.float32).reshape(-1, 1, 1), "slope")
    graph = helper.make_graph(
        [helper.make_node("PRelu", ["x", "slope"], ["y"], name="act")],
        "prelu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, len(slope), 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, len(slope), 4, 4])],
        [slopes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.save(model, str(path))


@pytest.mark.parametrize("slope", [[0.25, -0.5, 1.0], [0.25, 1.3, -0.1]], ids=["slopes <= 1", "a slope > 1"])
def test_the_prelu_rewrite_is_exact_and_leaves_no_prelu(build, tmp_path: Path, slope: list[float]) -> None:
    import numpy as np
    import onnx

    prelu_model(tmp_path / "a.onnx", slope)
    assert build.rewrite_prelu(tmp_path / "a.onnx", tmp_path / "b.onnx") == 1
    assert "PRelu" not in {node.op_type for node in onnx.load(str(tmp_path / "b.onnx")).graph.node}
    rng = np.random.default_rng(0)
    samples = [rng.normal(0, 50, (1, len(slope), 4, 4)).astype(np.float32) for _ in range(3)]
    assert build.outputs_identical(tmp_path / "a.onnx", tmp_path / "b.onnx", samples)


def test_the_built_detector_takes_any_input_size(build) -> None:
    if not (CACHE / build.MANIFEST).is_file() or not build.up_to_date(CACHE, build.build_key(build.RECIPE)):
        pytest.skip("no current .cache/models: run `make models`")
    import onnx

    manifest = json.loads((CACHE / build.MANIFEST).read_text())
    detector = onnx.load(str(CACHE / manifest["variants"]["int8"]["detector"]))
    dims = detector.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims[2:]] == ["height", "width"]


def test_int8_activations_run_on_the_codes_and_stay_close(build, tmp_path: Path) -> None:
    """The off-by-default recipe option (see QuantRecipe.int8_activations) on the built int8 SFace."""
    if not (CACHE / build.MANIFEST).is_file() or not build.up_to_date(CACHE, build.build_key(build.RECIPE)):
        pytest.skip("no current .cache/models: run `make models`")
    import onnx

    source = CACHE / "sface_int8.onnx"
    assert build.quantize_activations(source, tmp_path / "q.onnx") == 25
    ops = {node.op_type for node in onnx.load(str(tmp_path / "q.onnx")).graph.node}
    assert {"QLinearMul", "QLinearLeakyRelu"} <= ops
    samples = list(build.sface_samples(build.calibration_faces()[:6]))
    mean, worst = build.embedding_agreement(source, tmp_path / "q.onnx", samples)
    assert mean > 0.99 and worst > 0.98
