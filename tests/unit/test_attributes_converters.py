"""The build-time converters: TensorFlow's SAME padding, a Keras HDF5 model against a numpy forward pass,
and the shape of the converted MediaPipe graphs."""

from __future__ import annotations

import importlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "models"
h5py = pytest.importorskip("h5py", reason="h5py (requirements-dev.txt) is needed by the models build")


pytestmark = pytest.mark.usefixtures("layer_build_path")  # the build's converters, importable here only


def build_module(name: str):
    return importlib.import_module(name)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "pads"),
    [(64, 3, 1, (1, 1)), (64, 3, 2, (0, 1)), (63, 3, 2, (1, 1)), (64, 1, 2, (0, 0)), (7, 7, 2, (3, 3))],
)
def test_same_padding_puts_the_odd_pixel_after(
    size: int, kernel: int, stride: int, pads: tuple[int, int]
) -> None:
    assert build_module("onnx_builder").same_pads(size, kernel, stride, 1) == pads
    out = -(-size // stride)
    assert (size + sum(pads) - kernel) // stride + 1 == out  # SAME keeps ceil(size / stride) outputs


def keras_file(weights: dict[str, dict[str, np.ndarray]], layers: list[dict[str, object]]) -> bytes:
    """A Keras 2 style HDF5: model_config JSON + model_weights/<layer>/<layer>/<name>:0."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        config = {
            "class_name": "Model",
            "config": {"layers": layers, "output_layers": [[layers[-1]["name"], 0, 0]]},
        }
        f.attrs["model_config"] = json.dumps(config)
        group = f.create_group("model_weights")
        for layer in layers:
            g = group.create_group(str(layer["name"]))
            names = []
            for short, value in weights.get(str(layer["name"]), {}).items():
                g[f"{layer['name']}/{short}:0"] = value
                names.append(f"{layer['name']}/{short}:0".encode())
            g.attrs["weight_names"] = np.array(names, dtype="S")
    return buffer.getvalue()


def layer(kind: str, name: str, inbound: list[str], **config: object) -> dict[str, object]:
    return {
        "class_name": kind,
        "name": name,
        "config": config,
        "inbound_nodes": [[[i, 0, 0, {}] for i in inbound]],
    }


def conv_nhwc(x: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """Reference 2-D convolution with TF SAME padding: x (h, w, c), kernel (kh, kw, c, out)."""
    kh, kw = kernel.shape[:2]
    top, bottom = build_module("onnx_builder").same_pads(x.shape[0], kh, stride, 1)
    left, right = build_module("onnx_builder").same_pads(x.shape[1], kw, stride, 1)
    padded = np.pad(x, ((top, bottom), (left, right), (0, 0)))
    rows = (padded.shape[0] - kh) // stride + 1
    cols = (padded.shape[1] - kw) // stride + 1
    out = np.zeros((rows, cols, kernel.shape[3]))
    for i in range(rows):
        for j in range(cols):
            patch = padded[i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[i, j] = np.tensordot(patch, kernel, axes=([0, 1, 2], [0, 1, 2]))
    return out


def test_a_keras_conv_bn_relu_pool_softmax_model_converts_to_the_same_numbers() -> None:
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(3, 3, 2, 4)).astype(np.float32)
    bn = {k: rng.uniform(0.5, 1.5, 4).astype(np.float32) for k in ("gamma", "moving_variance")}
    bn |= {k: rng.normal(size=4).astype(np.float32) for k in ("beta", "moving_mean")}
    layers = [
        {"class_name": "InputLayer", "name": "input_1", "config": {"batch_input_shape": [None, 9, 9, 2]},
         "inbound_nodes": []},
        layer("Conv2D", "conv", ["input_1"], kernel_size=[3, 3], strides=[2, 2], padding="same",
              use_bias=False, activation="linear", filters=4),
        layer("BatchNormalization", "bn", ["conv"], axis=-1, epsilon=0.001),
        layer("Activation", "relu", ["bn"], activation="relu"),
        layer("GlobalAveragePooling2D", "gap", ["relu"]),
        layer("Activation", "softmax", ["gap"], activation="softmax"),
    ]  # fmt: skip
    model = build_module("keras_onnx").convert(keras_file({"conv": {"kernel": kernel}, "bn": bn}, layers))
    x = rng.normal(size=(3, 9, 9, 2)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})[0]
    for k in range(3):
        y = conv_nhwc(x[k].astype(np.float64), kernel.astype(np.float64), 2)
        y = (y - bn["moving_mean"]) / np.sqrt(bn["moving_variance"] + 0.001) * bn["gamma"] + bn["beta"]
        pooled = np.maximum(y, 0).mean(axis=(0, 1))
        expected = np.exp(pooled) / np.exp(pooled).sum()
        assert got[k] == pytest.approx(expected, abs=1e-5)


def test_an_unknown_keras_layer_is_an_error_not_a_guess() -> None:
    layers = [
        {"class_name": "InputLayer", "name": "input_1", "config": {"batch_input_shape": [None, 4, 4, 1]},
         "inbound_nodes": []},
        layer("LSTM", "lstm", ["input_1"]),
    ]  # fmt: skip
    with pytest.raises(build_module("keras_onnx").UnsupportedModelError, match="LSTM"):
        build_module("keras_onnx").convert(keras_file({}, layers))


def test_the_converted_mediapipe_graphs_have_the_expected_io_and_no_prelu() -> None:
    onnx = pytest.importorskip("onnx")
    mesh_path, blend_path = CACHE / "face_mesh_v2.onnx", CACHE / "face_blendshapes_v2.onnx"
    if not mesh_path.is_file():
        pytest.skip("attribute models not built: run `make models`")
    mesh = onnx.load(str(mesh_path))
    assert [i.name for i in mesh.graph.input] == ["image"]
    assert [o.name for o in mesh.graph.output] == ["landmarks", "presence_logit"]
    dims = [d.dim_param or d.dim_value for d in mesh.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 256, 256, 3]
    assert "PRelu" not in {node.op_type for node in mesh.graph.node}
    blend = onnx.load(str(blend_path))
    dims = [d.dim_value for d in blend.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 146, 2]
