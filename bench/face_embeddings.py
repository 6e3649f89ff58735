"""Every face of a list of photos through the shipped pipeline, cached: the input of the calibration benches.

Each photo goes through `facesearch.vision.pipeline.get_pipeline("int8")` exactly as IndexFaces/CompareFaces run
it (detect, align, flip-augmented int8 SFace, Quality), optionally after a degradation of its pixels
(`DEGRADATIONS`: a user's small, blurred or dark photo). Every detected face is kept with its box, score,
Quality and pose, so a bench can pick the labelled face (LFW labels the one nearest the centre) or the
largest one (what CompareFaces and SearchFacesByImage search with).

Results are cached in .cache/bench/ (gitignored) under a key made of the model files' sha256, the photo
list, the degradation and CACHE_VERSION, so a re-run with the same models takes seconds and a model change
re-embeds. Work is spread over worker processes with one onnxruntime thread each.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageFilter

from bench.common.data import REPO

CACHE = REPO / ".cache" / "bench"
# Bump when what is stored per face, or how a photo is degraded, changes.
CACHE_VERSION = "faces-1"
VARIANT: Literal["int8"] = "int8"


def _downscale(pixels: np.ndarray) -> np.ndarray:
    """LFW's 250 px photos at 0.45x: the labelled face ends up about 42 px wide (median, bench/calibration.py)."""
    image = Image.fromarray(pixels)
    size = (round(image.width * 0.45), round(image.height * 0.45))
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS))


def _blur(pixels: np.ndarray) -> np.ndarray:
    """A Gaussian blur of 2 px on a 250 px photo: an out-of-focus or motion-soft shot."""
    return np.asarray(Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(2.0)))


def _darken(pixels: np.ndarray) -> np.ndarray:
    """A third of the light and 8-bit quantisation of it: an underexposed indoor shot."""
    return np.round(pixels.astype(np.float32) * 0.3).astype(np.uint8)


DEGRADATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "small": _downscale,
    "blur": _blur,
    "dark": _darken,
}


