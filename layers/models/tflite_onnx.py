"""Convert a float TFLite graph (float32 or float16 weights) to ONNX, op by op, with onnx.helper.

Why not tf2onnx or tflite2onnx: tf2onnx needs TensorFlow (hundreds of MB) on every fresh build machine,
and tflite2onnx 0.4.1 (unmaintained since 2022) fails on both MediaPipe face graphs. These two graphs use
24 plain ops between them, so the `tflite` package (the flatbuffer schema bindings, pure Python, 150 kB)
plus a table of op translations is the light route. An op outside that table is an error, never a guess.

Layout: every tensor keeps its TFLite shape (NHWC). Conv2D, DepthwiseConv2D and MaxPool2D, which ONNX
defines on NCHW, are wrapped in Transposes; onnxruntime's transpose optimizer cancels the pairs between
consecutive layers when the session is created (1 Transpose is left in the optimized mesh).
float16 weights behind DEQUANTIZE ops are folded to float32 initializers (fp16 values are exactly
representable, so this changes no number).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx
import tflite  # type: ignore[import-untyped]
from onnx import TensorProto, helper
from onnx_builder import GraphBuilder, same_pads
from tflite.BuiltinOperator import BuiltinOperator  # type: ignore[import-untyped]
from tflite.TensorType import TensorType  # type: ignore[import-untyped]

_OP_NAMES = {value: name for name, value in vars(BuiltinOperator).items() if not name.startswith("_")}
_NUMPY_TYPES = {
    TensorType.FLOAT32: np.float32,
    TensorType.FLOAT16: np.float16,
    TensorType.INT32: np.int32,
    TensorType.INT64: np.int64,
}  # integer-quantized graphs (int8 weights with scales) are refused: they need dequantization rules
_NHWC_TO_NCHW = [0, 3, 1, 2]
_NCHW_TO_NHWC = [0, 2, 3, 1]


class UnsupportedGraphError(ValueError):
    """The TFLite graph uses an op or option this converter does not translate."""


@dataclass
class _Graph(GraphBuilder):
    """The builder plus the TFLite side: tensor index -> constant value, ONNX name and static shape."""

    constants: dict[int, np.ndarray] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    shapes: dict[int, tuple[int, ...]] = field(default_factory=dict)
    symbolic_batch: bool = False


@dataclass(frozen=True)
class _Op:
    """One TFLite operator: its code name, tensor indices (-1 = absent) and raw options table."""

    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: object | None


def _tensor_name(tensor: tflite.Tensor) -> str:
    return "".join(c if c.isalnum() or c in "_:/." else "_" for c in tensor.Name().decode())


def _buffer_array(model: tflite.Model, tensor: tflite.Tensor) -> np.ndarray | None:
    buffer = model.Buffers(tensor.Buffer())
    if buffer is None or buffer.DataLength() == 0:
        return None
    dtype = _NUMPY_TYPES.get(tensor.Type())
    if dtype is None:
        raise UnsupportedGraphError(f"tensor {tensor.Name()!r}: unsupported type {tensor.Type()}")
    shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
    return np.frombuffer(buffer.DataAsNumpy().tobytes(), dtype=dtype).reshape(shape).copy()


def _options(op: tflite.Operator, cls: type) -> object:
    table = op.BuiltinOptions()
    options = cls()
    if table is not None:
        options.Init(table.Bytes, table.Pos)
    return options


def _activation(graph: _Graph, value: str, code: int) -> str:
    """TFLite's fused activation after an op (ActivationFunctionType)."""
    if code == 0:
        return value
    if code == 1:
        return graph.node("Relu", [value])
    if code == 2:
        return graph.node("Clip", [value, graph.constant(np.float32(-1)), graph.constant(np.float32(1))])
    if code == 3:
        return graph.node("Clip", [value, graph.constant(np.float32(0)), graph.constant(np.float32(6))])
    if code == 4:
        return graph.node("Tanh", [value])
    raise UnsupportedGraphError(f"fused activation {code}")


