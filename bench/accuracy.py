"""Face verification and identification accuracy on the shared LFW folds, fp32 and int8 side by side.

    .venv/bin/python -m bench.accuracy                    # table for fp32 and int8 (embeddings cached)
    .venv/bin/python -m bench.accuracy --variants int8    # the shipped models only
    .venv/bin/python -m bench.accuracy --calibrate        # also print cosine quantiles of the 3,000 pairs
    .venv/bin/python -m bench.accuracy --variants int8 --folds 2   # a smaller look: folds 1-2 and their photos

similarity.py's curve comes from all 18.9 M pairs instead: python -m bench.calibration.

Protocol (LFW View 2, folds 1-5 as shipped in ../shared/faces/lfw, 3,000 pairs):
- each photo's labelled person is the detected face nearest the photo's centre;
- verification: 5-fold cross-validated accuracy (threshold picked on 4 folds, tested on the 5th), the
  accuracy at the fixed Rekognition threshold Similarity 80, and TAR at FAR 0.1 %;
- 1:N rank-1: the first photo of every person with >= 2 photos is the gallery, all their other photos
  are probes (and again with every single-photo person added to the gallery as a distractor);
- both with plain embeddings and with flip-augmented ones (crop + mirror, summed).
Embeddings are cached in .cache/bench/ by model files (about 10 min per variant to compute on 2 cores).
--folds N keeps the pairs of the first N folds and only the photos they name (rank-1 among those photos).
Needs ../shared (or $FACESEARCH_SHARED); skips with a message when it is missing. Never copies LFW.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import cli, models, progress, sets, tables
from facesearch.vision import onnx, similarity
from facesearch.vision.aligner import align
from facesearch.vision.embedder import l2_normalize
from facesearch.vision.image_decoder import decode_image

# Cached embeddings are keyed by the model files and this; bump it when detection/alignment code changes.
CACHE_VERSION = "5"  # 3-4: multi-scale detection (pass_plan.py); 5: mirrored borders, the border pass


@dataclass(frozen=True)
class Pairs:
    left: np.ndarray  # photo indices
    right: np.ndarray
    same: np.ndarray  # bool
    fold: np.ndarray  # 0..4


def read_pairs(lfw: Path, folds: int) -> tuple[list[Path], Pairs]:
    """The photos (every LFW photo, or with folds < 5 those the pairs name) and the pairs of the first `folds`."""
    pairs = [pair for pair in sets.lfw_pairs(lfw) if pair.fold < folds]
    named = {stem for pair in pairs for stem in (pair.left, pair.right)}
    paths = [path for path in sets.lfw_photos(lfw) if folds >= 5 or path.stem in named]
    index = {path.stem: i for i, path in enumerate(paths)}
    return paths, Pairs(np.array([index[p.left] for p in pairs]), np.array([index[p.right] for p in pairs]),
                        np.array([p.same for p in pairs]), np.array([p.fold for p in pairs]))


def embed_all(variant: onnx.Variant, paths: list[Path]) -> tuple[np.ndarray, np.ndarray, int]:
    """(plain, flip) unit embeddings per photo (zeros where no face was found) and the miss count."""
    cache = models.cache_path(f"lfw_{variant}", CACHE_VERSION, *paths, variant=variant)
    if cache.is_file():
        with np.load(cache) as saved:
            return saved["plain"], saved["flip"], int(saved["misses"])
    detector, embedder = models.detector(variant=variant), models.embedder(variant=variant, flip=False)
    plain, flip = np.zeros((len(paths), 128), np.float32), np.zeros((len(paths), 128), np.float32)
    misses = 0
    for i, path in enumerate(progress.bar(paths, f"embedding LFW ({variant})")):
        image = decode_image(path.read_bytes())
        face = models.centre_face(detector.detect(image.pixels), image.width, image.height)
        if face is None:
            misses += 1
            continue
        crop = align(Image.fromarray(image.pixels), face.landmarks)
        vectors = embedder.embed(np.stack([crop, crop[:, ::-1]]))
        plain[i], flip[i] = vectors[0], l2_normalize((vectors[0] + vectors[1])[None])[0]
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, plain=plain, flip=flip, misses=misses)
    return plain, flip, misses


def best_threshold(scores: np.ndarray, same: np.ndarray) -> float:
    candidates = np.unique(scores)
    mids = np.concatenate([[candidates[0] - 1e-6], (candidates[:-1] + candidates[1:]) / 2, [candidates[-1] + 1e-6]])
    accuracy = [((scores > t) == same).mean() for t in mids]
    return float(mids[int(np.argmax(accuracy))])


@dataclass(frozen=True)
class Verification:
    cv: float  # 5-fold cross-validated accuracy, %
    cv_std: float
    at80: float  # accuracy at Similarity 80, %
    tar80: float
    far80: float
    tar_far: float  # TAR at FAR 0.1 %
    far_threshold: float
    global_threshold: float
    genuine: np.ndarray  # cosines
    impostor: np.ndarray


def verification(emb: np.ndarray, pairs: Pairs) -> Verification:
    scores = (emb[pairs.left] * emb[pairs.right]).sum(axis=1)
    fold_acc = []
    for k in np.unique(pairs.fold):
        train, test = pairs.fold != k, pairs.fold == k
        threshold = best_threshold(scores[train], pairs.same[train])
        fold_acc.append(((scores[test] > threshold) == pairs.same[test]).mean())
    cos80 = float(similarity.to_cosine(80.0))
    impostor = np.sort(scores[~pairs.same])[::-1]
    far_threshold = float(impostor[int(np.floor(0.001 * len(impostor)))])  # accept strictly above it
    genuine = scores[pairs.same]
    impostors = scores[~pairs.same]
    return Verification(
        cv=100 * float(np.mean(fold_acc)), cv_std=100 * float(np.std(fold_acc)),
        at80=100 * float(((scores >= cos80) == pairs.same).mean()), tar80=100 * float((genuine >= cos80).mean()),
        far80=100 * float((impostors >= cos80).mean()), tar_far=100 * float((genuine > far_threshold).mean()),
        far_threshold=far_threshold, global_threshold=best_threshold(scores, pairs.same), genuine=genuine,
        impostor=impostors)


def rank1(emb: np.ndarray, identities: list[str], distractors: bool) -> float:
    by_person: dict[str, list[int]] = {}
    for i, person in enumerate(identities):
        by_person.setdefault(person, []).append(i)
    gallery = [idx[0] for idx in by_person.values() if len(idx) >= 2 or distractors]
    probes = [i for idx in by_person.values() if len(idx) >= 2 for i in idx[1:]]
    gallery_ids = np.array([identities[i] for i in gallery])
    best = np.argmax(similarity.cosine_matrix(emb[probes], emb[gallery]), axis=1)
    return 100 * float((gallery_ids[best] == np.array([identities[i] for i in probes])).mean())


def row(variant: str, mode: str, misses: int, v: Verification, identities: list[str], emb: np.ndarray) -> list[str]:
    return [variant, mode, str(misses), f"{v.cv:7.2f} ±{v.cv_std:4.2f}", f"{v.at80:.2f}", f"{v.tar80:.2f}",
            f"{v.far80:.3f}", f"{v.tar_far:.2f}", f"{rank1(emb, identities, False):.2f}",
            f"{rank1(emb, identities, True):.2f}"]


def cosine_quantiles(variant: str, mode: str, v: Verification) -> str:
    g, im = v.genuine, v.impostor
    return (f"{variant:6} {mode:6} FAR0.1% thr {v.far_threshold:.4f}  best global thr {v.global_threshold:.4f}  "
            f"impostor p99 {np.percentile(im, 99):.4f} max {im.max():.4f}  genuine p2 {np.percentile(g, 2):.4f} "
            f"median {np.median(g):.4f}")


def main() -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--variants", default="fp32,int8")
    parser.add_argument("--calibrate", action="store_true", help="print cosine quantiles of the pairs")
    parser.add_argument("--folds", type=int, default=5, choices=range(2, 6), help="pairs of the first N folds")
    args = parser.parse_args()
    if (shared := sets.shared_or_skip("faces/lfw/pairs.txt", "LFW accuracy")) is None:
        return 0
    paths, pairs = read_pairs(shared / "faces" / "lfw", args.folds)
    identities = [p.parent.name for p in paths]
    print(f"LFW folds 1-{args.folds}: {len(paths)} photos, {len(set(identities))} people, {len(pairs.same)} pairs")
    rows, quantiles = [], []
    for variant in args.variants.split(","):
        plain, flip, misses = embed_all(variant, paths)
        for mode, emb in (("plain", plain), ("flip", flip)):
            v = verification(emb, pairs)
            rows.append(row(variant, mode, misses, v, identities, emb))
            quantiles.append(cosine_quantiles(variant, mode, v))
    print(f"\nSimilarity 80 = cosine {float(similarity.to_cosine(80.0)):.3f}")
    print(tables.aligned(["model", "embed", "missed", f"{args.folds}-fold CV %", "@Sim80 %", "TAR@80", "FAR@80",
                          "TAR@FAR0.1%", "rank-1", "+distr."], rows, indent="", left=2))
    if args.calibrate:
        print("\ncalibration (cosines)\n" + "\n".join(quantiles))
    return 0


if __name__ == "__main__":
    sys.exit(main())
