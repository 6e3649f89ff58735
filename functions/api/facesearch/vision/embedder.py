"""SFace 2021dec face embedder on onnxruntime: aligned 112x112 RGB crops -> unit 128-d vectors.

SFace takes RGB 0-255 (its graph subtracts the mean and scales by itself); OpenCV's reference pipeline
swaps BGR->RGB before it, and feeding BGR cost 0.5 points of LFW accuracy in a measurement here.

With `flip=True` each crop is embedded together with its mirror image and the two vectors are summed
before normalising ("flip test-time augmentation"). bench/accuracy.py on LFW (int8, multi-scale
detection): 5-fold 99.27 -> 99.40 %, TAR at FAR 0.1 % 98.67 -> 98.80 %, rank-1 98.80 -> 98.80 %, for one
more image in the same batch: 17 -> 35 ms a face at one thread with the PRelu-free model the build
makes (bench/speed.py; 35 -> 70 ms with the original PRelu graph). Without it LFW 5-fold is under the
99.30 % bar, so it is on by default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnxruntime as ort

EMBEDDING_SIZE = 128


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: np.ndarray = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


# Images per SFace run. At 1 thread int8 SFace costs 17.6 / 17.0 / 21.5 / 22.6 / 24.2 ms an image in
# batches of 1 / 2 / 4 / 8 / 24 (its activations outgrow the cache), so a group photo's faces run two
# images at a time.
MAX_BATCH = 2


class Embedder:
    """`embed(crops)` for an (n, 112, 112, 3) uint8 RGB stack -> (n, 128) float32, unit rows."""

    def __init__(self, session: ort.InferenceSession, flip: bool = True) -> None:
        self._session = session
        model_input = session.get_inputs()[0]
        self._input_name = model_input.name
        self._output_name = session.get_outputs()[0].name
        batch, _channels, height, width = model_input.shape
        self.input_size: tuple[int, int] = (int(height), int(width))
        # build.py makes the batch axis symbolic; the original file is fixed at 1, so loop then
        self.batched = not isinstance(batch, int)
        self.flip = flip

    def embed(self, crops: np.ndarray) -> np.ndarray:
        crops = np.asarray(crops)
        if crops.ndim == 3:
            crops = crops[None]
        if len(crops) == 0:
            return np.empty((0, EMBEDDING_SIZE), np.float32)
        # Preprocess
        blob = self._preprocess(crops)
        # Forward
        features = self._forward(blob)
        # Postprocess
        return self._postprocess(features, len(crops))

    def _preprocess(self, crops: np.ndarray) -> np.ndarray:
        if crops.shape[1:3] != self.input_size:
            raise ValueError(f"crops must be {self.input_size}, got {crops.shape[1:3]}")
        if self.flip:
            crops = np.concatenate([crops, crops[:, :, ::-1]])
        return np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32)  # RGB, NCHW, 0-255

    def _forward(self, blob: np.ndarray) -> np.ndarray:
        step = MAX_BATCH if self.batched else 1
        rows = [
            self._session.run([self._output_name], {self._input_name: blob[i : i + step]})[0]
            for i in range(0, len(blob), step)
        ]
        return np.concatenate(rows)

    def _postprocess(self, features: np.ndarray, count: int) -> np.ndarray:
        features = features.reshape(len(features), -1).astype(np.float64)
        if self.flip:
            features = l2_normalize(features[:count]) + l2_normalize(features[count:])
        return l2_normalize(features)