@dataclass(frozen=True)
class PhotoFaces:
    """All faces found in `paths`, one row per face; `photo` says whose photo each row comes from."""

    paths: tuple[str, ...]
    photo: np.ndarray  # (f,) int: index into paths
    embedding: np.ndarray  # (f, 128) float32 unit rows
    box: np.ndarray  # (f, 4) x1, y1, x2, y2 in pixels of the (degraded) photo
    score: np.ndarray  # (f,) detector score
    sharpness: np.ndarray  # (f,) Quality.Sharpness, 0-100
    brightness: np.ndarray  # (f,) Quality.Brightness, 0-100
    yaw: np.ndarray  # (f,) Pose.Yaw, degrees
    pitch: np.ndarray  # (f,) Pose.Pitch, degrees
    image_size: np.ndarray  # (p, 2) width, height of each (degraded) photo

    def face_width(self) -> np.ndarray:
        return self.box[:, 2] - self.box[:, 0]

    def centre_face(self) -> np.ndarray:
        """(p,) row of the face nearest each photo's centre, -1 where no face was found."""
        return self._pick(lambda rows: np.hypot(*(self._centres(rows) - self.image_size[self.photo[rows]] / 2).T))

    def largest_face(self) -> np.ndarray:
        """(p,) row of each photo's largest face (the pipeline's first), -1 where none."""
        return self._pick(lambda rows: -self._area(rows))

    def _centres(self, rows: np.ndarray) -> np.ndarray:
        return np.stack([(self.box[rows, 0] + self.box[rows, 2]) / 2, (self.box[rows, 1] + self.box[rows, 3]) / 2], 1)

    def _area(self, rows: np.ndarray) -> np.ndarray:
        return (self.box[rows, 2] - self.box[rows, 0]) * (self.box[rows, 3] - self.box[rows, 1])

    def _pick(self, cost: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        chosen = np.full(len(self.paths), -1, dtype=np.int64)
        rows = np.arange(len(self.photo))
        order = np.lexsort((cost(rows), self.photo))  # by photo, then by cost
        first = np.ones(len(order), bool)
        first[1:] = self.photo[order[1:]] != self.photo[order[:-1]]
        chosen[self.photo[order[first]]] = order[first]
        return chosen


# embedding, box, score, sharpness, brightness, yaw, pitch of one face
FaceRow = tuple[np.ndarray, np.ndarray, float, float, float, float, float]


def _embed_chunk(job: tuple[list[str], str | None]) -> list[tuple[int, np.ndarray, list[FaceRow]]]:
    """Worker: (photo index within chunk, (w, h), per-face arrays) for each photo of the chunk."""
    from facesearch.vision.image_decoder import DecodedImage, decode_image
    from facesearch.vision.pipeline import get_pipeline

    paths, degradation = job
    pipeline = get_pipeline(VARIANT)
    out = []
    for i, path in enumerate(paths):
        image = decode_image(Path(path).read_bytes())
        if degradation is not None:
            pixels = np.ascontiguousarray(DEGRADATIONS[degradation](image.pixels))
            image = DecodedImage(pixels, pixels.shape[1], pixels.shape[0], image.format)
        faces = pipeline.analyze(image)
        rows: list[FaceRow] = [
            (
                np.asarray(face.embedding, np.float32),
                np.asarray(face.detection.box, np.float32),
                float(face.detection.score),
                float(face.quality.sharpness),
                float(face.quality.brightness),
                float(face.pose.yaw),
                float(face.pose.pitch),
            )
            for face in faces
        ]
        out.append((i, np.array([image.width, image.height], np.float32), rows))
    return out


def _worker_init() -> None:
    os.environ["FACESEARCH_INTRA_OP_THREADS"] = "1"


def _cache_path(label: str, paths: Sequence[Path], degradation: str | None) -> Path:
    from facesearch.vision import onnx as models

    files = models.model_files(VARIANT)
    digest = hashlib.sha256()
    for model in (files.detector, files.embedder):
        digest.update(hashlib.sha256(model.read_bytes()).digest())
    digest.update(f"{CACHE_VERSION}\n{degradation}\n".encode())
    digest.update("\n".join(str(p) for p in paths).encode())
    suffix = f"_{degradation}" if degradation else ""
    return CACHE / f"{label}{suffix}_{digest.hexdigest()[:16]}.npz"


def embed_photos(
    label: str, paths: Sequence[Path], degradation: str | None = None, workers: int = 2, chunk: int = 64
) -> PhotoFaces:
    """Every face of `paths` (optionally degraded), from the cache when the models and inputs are unchanged."""
    cache = _cache_path(label, paths, degradation)
    keys = tuple(str(p) for p in paths)
    if cache.is_file():
        data = np.load(cache)
        return PhotoFaces(keys, *(data[name] for name in _FIELDS))
    jobs = [([str(p) for p in paths[i : i + chunk]], degradation) for i in range(0, len(paths), chunk)]
    results: list[list[tuple[int, np.ndarray, list[FaceRow]]]] = []
    started = time.perf_counter()
    name = label + (f" ({degradation})" if degradation else "")
    with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init) as pool:
        for done, result in enumerate(pool.map(_embed_chunk, jobs), 1):
            results.append(result)
            photos = min(done * chunk, len(paths))
            if done % 10 == 0 or done == len(jobs):
                elapsed = time.perf_counter() - started
                print(f"  embedding {name}: {photos}/{len(paths)} photos, {elapsed:.0f} s", file=sys.stderr, flush=True)
    photo: list[int] = []
    rows: list[FaceRow] = []
    sizes: list[np.ndarray] = []
    for c, result in enumerate(results):
        for i, size, found in result:
            sizes.append(size)
            photo += [c * chunk + i] * len(found)
            rows += found
    faces = PhotoFaces(
        paths=keys,
        photo=np.array(photo, np.int64),
        embedding=np.array([r[0] for r in rows], np.float32).reshape(-1, 128),
        box=np.array([r[1] for r in rows], np.float32).reshape(-1, 4),
        score=np.array([r[2] for r in rows], np.float32),
        sharpness=np.array([r[3] for r in rows], np.float32),
        brightness=np.array([r[4] for r in rows], np.float32),
        yaw=np.array([r[5] for r in rows], np.float32),
        pitch=np.array([r[6] for r in rows], np.float32),
        image_size=np.array(sizes, np.float32).reshape(-1, 2),
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **{name: getattr(faces, name) for name in _FIELDS})
    return faces


_FIELDS = ("photo", "embedding", "box", "score", "sharpness", "brightness", "yaw", "pitch", "image_size")