def _spatial_pads(
    shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
    padding: int,
) -> list[int]:  # fmt: skip
    """ONNX pads [top, left, bottom, right] for an NHWC input; TFLite Padding 0 = SAME, 1 = VALID."""
    if padding == 1:
        return [0, 0, 0, 0]
    top, bottom = same_pads(shape[1], kernel[0], stride[0], dilation[0])
    left, right = same_pads(shape[2], kernel[1], stride[1], dilation[1])
    return [top, left, bottom, right]


def _nchw(graph: _Graph, value: str) -> str:
    return graph.node("Transpose", [value], perm=_NHWC_TO_NCHW)


def _conv(graph: _Graph, op: _Op, *, depthwise: bool) -> str:
    x, w, b = (*op.inputs, -1)[:3]
    weights = graph.constants[w]
    if depthwise:
        opts = op.options
        assert isinstance(opts, tflite.DepthwiseConv2DOptions)
        # TFLite depthwise filter [1, kh, kw, channels * mult] -> ONNX [channels * mult, 1, kh, kw]
        kernel = weights.transpose(3, 0, 1, 2)
        group = graph.shapes[x][3]
    else:
        opts = op.options
        assert isinstance(opts, tflite.Conv2DOptions)
        kernel = weights.transpose(0, 3, 1, 2)  # [out, kh, kw, in] -> [out, in, kh, kw]
        group = 1
    if opts.DilationHFactor() < 1 or opts.DilationWFactor() < 1:
        raise UnsupportedGraphError("dilation < 1")
    stride = (opts.StrideH(), opts.StrideW())
    dilation = (opts.DilationHFactor(), opts.DilationWFactor())
    size = (int(kernel.shape[2]), int(kernel.shape[3]))
    pads = _spatial_pads(graph.shapes[x], size, stride, dilation, opts.Padding())
    inputs = [_nchw(graph, graph.names[x]), graph.constant(kernel.astype(np.float32), "weight")]
    if b >= 0:
        inputs.append(graph.constant(graph.constants[b].astype(np.float32), "bias"))
    y = graph.node(
        "Conv", inputs, kernel_shape=list(size), strides=list(stride), dilations=list(dilation),
        pads=pads, group=group,
    )  # fmt: skip
    y = graph.node("Transpose", [y], perm=_NCHW_TO_NHWC)
    return _activation(graph, y, opts.FusedActivationFunction())


def _max_pool(graph: _Graph, op: _Op) -> str:
    opts = op.options
    assert isinstance(opts, tflite.Pool2DOptions)
    x = op.inputs[0]
    kernel = (opts.FilterHeight(), opts.FilterWidth())
    stride = (opts.StrideH(), opts.StrideW())
    pads = _spatial_pads(graph.shapes[x], kernel, stride, (1, 1), opts.Padding())
    y = graph.node(
        "MaxPool", [_nchw(graph, graph.names[x])], kernel_shape=list(kernel), strides=list(stride), pads=pads
    )
    y = graph.node("Transpose", [y], perm=_NCHW_TO_NHWC)
    return _activation(graph, y, opts.FusedActivationFunction())


def _binary(onnx_op: str, options_cls: type | None) -> Callable[[_Graph, _Op], str]:
    def convert(graph: _Graph, op: _Op) -> str:
        y = graph.node(onnx_op, [graph.names[i] for i in op.inputs])
        if options_cls is None:
            return y
        opts = op.options
        return _activation(graph, y, opts.FusedActivationFunction())  # type: ignore[union-attr]

    return convert


def _unary(onnx_op: str) -> Callable[[_Graph, _Op], str]:
    return lambda graph, op: graph.node(onnx_op, [graph.names[op.inputs[0]]])


