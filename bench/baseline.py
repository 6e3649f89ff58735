"""The face pipeline as it was before multi-scale detection, kept so every bench measures against it in
the same run.

Copied from facesearch/detector.py and pipeline.py at commit 011f586 (one 640 x 640 letterbox, shrink
only, then align + flip-augmented SFace) and run on the build's "legacy" models: the fixed-input YuNet
and the int8 SFace with its original PRelu nodes (byte-identical to that commit's yunet_fp32.onnx and
sface_int8.onnx). Alignment, pose and quality are the service's own (unchanged).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from facesearch.vision import onnx as models
from facesearch.vision.aligner import align
from facesearch.vision.detector import (
    DEFAULT_NMS_THRESHOLD,
    DEFAULT_SCORE_THRESHOLD,
    MAX_FACES,
    Detection,
    decode,
    nms,
)
from facesearch.vision.embedder import Embedder
from facesearch.vision.image_decoder import DecodedImage
from facesearch.vision.pose import estimate_pose
from facesearch.vision.quality import measure_quality


class LetterboxDetector:
    """Before: the image shrunk (never enlarged) to fit 640 x 640, top-left aligned, one pass."""

    def __init__(self, session, score_threshold: float = DEFAULT_SCORE_THRESHOLD) -> None:  # type: ignore[no-untyped-def]
        self._session = session
        self._input_name = session.get_inputs()[0].name
        self.input_size = int(session.get_inputs()[0].shape[2])
        self._output_names = [o.name for o in session.get_outputs()]
        self.score_threshold = score_threshold

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        height, width = rgb.shape[:2]
        size = self.input_size
        scale = min(1.0, size / max(width, height))
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        if (new_w, new_h) != (width, height):
            resized = np.asarray(Image.fromarray(rgb).resize((new_w, new_h), Image.Resampling.BILINEAR))
        else:
            resized = rgb
        canvas = np.zeros((size, size, 3), dtype=np.uint8)
        canvas[:new_h, :new_w] = resized
        blob = np.ascontiguousarray(canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32))
        outputs = dict(
            zip(
                self._output_names,
                self._session.run(self._output_names, {self._input_name: blob}),
                strict=True,
            )
        )
        boxes, scores, kps = decode(outputs, (size, size), (8, 16, 32), self.score_threshold)
        if len(scores) > 5000:
            top = np.argsort(-scores)[:5000]
            boxes, scores, kps = boxes[top], scores[top], kps[top]
        keep = nms(boxes, scores, DEFAULT_NMS_THRESHOLD)
        factors = np.array([new_w / width, new_h / height])
        boxes = boxes[keep] / np.tile(factors, 2)
        kps = kps[keep] / factors
        scores = scores[keep]
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        order = np.argsort(-areas, kind="stable")[:MAX_FACES]
        return [
            Detection(box=tuple(float(v) for v in boxes[i]), score=float(scores[i]),  # type: ignore[arg-type]
                      landmarks=kps[i].astype(np.float64))
            for i in order
        ]  # fmt: skip


class LegacyPipeline:
    """detect -> align -> pose/quality -> embed (face + mirror), as pipeline.FacePipeline did."""

    def __init__(self, threads: int | None = None) -> None:
        self.detector = LetterboxDetector(models.detector_session("legacy", threads))
        self.embedder = Embedder(models.embedder_session("legacy", threads), flip=True)

    def analyze(
        self, image: DecodedImage, with_embeddings: bool = True
    ) -> list[tuple[Detection, np.ndarray | None]]:
        detections = self.detector.detect(image.pixels)
        if not detections:
            return []
        source = Image.fromarray(image.pixels)
        crops = np.stack([align(source, d.landmarks) for d in detections])
        for detection, crop in zip(detections, crops, strict=True):
            estimate_pose(detection.landmarks)
            measure_quality(crop)
        embeddings = self.embedder.embed(crops) if with_embeddings else [None] * len(detections)
        return list(zip(detections, embeddings, strict=True))
