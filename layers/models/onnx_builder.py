"""The small pieces both build-time converters (tflite_onnx, keras_onnx) share: a node/initializer list
that hands out unique names, and TensorFlow's SAME padding rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper, numpy_helper

OPSET = 17  # ReduceMean still takes axes as an attribute; onnxruntime's quantizer needs >= 13
IR_VERSION = 8  # onnx 1.23 writes IR 11+ by default, which older onnxruntime builds refuse


def same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME padding for one spatial axis: (before, after), the odd pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


@dataclass
class GraphBuilder:
    """ONNX nodes and initializers under construction, with fresh names for every intermediate."""

    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    counter: int = 0

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def constant(self, value: np.ndarray | np.generic, hint: str = "const") -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: Sequence[str], output: str | None = None, **attrs: object) -> str:
        output = output or self.fresh(op.lower())
        node = helper.make_node(op, list(inputs), [output], name=self.fresh(op))
        node.attribute.extend(helper.make_attribute(key, value) for key, value in attrs.items())
        self.nodes.append(node)
        return output

    def model(
        self, name: str, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto], producer: str
    ) -> onnx.ModelProto:
        """The checked model; initializers no node reads (constants consumed at build time) are dropped."""
        used = {value for node in self.nodes for value in node.input}
        graph = helper.make_graph(
            self.nodes, name, inputs, outputs, initializer=[i for i in self.initializers if i.name in used]
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name=producer
        )
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model, full_check=True)
        return model