def _reduce(onnx_op: str) -> Callable[[_Graph, _Op], str]:
    def convert(graph: _Graph, op: _Op) -> str:
        opts = op.options
        assert isinstance(opts, tflite.ReducerOptions)
        axes = [int(a) for a in np.atleast_1d(graph.constants[op.inputs[1]])]
        keep = int(bool(opts.KeepDims()))
        x = graph.names[op.inputs[0]]
        if onnx_op == "ReduceMean":  # axes is an attribute until opset 18
            return graph.node(onnx_op, [x], axes=axes, keepdims=keep)
        return graph.node(onnx_op, [x, graph.constant(np.asarray(axes, np.int64), "axes")], keepdims=keep)

    return convert


def _squared_difference(graph: _Graph, op: _Op) -> str:
    diff = graph.node("Sub", [graph.names[i] for i in op.inputs])
    return graph.node("Mul", [diff, diff])


def _rsqrt(graph: _Graph, op: _Op) -> str:
    return graph.node("Reciprocal", [graph.node("Sqrt", [graph.names[op.inputs[0]]])])


def _reshape(graph: _Graph, op: _Op) -> str:
    target = graph.shapes[op.outputs[0]]
    shape = np.asarray(target, dtype=np.int64)
    if graph.symbolic_batch and len(shape) and shape[0] == 1:
        shape[0] = -1
    return graph.node("Reshape", [graph.names[op.inputs[0]], graph.constant(shape, "shape")])


def _transpose(graph: _Graph, op: _Op) -> str:
    perm = [int(p) for p in graph.constants[op.inputs[1]]]
    return graph.node("Transpose", [graph.names[op.inputs[0]]], perm=perm)


def _concat(graph: _Graph, op: _Op) -> str:
    opts = op.options
    assert isinstance(opts, tflite.ConcatenationOptions)
    y = graph.node("Concat", [graph.names[i] for i in op.inputs], axis=opts.Axis())
    return _activation(graph, y, opts.FusedActivationFunction())


def _pad(graph: _Graph, op: _Op) -> str:
    paddings = np.asarray(graph.constants[op.inputs[1]], dtype=np.int64)  # [rank, 2] (before, after)
    pads = np.concatenate([paddings[:, 0], paddings[:, 1]])
    return graph.node("Pad", [graph.names[op.inputs[0]], graph.constant(pads, "pads")])


def _prelu(graph: _Graph, op: _Op) -> str:
    """PReLU(x) = (1 - slope) * relu(x) + slope * x, the two products as 1x1 depthwise convolutions.

    Same numbers as PRelu (differences of float rounding only: 2e-4 px on the mesh's 0-256 px output), but
    it keeps the whole mesh inside onnxruntime's blocked (NCHWc) conv kernels: its PRelu broadcasts a
    per-channel slope ~8x slower than plain elementwise ops and forces layout reorders around each of the
    mesh's 69 PReLUs. Measured at 1 thread, alternating: 32.7 ms (PRelu) -> 19.1 ms (this), loaded box.
    """
    x = graph.names[op.inputs[0]]
    slope = np.asarray(graph.constants[op.inputs[1]], dtype=np.float32).reshape(-1)
    if graph.shapes[op.inputs[0]][-1:] != (slope.size,):
        raise UnsupportedGraphError(f"PRELU slope {graph.shapes[op.inputs[1]]} is not per channel")

    def per_channel(value: str, weights: np.ndarray) -> str:
        kernel = graph.constant(weights.reshape(slope.size, 1, 1, 1), "prelu")
        y = graph.node("Conv", [_nchw(graph, value), kernel], kernel_shape=[1, 1], group=slope.size)
        return graph.node("Transpose", [y], perm=_NCHW_TO_NHWC)

    positive = graph.node("Relu", [x])
    return graph.node("Add", [per_channel(positive, 1.0 - slope), per_channel(x, slope)])


def _softmax(graph: _Graph, op: _Op) -> str:
    opts = op.options
    assert isinstance(opts, tflite.SoftmaxOptions)
    if opts.Beta() != 1.0:
        raise UnsupportedGraphError(f"softmax beta {opts.Beta()}")
    return graph.node("Softmax", [graph.names[op.inputs[0]]], axis=-1)


