"""Face verification and identification accuracy on the shared LFW folds, fp32 and int8 side by side.

    .venv/bin/python -m bench.accuracy                # table for fp32 and int8 (embeddings cached)
    .venv/bin/python -m bench.accuracy --calibrate    # also print cosine quantiles of the 3,000 pairs

similarity.py's curve comes from all 18.9 M pairs instead: python -m bench.calibration.

Protocol (LFW View 2, folds 1-5 as shipped in ../shared/faces/lfw, 3,000 pairs):
- each photo's labelled person is the detected face nearest the photo's centre;
- verification: 5-fold cross-validated accuracy (threshold picked on 4 folds, tested on the 5th), the
  accuracy at the fixed Rekognition threshold Similarity 80, and TAR at FAR 0.1 %;
- 1:N rank-1: the first photo of every person with >= 2 photos is the gallery, all their other photos
  are probes (and again with every single-photo person added to the gallery as a distractor);
- both with plain embeddings and with flip-augmented ones (crop + mirror, summed).
Needs ../shared (or $FACESEARCH_SHARED); skips with a message when it is missing. Never copies LFW.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common.data import REPO, lfw_photos, shared_dir
from facesearch.vision import onnx as models
from facesearch.vision import similarity
from facesearch.vision.aligner import align
from facesearch.vision.detector import Detector
from facesearch.vision.embedder import Embedder, l2_normalize
from facesearch.vision.image_decoder import decode_image

CACHE = REPO / ".cache" / "bench"
# Cached embeddings are keyed by the model files and this; bump it when detection/alignment code changes.
CACHE_VERSION = "4"  # 3-4: multi-scale detection (scales.py)


@dataclass(frozen=True)
class Pairs:
    left: np.ndarray  # photo indices
    right: np.ndarray
    same: np.ndarray  # bool
    fold: np.ndarray  # 0..4


def read_pairs(lfw: Path, photos: dict[str, int]) -> Pairs:
    lines = (lfw / "pairs.txt").read_text().split("\n")
    folds, per_fold = (int(v) for v in lines[0].split())
    left, right, same, fold = [], [], [], []
    rows = [line.split("\t") for line in lines[1:] if line.strip()]
    for k, row in enumerate(rows):
        if len(row) == 3:
            a, b, is_same = (
                f"{row[0]}/{row[0]}_{int(row[1]):04d}",
                f"{row[0]}/{row[0]}_{int(row[2]):04d}",
                True,
            )
        else:
            a, b, is_same = (
                f"{row[0]}/{row[0]}_{int(row[1]):04d}",
                f"{row[2]}/{row[2]}_{int(row[3]):04d}",
                False,
            )
        left.append(photos[a])
        right.append(photos[b])
        same.append(is_same)
        fold.append(k // (2 * per_fold))
    assert max(fold) == folds - 1
    return Pairs(np.array(left), np.array(right), np.array(same), np.array(fold))


def centre_face(detector: Detector, pixels: np.ndarray):
    faces = detector.detect(pixels)
    if not faces:
        return None
    height, width = pixels.shape[:2]
    centre = np.array([width / 2, height / 2])

    def distance(face) -> float:
        x1, y1, x2, y2 = face.box
        return float(np.hypot(*(np.array([(x1 + x2) / 2, (y1 + y2) / 2]) - centre)))

    return min(faces, key=distance)


def embed_all(variant: str, paths: list[Path]) -> tuple[np.ndarray, np.ndarray, int]:
    """(plain, flip) unit embeddings per photo (zeros where no face was found) and the miss count."""
    files = models.model_files(variant)  # type: ignore[arg-type]
    key = f"{CACHE_VERSION}\n" + "\n".join(map(str, paths))
    digest = hashlib.sha256(
        files.detector.read_bytes() + files.embedder.read_bytes() + key.encode()
    ).hexdigest()[:16]
    cache = CACHE / f"lfw_{variant}_{digest}.npz"
    if cache.is_file():
        data = np.load(cache)
        return data["plain"], data["flip"], int(data["misses"])
    detector = Detector(models.detector_session(variant))  # type: ignore[arg-type]
    embedder = Embedder(models.embedder_session(variant), flip=False)  # type: ignore[arg-type]
    plain = np.zeros((len(paths), 128), np.float32)
    flip = np.zeros((len(paths), 128), np.float32)
    misses = 0
    started = time.perf_counter()
    for i, path in enumerate(paths):
        image = decode_image(path.read_bytes())
        face = centre_face(detector, image.pixels)
        if face is None:
            misses += 1
            continue
        crop = align(Image.fromarray(image.pixels), face.landmarks)
        vectors = embedder.embed(np.stack([crop, crop[:, ::-1]]))
        plain[i] = vectors[0]
        flip[i] = l2_normalize((vectors[0] + vectors[1])[None])[0]
        if (i + 1) % 1000 == 0:
            print(
                f"  {variant}: {i + 1}/{len(paths)} photos, {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, plain=plain, flip=flip, misses=misses)
    return plain, flip, misses


def best_threshold(scores: np.ndarray, same: np.ndarray) -> float:
    candidates = np.unique(scores)
    mids = np.concatenate(
        [[candidates[0] - 1e-6], (candidates[:-1] + candidates[1:]) / 2, [candidates[-1] + 1e-6]]
    )
    accuracy = [((scores > t) == same).mean() for t in mids]
    return float(mids[int(np.argmax(accuracy))])


def verification(emb: np.ndarray, pairs: Pairs) -> dict[str, float]:
    scores = (emb[pairs.left] * emb[pairs.right]).sum(axis=1)
    fold_acc = []
    for k in np.unique(pairs.fold):
        train, test = pairs.fold != k, pairs.fold == k
        threshold = best_threshold(scores[train], pairs.same[train])
        fold_acc.append(((scores[test] > threshold) == pairs.same[test]).mean())
    cos80 = float(similarity.to_cosine(80.0))
    impostor = np.sort(scores[~pairs.same])[::-1]
    allowed = int(np.floor(0.001 * len(impostor)))  # false accepts allowed at FAR 0.1 %
    far_threshold = float(impostor[allowed])  # accept strictly above it
    genuine = scores[pairs.same]
    return {
        "cv": 100 * float(np.mean(fold_acc)),
        "cv_std": 100 * float(np.std(fold_acc)),
        "at80": 100 * float(((scores >= cos80) == pairs.same).mean()),
        "tar80": 100 * float((genuine >= cos80).mean()),
        "far80": 100 * float((scores[~pairs.same] >= cos80).mean()),
        "tar_far": 100 * float((genuine > far_threshold).mean()),
        "far_threshold": far_threshold,
        "global_threshold": best_threshold(scores, pairs.same),
        "genuine": genuine,
        "impostor": scores[~pairs.same],
    }


def rank1(emb: np.ndarray, identities: list[str], distractors: bool) -> float:
    by_person: dict[str, list[int]] = {}
    for i, person in enumerate(identities):
        by_person.setdefault(person, []).append(i)
    gallery = [idx[0] for idx in by_person.values() if len(idx) >= 2 or distractors]
    probes = [i for idx in by_person.values() if len(idx) >= 2 for i in idx[1:]]
    gallery_ids = np.array([identities[i] for i in gallery])
    best = np.argmax(similarity.cosine_matrix(emb[probes], emb[gallery]), axis=1)
    return 100 * float((gallery_ids[best] == np.array([identities[i] for i in probes])).mean())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--variants", default="fp32,int8")
    parser.add_argument(
        "--calibrate", action="store_true", help="print cosine quantiles of the pairs"
    )
    args = parser.parse_args()
    shared = shared_dir()
    if shared is None:
        print("SKIP: ../shared/faces (or $FACESEARCH_SHARED) not found; LFW accuracy needs it")
        return 0
    lfw = shared / "faces" / "lfw"
    paths = lfw_photos(lfw)
    keys = [f"{p.parent.name}/{p.stem}" for p in paths]
    photos = {key: i for i, key in enumerate(keys)}
    identities = [p.parent.name for p in paths]
    pairs = read_pairs(lfw, photos)
    print(f"LFW folds 1-5: {len(paths)} photos, {len(set(identities))} people, {len(pairs.same)} pairs")
    rows = []
    for variant in args.variants.split(","):
        plain, flip, misses = embed_all(variant, paths)
        for mode, emb in (("plain", plain), ("flip", flip)):
            v = verification(emb, pairs)
            rows.append(
                (variant, mode, misses, v, rank1(emb, identities, False), rank1(emb, identities, True))
            )
    cos80 = float(similarity.to_cosine(80.0))
    print(f"\nSimilarity 80 = cosine {cos80:.3f}")
    header = (
        f"{'model':6} {'embed':6} {'missed':>6} {'5-fold CV %':>13} {'@Sim80 %':>9} {'TAR@80':>7} "
        f"{'FAR@80':>7} {'TAR@FAR0.1%':>12} {'rank-1':>7} {'+distr.':>7}"
    )
    print(header)
    print("-" * len(header))
    for variant, mode, misses, v, r1, r1d in rows:
        print(
            f"{variant:6} {mode:6} {misses:6d} {v['cv']:7.2f} ±{v['cv_std']:4.2f} {v['at80']:9.2f} "
            f"{v['tar80']:7.2f} {v['far80']:7.3f} {v['tar_far']:12.2f} {r1:7.2f} {r1d:7.2f}"
        )
    if args.calibrate:
        print("\ncalibration (cosines)")
        for variant, mode, _misses, v, _r1, _r1d in rows:
            g, im = v["genuine"], v["impostor"]
            print(
                f"{variant:6} {mode:6} FAR0.1% thr {v['far_threshold']:.4f}  "
                f"best global thr {v['global_threshold']:.4f}  impostor p99 {np.percentile(im, 99):.4f} "
                f"max {im.max():.4f}  genuine p2 {np.percentile(g, 2):.4f} median {np.median(g):.4f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
