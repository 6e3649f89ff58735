"""Other int8 scan kernels, for bench/scale.py to time against the shipped one (SimSIMD) in the same run.

All score a (n, 128) int8 code matrix against one query on one thread:
- onnxruntime MatMulInteger (codes as a graph input, passed as an OrtValue over the numpy buffer: no copy);
- onnxruntime MatMulNBits, 8 bits, one block of 128 per row (com.microsoft; the LLM-decoding GEMV):
  its weights must be initializers, so every shard needs its own session, and building it prepacks (copies)
  the codes: the build time and the extra memory are reported too;
- numpy: convert blocks of codes to float32 in cache, then a float32 matrix-vector product.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

DIM = 128


def _options() -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return options


def _model(graph: onnx.GraphProto) -> bytes:
    opsets = [helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)]
    return bytes(helper.make_model(graph, opset_imports=opsets, ir_version=8).SerializeToString())


def matmul_integer(codes: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """int32 dots of int8 codes with an int8 query, codes read in place."""
    node = helper.make_node("MatMulInteger", ["A", "B"], ["Y"])
    graph = helper.make_graph(
        [node], "scan",
        [helper.make_tensor_value_info("A", TensorProto.INT8, ["n", DIM]),
         helper.make_tensor_value_info("B", TensorProto.INT8, [DIM, 1])],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, ["n", 1])],
    )
    session = ort.InferenceSession(_model(graph), _options(), providers=["CPUExecutionProvider"])
    codes_value = ort.OrtValue.ortvalue_from_numpy(codes)

    def run(query_codes: np.ndarray) -> np.ndarray:
        query_value = ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(query_codes.reshape(DIM, 1)))
        return np.asarray(session.run_with_ort_values(["Y"], {"A": codes_value, "B": query_value})[0].numpy())

    return run


@dataclass(frozen=True)
class Prepacked:
    run: Callable[[np.ndarray], np.ndarray]  # float32 query -> float32 scores
    build_seconds: float


def matmul_nbits(stored: np.ndarray, scales: np.ndarray) -> Prepacked:
    """Scores scale[r] * (stored[r] - 128) . query for excess-128 codes (MatMulNBits' default zero point is
    128 for 8 bits), with the query quantized inside (accuracy_level 4 = int8)."""
    rows = len(stored)
    node = helper.make_node("MatMulNBits", ["A", "B", "scales"], ["Y"], domain="com.microsoft",
                            K=DIM, N=rows, bits=8, block_size=DIM, accuracy_level=4)
    unsigned = stored.reshape(rows, 1, DIM)
    graph = helper.make_graph(
        [node], "scan",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [1, DIM])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, rows])],
        initializer=[helper.make_tensor("B", TensorProto.UINT8, [rows, 1, DIM], unsigned.tobytes(), raw=True),
                     helper.make_tensor("scales", TensorProto.FLOAT, [rows, 1], scales.tobytes(), raw=True)],
    )
    started = time.perf_counter()
    session = ort.InferenceSession(_model(graph), _options(), providers=["CPUExecutionProvider"])
    built = time.perf_counter() - started

    def run(query: np.ndarray) -> np.ndarray:
        return np.asarray(session.run(None, {"A": query.reshape(1, DIM).astype(np.float32)})[0][0])

    return Prepacked(run, built)


def numpy_blocks(codes: np.ndarray, block: int = 4096) -> Callable[[np.ndarray], np.ndarray]:
    buffer = np.empty((block, DIM), np.float32)
    out = np.empty(len(codes), np.float32)

    def run(query: np.ndarray) -> np.ndarray:
        vector = query.astype(np.float32)
        for start in range(0, len(codes), block):
            stop = min(len(codes), start + block)
            np.copyto(buffer[: stop - start], codes[start:stop], casting="unsafe")
            np.matmul(buffer[: stop - start], vector, out=out[start:stop])
        return out

    return run