def _strided_slice(graph: _Graph, op: _Op) -> str:
    opts = op.options
    assert isinstance(opts, tflite.StridedSliceOptions)
    if opts.EllipsisMask() or opts.NewAxisMask() or opts.Offset():
        raise UnsupportedGraphError("strided slice with ellipsis/new-axis mask or offset")
    begin, end, strides = (np.asarray(graph.constants[i], dtype=np.int64) for i in op.inputs[1:4])
    starts, ends = begin.copy(), end.copy()
    big = np.iinfo(np.int64).max
    for axis in range(len(begin)):
        forward = strides[axis] > 0
        if opts.BeginMask() >> axis & 1:
            starts[axis] = 0 if forward else big
        if opts.EndMask() >> axis & 1:
            ends[axis] = big if forward else -big
        if opts.ShrinkAxisMask() >> axis & 1:
            ends[axis] = starts[axis] + 1 if starts[axis] != -1 else big
    y = graph.node(
        "Slice",
        [
            graph.names[op.inputs[0]],
            graph.constant(starts, "starts"),
            graph.constant(ends, "ends"),
            graph.constant(np.arange(len(begin), dtype=np.int64), "axes"),
            graph.constant(strides, "steps"),
        ],
    )
    shrink = [axis for axis in range(len(begin)) if opts.ShrinkAxisMask() >> axis & 1]
    if shrink:
        y = graph.node("Squeeze", [y, graph.constant(np.asarray(shrink, np.int64), "axes")])
    return y


_CONVERTERS: dict[str, tuple[Callable[[_Graph, _Op], str], type | None]] = {
    "CONV_2D": (lambda g, op: _conv(g, op, depthwise=False), tflite.Conv2DOptions),
    "DEPTHWISE_CONV_2D": (lambda g, op: _conv(g, op, depthwise=True), tflite.DepthwiseConv2DOptions),
    "MAX_POOL_2D": (_max_pool, tflite.Pool2DOptions),
    "ADD": (_binary("Add", tflite.AddOptions), tflite.AddOptions),
    "SUB": (_binary("Sub", tflite.SubOptions), tflite.SubOptions),
    "MUL": (_binary("Mul", tflite.MulOptions), tflite.MulOptions),
    "DIV": (_binary("Div", tflite.DivOptions), tflite.DivOptions),
    "PRELU": (_prelu, None),
    "PAD": (_pad, None),
    "LOGISTIC": (_unary("Sigmoid"), None),
    "SQRT": (_unary("Sqrt"), None),
    "NEG": (_unary("Neg"), None),
    "RSQRT": (_rsqrt, None),
    "SQUARED_DIFFERENCE": (_squared_difference, None),
    "MEAN": (_reduce("ReduceMean"), tflite.ReducerOptions),
    "SUM": (_reduce("ReduceSum"), tflite.ReducerOptions),
    "RESHAPE": (_reshape, None),
    "TRANSPOSE": (_transpose, None),
    "CONCATENATION": (_concat, tflite.ConcatenationOptions),
    "STRIDED_SLICE": (_strided_slice, tflite.StridedSliceOptions),
    "SOFTMAX": (_softmax, tflite.SoftmaxOptions),
}
SUPPORTED_OPS = frozenset(_CONVERTERS) | {"DEQUANTIZE"}


def _read_tensors(model: tflite.Model, sub: tflite.SubGraph, graph: _Graph) -> None:
    """Every tensor's static shape; constant buffers become initializers (float16 ones as float32)."""
    for index in range(sub.TensorsLength()):
        tensor = sub.Tensors(index)
        graph.shapes[index] = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
        value = _buffer_array(model, tensor)
        if value is not None:
            graph.constants[index] = value
            graph.names[index] = graph.constant(
                value.astype(np.float32) if value.dtype == np.float16 else value, "w"
            )


