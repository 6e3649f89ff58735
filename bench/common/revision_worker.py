"""The process that runs one revision's face pipeline for bench.common.revision (never imported by the benches).

    python -P revision_worker.py <socket fd> <model dir> <threads> <variant>

with PYTHONPATH=<that revision's functions/api>, so `facesearch` here is the revision's own package. It imports
nothing from bench/ (an old revision has another bench/), only the standard library, numpy, Pillow and the
revision's `facesearch.vision`, through the names that every revision since the vision/ package (d81c96f)
shares: Detector(session).detect(pixels), Embedder(session, flip).embed(crops), FacePipeline(detector,
embedder).analyze(image), align, estimate_pose, measure_quality, decode_image (imaging.py, later
image_decoder.py) and onnx.create_session / onnx.model_files.

Requests arrive as (operation, arguments) over a multiprocessing Connection; each answer is ("ok", result,
seconds) or ("error", traceback, 0.0). `seconds` is the wall time of the work alone, measured here, so a
bench compares two revisions without counting the transport. Results are plain data (lists, dicts, floats,
numpy arrays), never the revision's own classes.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


class CountingSession:
    """An onnxruntime session that counts its runs (a detector's passes)."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.runs = 0

    def run(self, *args: Any, **kwargs: Any) -> Any:
        self.runs += 1
        return self._session.run(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def _module(*names: str) -> Any:
    """The first of `names` this revision has (modules were renamed over time)."""
    for name in names:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    raise ModuleNotFoundError(f"this revision has none of {names}")


class Pipeline:
    """The revision's pipeline, built from its own modules on its own model files."""

    def __init__(self, model_dir: Path, threads: int, variant: str) -> None:
        self.onnx = _module("facesearch.vision.onnx")
        self.decoder = _module("facesearch.vision.image_decoder", "facesearch.vision.imaging")
        detector_module = _module("facesearch.vision.detector")
        embedder_module = _module("facesearch.vision.embedder")
        self.align = _module("facesearch.vision.aligner").align
        self.estimate_pose = _module("facesearch.vision.pose").estimate_pose
        self.measure_quality = _module("facesearch.vision.quality").measure_quality
        files = self.onnx.model_files(directory=model_dir, variant=variant)
        self.files = files
        self.session = CountingSession(self.onnx.create_session(str(files.detector), threads))
        embedder_session = self.onnx.create_session(str(files.embedder), threads)
        self.detector = detector_module.Detector(self.session)
        self.embedders = {flip: embedder_module.Embedder(embedder_session, flip=flip) for flip in (True, False)}
        self.embedder = self.embedders[True]  # the service's embedding: the face and its mirror image
        self.pipeline = _module("facesearch.vision.pipeline").FacePipeline(self.detector, self.embedder)

    def decoded(self, image: Any) -> Any:
        """A DecodedImage of the revision from a path (str), encoded bytes or HxWx3 uint8 pixels."""
        if isinstance(image, np.ndarray):
            pixels = np.ascontiguousarray(image)
            return self.decoder.DecodedImage(pixels, pixels.shape[1], pixels.shape[0], "PNG")
        return self.decoder.decode_image(Path(image).read_bytes() if isinstance(image, str) else image)

    def crops(self, pixels: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:
        source = Image.fromarray(pixels)
        return np.stack([self.align(source, points) for points in landmarks]) if landmarks else \
            np.empty((0, 112, 112, 3), np.uint8)


def _face(detection: Any, embedding: Any = None) -> dict[str, Any]:
    return {"box": tuple(float(v) for v in detection.box), "score": float(detection.score),
            "landmarks": np.asarray(detection.landmarks, np.float64),
            "embedding": None if embedding is None else np.asarray(embedding, np.float32)}


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def stages(p: Pipeline, blob: bytes) -> dict[str, float]:
    """Milliseconds of each stage of one photo (all its faces), as bench.speed defines them."""
    ms: dict[str, float] = {}
    image, seconds = _timed(lambda: p.decoder.decode_image(blob))
    ms["decode"] = 1000 * seconds
    faces, seconds = _timed(lambda: p.detector.detect(image.pixels))
    ms["detect"] = 1000 * seconds
    source = Image.fromarray(image.pixels)
    crops, seconds = _timed(lambda: [p.align(source, face.landmarks) for face in faces])
    ms["align"] = 1000 * seconds
    _, seconds = _timed(lambda: [(p.estimate_pose(f.landmarks), p.measure_quality(c))
                                 for f, c in zip(faces, crops, strict=True)])
    ms["pose+quality"] = 1000 * seconds
    stack = np.stack(crops) if crops else np.empty((0, 112, 112, 3), np.uint8)
    _, seconds = _timed(lambda: p.embedder.embed(stack))
    ms["embed"] = 1000 * seconds
    # a fresh DecodedImage, so a revision that keeps a Pillow copy on it makes one per call, as a request does
    _, seconds = _timed(lambda: p.pipeline.analyze(dataclasses.replace(image)))
    ms["detect+align+embed"] = 1000 * seconds
    _, seconds = _timed(lambda: p.pipeline.analyze(p.decoder.decode_image(blob)))
    ms["end to end"] = 1000 * seconds
    ms["faces"] = float(len(faces))
    return ms


def handle(p: Pipeline, operation: str, args: dict[str, Any]) -> tuple[Any, float]:
    """(result, seconds of the work) of one request; decoding an input image is not timed."""
    if operation == "info":
        package = _module("facesearch")
        return {"facesearch": package.__file__, "detector": str(p.files.detector),
                "embedder": str(p.files.embedder)}, 0.0
    if operation == "stages":
        return stages(p, args["image"]), 0.0
    if operation == "embed_crops":
        embedder = p.embedders[bool(args["flip"])]
        return _timed(lambda: np.asarray(embedder.embed(args["crops"]), np.float32))
    image = p.decoded(args["image"])
    if operation == "detect":
        found, seconds = _timed(lambda: p.detector.detect(image.pixels))
        return [_face(d) for d in found], seconds
    if operation == "passes":
        before = p.session.runs
        p.detector.detect(image.pixels)
        return p.session.runs - before, 0.0
    if operation == "embed":
        vectors, seconds = _timed(lambda: p.embedder.embed(p.crops(image.pixels, args["landmarks"])))
        return np.asarray(vectors, np.float32), seconds
    if operation == "analyze":
        faces, seconds = _timed(lambda: p.pipeline.analyze(image))
        return [_face(f.detection, f.embedding) for f in faces], seconds
    raise ValueError(f"unknown operation {operation!r}")


def serve(connection: Connection, pipeline: Pipeline) -> None:
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        if request is None:
            return
        operation, args = request
        try:
            result, seconds = handle(pipeline, operation, args)
            connection.send(("ok", result, seconds))
        except Exception:
            connection.send(("error", traceback.format_exc(), 0.0))


def main(argv: list[str]) -> int:
    fd, model_dir, threads, variant = int(argv[0]), Path(argv[1]), int(argv[2]), argv[3]
    connection = Connection(fd)
    try:
        pipeline = Pipeline(model_dir, threads, variant)
    except Exception:
        connection.send(("error", traceback.format_exc(), 0.0))
        return 1
    connection.send(("ok", "ready", 0.0))
    serve(connection, pipeline)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
