"""Every face of a list of photos through the shipped pipeline, cached: the input of the calibration benches.

Each photo goes through the service's int8 pipeline exactly as IndexFaces/CompareFaces run it (detect,
align, flip-augmented int8 SFace, Quality), optionally after a degradation of its pixels (`DEGRADATIONS`: a
user's small, blurred or dark photo). Every detected face is kept with its box, score, Quality and pose, so a
bench can pick the labelled face (LFW labels the one nearest the centre) or the largest one (what
CompareFaces and SearchFacesByImage search with).

Results are cached in .cache/bench/ (gitignored) under a key made of the model files' sha256, the photo
list, the degradation and CACHE_VERSION, so a re-run with the same models takes seconds and a model change
re-embeds. Work is spread over worker processes with one onnxruntime thread each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from bench.common import models, progress

# Bump when what is stored per face, or how a photo is degraded, changes.
CACHE_VERSION = "faces-2"  # 2: mirrored borders and the border pass (detection changed)


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
        return np.asarray(self.box[:, 2] - self.box[:, 0])

    def centre_face(self) -> np.ndarray:
        """(p,) row of the face nearest each photo's centre, -1 where no face was found."""
        return self._pick(lambda rows: np.hypot(*(self._centres(rows) - self.image_size[self.photo[rows]] / 2).T))

    def largest_face(self) -> np.ndarray:
        """(p,) row of each photo's largest face (the pipeline's first), -1 where none."""
        return self._pick(lambda rows: -self._area(rows))

    def _centres(self, rows: np.ndarray) -> np.ndarray:
        return np.stack([(self.box[rows, 0] + self.box[rows, 2]) / 2, (self.box[rows, 1] + self.box[rows, 3]) / 2], 1)

    def _area(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray((self.box[rows, 2] - self.box[rows, 0]) * (self.box[rows, 3] - self.box[rows, 1]))

    def _pick(self, cost: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        chosen = np.full(len(self.paths), -1, dtype=np.int64)
        rows = np.arange(len(self.photo))
        order = np.lexsort((cost(rows), self.photo))  # by photo, then by cost
        first = np.ones(len(order), bool)
        first[1:] = self.photo[order[1:]] != self.photo[order[:-1]]
        chosen[self.photo[order[first]]] = order[first]
        return chosen


_ARRAYS = tuple(f.name for f in fields(PhotoFaces) if f.name != "paths")
_PER_FACE = ("embedding", "box", "score", "sharpness", "brightness", "yaw", "pitch")
_WIDTHS = {"embedding": 128, "box": 4}
Photo = tuple[np.ndarray, list[tuple[np.ndarray, ...]]]  # (width, height) and each face's _PER_FACE values


def _embed_chunk(job: tuple[list[str], str | None]) -> list[Photo]:
    """Worker (one onnxruntime thread): each photo's size and its faces' values."""
    from facesearch.vision.image_decoder import DecodedImage, decode_image

    paths, degradation = job
    pipeline = models.pipeline(threads_=1)
    out = []
    for path in paths:
        image = decode_image(Path(path).read_bytes())
        if degradation is not None:
            pixels = np.ascontiguousarray(DEGRADATIONS[degradation](image.pixels))
            image = DecodedImage(pixels, pixels.shape[1], pixels.shape[0], image.format)
        rows = [tuple(np.asarray(value, np.float32) for value in (
            face.embedding, face.detection.box, face.detection.score, face.quality.sharpness,
            face.quality.brightness, face.pose.yaw, face.pose.pitch)) for face in pipeline.analyze(image)]
        out.append((np.array([image.width, image.height], np.float32), rows))
    return out


def embed_photos(label: str, paths: Sequence[Path], degradation: str | None = None, workers: int = 2,
                 chunk: int = 64) -> PhotoFaces:
    """Every face of `paths` (optionally degraded), from the cache when the models and inputs are unchanged."""
    keys = tuple(str(p) for p in paths)
    cache = models.cache_path(label + (f"_{degradation}" if degradation else ""), CACHE_VERSION, degradation, *keys)
    if cache.is_file():
        with np.load(cache) as saved:
            return PhotoFaces(keys, *(saved[name] for name in _ARRAYS))
    jobs = [(list(keys[i : i + chunk]), degradation) for i in range(0, len(paths), chunk)]
    name = label + (f" ({degradation})" if degradation else "")
    photos: list[Photo] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done in progress.bar(pool.map(_embed_chunk, jobs), f"embedding {name}, chunks of {chunk} photos",
                                 len(jobs)):
            photos += done
    per_face = {field: [face[k] for _, faces in photos for face in faces] for k, field in enumerate(_PER_FACE)}
    arrays = {field: np.array(values, np.float32).reshape(-1, _WIDTHS[field]) if field in _WIDTHS
              else np.array(values, np.float32) for field, values in per_face.items()}
    photo = np.array([i for i, (_, faces) in enumerate(photos) for _ in faces], np.int64)
    sizes = np.array([size for size, _ in photos], np.float32).reshape(-1, 2)
    faces = PhotoFaces(keys, photo=photo, image_size=sizes, **arrays)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **{name: getattr(faces, name) for name in _ARRAYS})
    return faces