def _io_names(sub: tflite.SubGraph, indices: list[int], names: Sequence[str] | None) -> list[str]:
    """The caller's names for the graph's inputs or outputs, else the TFLite tensor names."""
    return list(names) if names else [_tensor_name(sub.Tensors(i)) for i in indices]


def _dequantize(graph: _Graph, op_inputs: tuple[int, ...], op_outputs: tuple[int, ...]) -> None:
    """DEQUANTIZE of a float16 constant: folded into a float32 initializer, no node."""
    source = op_inputs[0]
    if source not in graph.constants or graph.constants[source].dtype != np.float16:
        raise UnsupportedGraphError("DEQUANTIZE of anything but a float16 constant")
    value = graph.constants[source].astype(np.float32)
    graph.constants[op_outputs[0]] = value
    graph.names[op_outputs[0]] = graph.constant(value, "w")


def _translate(model: tflite.Model, graph: _Graph, raw: tflite.Operator, k: int) -> None:
    """Operator `k` of the subgraph, through its entry in _CONVERTERS."""
    code = model.OperatorCodes(raw.OpcodeIndex())
    name = _OP_NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
    op_inputs = tuple(int(i) for i in raw.InputsAsNumpy())
    op_outputs = tuple(int(i) for i in raw.OutputsAsNumpy())
    if name == "DEQUANTIZE":
        _dequantize(graph, op_inputs, op_outputs)
        return
    if name not in _CONVERTERS:
        raise UnsupportedGraphError(f"op {name} (operator {k}) is not supported")
    translate, options_cls = _CONVERTERS[name]
    op = _Op(name, op_inputs, op_outputs, _options(raw, options_cls) if options_cls else None)
    if len(op_outputs) != 1:
        raise UnsupportedGraphError(f"op {name} with {len(op_outputs)} outputs")
    graph.names[op_outputs[0]] = translate(graph, op)


def _value_info(graph: _Graph, index: int, name: str) -> onnx.ValueInfoProto:
    dims: list[int | str] = list(graph.shapes[index])
    if graph.symbolic_batch and dims:
        dims[0] = "batch"
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def convert(
    tflite_bytes: bytes,
    *,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    symbolic_batch: bool = False,
    producer: str = "facesearch tflite_onnx",
) -> onnx.ModelProto:
    """The ONNX model of subgraph 0 of a TFLite flatbuffer.

    `input_names`/`output_names` rename the graph's inputs/outputs (in TFLite order). `symbolic_batch`
    makes axis 0 of every input and output "batch" (and Reshapes keep it): only for graphs whose axis 0 is
    a true batch axis, which the caller must check numerically.
    """
    model = tflite.Model.GetRootAsModel(tflite_bytes, 0)
    if model.SubgraphsLength() != 1:
        raise UnsupportedGraphError(f"expected 1 subgraph, found {model.SubgraphsLength()}")
    sub = model.Subgraphs(0)
    graph = _Graph(symbolic_batch=symbolic_batch)
    _read_tensors(model, sub, graph)
    inputs = [int(i) for i in sub.InputsAsNumpy()]
    outputs = [int(i) for i in sub.OutputsAsNumpy()]
    rename_in = _io_names(sub, inputs, input_names)
    rename_out = _io_names(sub, outputs, output_names)
    for index, name in zip(inputs, rename_in, strict=True):
        graph.names[index] = name

    for k in range(sub.OperatorsLength()):
        _translate(model, graph, sub.Operators(k), k)

    # graph outputs get their public names through an Identity (an output may also feed other ops)
    for index, name in zip(outputs, rename_out, strict=True):
        graph.node("Identity", [graph.names[index]], output=name)

    return graph.model(
        "tflite",
        [_value_info(graph, i, n) for i, n in zip(inputs, rename_in, strict=True)],
        [_value_info(graph, i, n) for i, n in zip(outputs, rename_out, strict=True)],
        producer,
    )
