"""Real face embeddings for bench/scale.py: the shipped pipeline run over the shared LFW photos, cached.

    .venv/bin/python -m bench.scale_lfw    # compute (about 10 min) or load

Each photo contributes the detected face nearest its centre (the labelled person, as in bench/accuracy.py),
embedded by `facesearch.vision.pipeline.get_pipeline()` exactly as IndexFaces would embed it. The vectors are cached
under .cache/scale/ keyed by the model files and the photo list; the photos themselves are never copied.
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common import data
from facesearch.vision import onnx as models
from facesearch.vision.image_decoder import decode_image
from facesearch.vision.pipeline import AnalyzedFace, get_pipeline

CACHE = data.REPO / ".cache" / "scale"
CACHE_VERSION = "1"  # bump when the choice of face or the pipeline's use here changes


@dataclass(frozen=True)
class LfwEmbeddings:
    identities: np.ndarray  # (n,) person name per embedding
    embeddings: np.ndarray  # (n, 128) float32 unit rows
    missed: int  # photos where no face was found (left out)


def shared_dir() -> Path | None:
    """The shared folder (bench.common.data.shared_dir), or None when it has no LFW images/."""
    shared = data.shared_dir()
    return shared if shared is not None and (shared / "faces" / "lfw" / "images").is_dir() else None


def centre_face(faces: list[AnalyzedFace]) -> AnalyzedFace:
    def distance(face: AnalyzedFace) -> float:
        box = face.bounding_box
        return float(np.hypot(box.left + box.width / 2 - 0.5, box.top + box.height / 2 - 0.5))

    return min(faces, key=distance)


def lfw_embeddings(shared: Path) -> LfwEmbeddings:
    """Every LFW photo's centre face, embedded by the shipped pipeline (computed once, then cached)."""
    paths = data.lfw_photos(shared / "faces" / "lfw")
    files = models.model_files()
    key = CACHE_VERSION + "\n" + "\n".join(str(path.relative_to(shared)) for path in paths)
    digest = hashlib.sha256(files.detector.read_bytes() + files.embedder.read_bytes() + key.encode())
    cache = CACHE / f"lfw_{digest.hexdigest()[:16]}.npz"
    if cache.is_file():
        with np.load(cache) as saved:
            return LfwEmbeddings(saved["identities"], saved["embeddings"], int(saved["missed"]))
    pipeline = get_pipeline()
    identities: list[str] = []
    vectors: list[np.ndarray] = []
    missed = 0
    started = time.perf_counter()
    for i, path in enumerate(paths):
        faces = pipeline.analyze(decode_image(path.read_bytes()))
        if faces:
            face = centre_face(faces)
            assert face.embedding is not None
            identities.append(path.parent.name)
            vectors.append(face.embedding)
        else:
            missed += 1
        if (i + 1) % 500 == 0:
            print(f"  lfw: {i + 1}/{len(paths)} photos, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    result = LfwEmbeddings(np.array(identities), np.stack(vectors).astype(np.float32), missed)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, identities=result.identities, embeddings=result.embeddings, missed=missed)
    return result


if __name__ == "__main__":
    shared = shared_dir()
    if shared is None:
        print("SKIP: ../shared/faces/lfw not found (set FACESEARCH_SHARED)")
        raise SystemExit(0)
    lfw = lfw_embeddings(shared)
    print(f"{len(lfw.embeddings)} embeddings of {len(set(lfw.identities.tolist()))} people, {lfw.missed} missed")
