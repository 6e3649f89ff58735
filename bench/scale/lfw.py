"""Real face embeddings for bench.scale: the shipped pipeline's LFW faces (bench/common/embeddings.py's cache).

Each photo contributes the detected face nearest its centre (the labelled person, as in bench/accuracy.py),
embedded exactly as IndexFaces would embed it. The embeddings are the calibration's (computed once, about 10
minutes on 2 cores, then cached under .cache/bench/ by model files); the photos themselves are never copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common import embeddings, sets


@dataclass(frozen=True)
class LfwEmbeddings:
    identities: np.ndarray  # (n,) person name per embedding
    embeddings: np.ndarray  # (n, 128) float32 unit rows
    missed: int  # photos where no face was found (left out)


def shared_dir() -> Path | None:
    """The shared folder, or None when it has no LFW images/."""
    shared = sets.shared_dir()
    return shared if shared is not None and (shared / "faces" / "lfw" / "images").is_dir() else None


def lfw_embeddings(shared: Path) -> LfwEmbeddings:
    """Every LFW photo's centre face, embedded by the shipped pipeline."""
    paths = sets.lfw_photos(shared / "faces" / "lfw")
    faces = embeddings.embed_photos("lfw", paths)
    rows = faces.centre_face()
    found = rows >= 0
    return LfwEmbeddings(np.array([p.parent.name for p in paths])[found], faces.embedding[rows[found]],
                         int((~found).sum()))
