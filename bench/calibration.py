"""Similarity calibrated by false-match rate: every genuine and impostor pair of the shared face sets.

    .venv/bin/python -m bench.calibration            # measure, print, write bench/results/calibration.json
    .venv/bin/python -m bench.calibration --no-write # measure and print only

Rekognition's Similarity is judged by what its default threshold lets through: in the 2018 ACLU test
Similarity 80 falsely matched 28 of 535 people against 25,000 photos, about 2e-6 per comparison. So the
curve here is *defined* by the false-match rate (FMR) per comparison:

    Similarity = 80 - 10 * log10(FMR / 2e-6)     (one decade of FMR per 10 points)

i.e. 50 <-> 2e-3, 70 <-> 2e-5, 80 <-> 2e-6, 90 <-> 2e-7, 99 <-> 2.5e-8, and the knots of
`facesearch.vision.similarity` are the cosines where the shipped pipeline reaches those rates on LFW:
- measured where at least MIN_MEASURED impostor pairs lie above the knot (FMR >= ~5e-6 on 19 M pairs);
- beyond that extrapolated from a straight-line fit of log10 FMR against cosine over the measured tail,
  with a 90 % interval from resampling identities (the pairs of one person are not independent).

What it runs, with the shipped int8 pipeline (bench/face_embeddings.py, cached in .cache/bench/):
1. LFW folds 1-5 (labelled face = the one nearest the centre; label errors cleaned, bench/face_sets.py)
   and the studio sets (London neutral/smiling, canada, lisa, zoom): every pair, FMR and TAR per cosine.
2. The Similarity curve derived from it, against today's curve.
3. Quality dependence: LFW pairs split by the worse face's Sharpness / Brightness / size / yaw, and LFW
   photos degraded (downscaled to ~45 px faces, blurred, darkened) searched against the clean photos,
   with and without the QualityFilter bars.
4. CompareFaces on the 3,000 pairs of pairs.txt (largest source face vs every target face) at
   Similarity 80 under the previous curve and under the new one.
Needs ../shared (or $FACESEARCH_SHARED); exits 0 with a SKIP line without it. Never copies LFW.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import face_embeddings, face_sets, pair_stats, similarity_table
from bench.common.data import REPO
from bench.face_embeddings import PhotoFaces
from bench.face_sets import FaceSet
from bench.pair_stats import PairCounts
from facesearch.vision import onnx as models
from facesearch.vision import quality_filter, similarity
from facesearch.vision.pipeline import detection_confidence

RESULTS = similarity_table.RESULTS  # bench/results/calibration.json, which the README's table is rendered from
FMR_AT_80 = 2e-6  # Rekognition's default, observed: 28 false matches / (535 x 25,000) comparisons
POINTS_PER_DECADE = 10.0
KNOT_LEVELS = (30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 99.0)
MIN_MEASURED = 100  # impostor pairs above a knot for its cosine to be read off the data, not the fit
FIT_HIGH_FMR = 1e-4  # the tail fit starts here (the tail nearest to where it extrapolates)...
FIT_MIN_PAIRS = 10  # ...and runs while at least this many impostor pairs are left above the cosine
BOOTSTRAP_ROUNDS = 200
# The curve before issue 13 (similarity.py at commit 011f586), for the before/after comparison.
PREVIOUS_KNOTS = ((-1.0, 0.0), (0.29, 20.0), (0.34, 80.0), (0.68, 99.0), (1.0, 100.0))
GRID = (-0.25, 1.0, 0.0005)  # cosines at which the JSON keeps cumulative pair counts
DEGRADED_STEP = 5  # every 5th LFW photo is degraded (1,233 probes against all 6,162 clean faces)


def fmr_of_similarity(level: float) -> float:
    """The false-match rate per comparison that Similarity `level` stands for."""
    return FMR_AT_80 * 10 ** ((80.0 - level) / POINTS_PER_DECADE)


def previous_to_cosine(level: float) -> float:
    cos, sim = zip(*PREVIOUS_KNOTS, strict=True)
    return float(np.interp(level, sim, cos))


@dataclass(frozen=True)
class Population:
    """One face per photo (the labelled one); photos without a face are dropped and counted."""

    name: str
    embedding: np.ndarray
    identity: np.ndarray
    photo: np.ndarray  # index into the FaceSet's photos
    missed: int
    excluded: tuple[tuple[int, int], ...]
    sharpness: np.ndarray
    brightness: np.ndarray
    width: np.ndarray
    yaw: np.ndarray


def labelled_faces(faces_set: FaceSet, faces: PhotoFaces) -> Population:
    rows = faces.centre_face()
    found = rows >= 0
    picked = rows[found]
    return Population(
        faces_set.name, faces.embedding[picked], faces_set.identity[found], np.nonzero(found)[0],
        int((~found).sum()), faces_set.excluded, faces.sharpness[picked], faces.brightness[picked],
        faces.face_width()[picked], faces.yaw[picked],
    )


def all_pairs(pop: Population, groups: np.ndarray | None = None, count: int = 1) -> PairCounts:
    return pair_stats.count_pairs(pop.embedding, pop.identity, pop.photo, excluded=pop.excluded,
                                  a_group=groups, groups=count)


def grid_counts(histogram: np.ndarray) -> list[int]:
    start, stop, step = GRID
    cosines = np.arange(start, stop + step / 2, step)
    return [int(v) for v in pair_stats.at_least(histogram)[pair_stats.cosine_bin(cosines + 1e-9)]]


def population_json(pop: Population, counts: PairCounts) -> dict[str, object]:
    return {
        "photos": int(len(pop.photo) + pop.missed),
        "missed": pop.missed,
        "identities": len(np.unique(pop.identity)),
        "genuine_pairs": int(counts.genuine.sum()),
        "impostor_pairs": int(counts.impostor.sum()),
        "genuine_at_least": grid_counts(counts.genuine[0]),
        "impostor_at_least": grid_counts(counts.impostor[0]),
    }


def derive_knots(impostor: np.ndarray, fit: pair_stats.TailFit) -> list[tuple[float, float, str]]:
    """(Similarity, cosine, 'measured'|'fit') for every KNOT_LEVELS entry."""
    total = impostor.sum()
    knots = []
    for level in KNOT_LEVELS:
        rate = fmr_of_similarity(level)
        if rate * total >= MIN_MEASURED:
            knots.append((level, round(pair_stats.cosine_at_rate(impostor, rate), 4), "measured"))
        else:
            knots.append((level, round(fit.cosine(rate), 4), "fit"))
    cosines = [c for _, c, _ in knots]
    assert all(np.diff(cosines) > 0), f"knots not increasing: {knots}"
    return knots


def rate_row(label: str, counts: PairCounts, cosine: float) -> str:
    fmr, n_imp = pair_stats.rate_at(counts.impostor.sum(0), cosine)
    tar, _ = pair_stats.rate_at(counts.genuine.sum(0), cosine)
    return f"{label:>22} {cosine:7.4f} {fmr:10.2e} {n_imp:9d} {100 * tar:8.2f}"


def print_rates(name: str, counts: PairCounts) -> None:
    print(f"\n{name}: {counts.genuine.sum():,} genuine, {counts.impostor.sum():,} impostor pairs")
    print(f"{'':>22} {'cosine':>7} {'FMR':>10} {'imp.pairs':>9} {'TAR %':>8}")
    for cosine in np.arange(0.20, 0.701, 0.02):
        print(rate_row("", counts, float(cosine)))


def terciles(values: np.ndarray, worse_is_low: bool) -> tuple[np.ndarray, list[str]]:
    """Group 0 = best third, 2 = worst third, and the groups' value ranges as labels."""
    low, high = np.percentile(values, [100 / 3, 200 / 3])
    group = np.digitize(values, [low, high])  # 0 = low third
    if worse_is_low:
        group = 2 - group
        labels = [f">= {high:.1f}", f"{low:.1f}-{high:.1f}", f"< {low:.1f}"]
    else:
        labels = [f"< {low:.1f}", f"{low:.1f}-{high:.1f}", f">= {high:.1f}"]
    return group.astype(np.int64), labels


def tail_summary(counts: PairCounts, group: int, cosines: dict[str, float]) -> dict[str, float | int]:
    impostor, genuine = counts.impostor[group], counts.genuine[group]
    row: dict[str, float | int] = {"impostor_pairs": int(impostor.sum()), "genuine_pairs": int(genuine.sum())}
    for level, cosine in cosines.items():
        row[f"fmr_{level}"] = pair_stats.rate_at(impostor, cosine)[0]
        row[f"tar_{level}"] = pair_stats.rate_at(genuine, cosine)[0]
    row["cosine_at_fmr_1e-4"] = pair_stats.cosine_at_rate(impostor, 1e-4)
    row["cosine_at_fmr_1e-5"] = pair_stats.cosine_at_rate(impostor, 1e-5)
    return row


def print_tail_rows(title: str, rows: dict[str, dict[str, float | int]], levels: list[str]) -> None:
    print(f"\n{title}")
    head = " ".join(f"{'FMR@' + lv:>9}" for lv in levels) + " " + " ".join(f"{'TAR@' + lv:>7}" for lv in levels)
    print(f"{'group':>26} {'imp.pairs':>10} {head} {'cos@1e-4':>8} {'cos@1e-5':>8}")
    for label, row in rows.items():
        if "impostor_pairs" not in row:
            print(f"{label:>26} (no probe left)")
            continue
        fmrs = " ".join(f"{row[f'fmr_{lv}']:9.2e}" for lv in levels)
        tars = " ".join(f"{100 * float(row[f'tar_{lv}']):7.2f}" for lv in levels)
        print(f"{label:>26} {row['impostor_pairs']:10,} {fmrs} {tars} "
              f"{row['cosine_at_fmr_1e-4']:8.4f} {row['cosine_at_fmr_1e-5']:8.4f}")


def quality_split(pop: Population, cosines: dict[str, float]) -> dict[str, dict[str, dict[str, float | int]]]:
    """LFW pairs grouped by the worse face's measurement (terciles over LFW's labelled faces)."""
    splits = {
        "sharpness": terciles(pop.sharpness, worse_is_low=True),
        "brightness": terciles(pop.brightness, worse_is_low=True),
        "face width px": terciles(pop.width, worse_is_low=True),
        "abs yaw deg": terciles(np.abs(pop.yaw), worse_is_low=False),
    }
    out: dict[str, dict[str, dict[str, float | int]]] = {}
    for name, (group, labels) in splits.items():
        counts = all_pairs(pop, group, 3)
        out[name] = {f"{name} {labels[g]}": tail_summary(counts, g, cosines) for g in range(3)}
        print_tail_rows(f"LFW pairs by the worse face's {name} (terciles)", out[name], list(cosines))
    return out


def passes(faces: PhotoFaces, rows: np.ndarray, level: str) -> np.ndarray:
    """The QualityFilter `level` bars (facesearch.vision.quality_filter) applied to cached faces."""
    bars = quality_filter.LEVELS[level]
    box = faces.box[rows]
    side = np.minimum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])
    confidence = np.array([detection_confidence(float(s)) for s in faces.score[rows]])
    low, high = bars.brightness_range
    sharp, bright = faces.sharpness[rows], faces.brightness[rows]
    ok = (side >= bars.min_side_px) & (confidence >= bars.min_confidence) & (sharp >= bars.min_sharpness)
    ok &= (bright >= low) & (bright <= high)
    ok &= (np.abs(faces.yaw[rows]) <= bars.max_yaw) & (np.abs(faces.pitch[rows]) <= bars.max_pitch)
    ok &= ~((sharp < bars.min_sharpness * 1.2) & (bright < low * 1.2))  # LOW_FACE_QUALITY
    return ok


def degraded_search(
    lfw_set: FaceSet, clean: PhotoFaces, gallery: Population, cosines: dict[str, float]
) -> dict[str, dict[str, float | int]]:
    """Degraded probes (every DEGRADED_STEP-th photo) against every clean labelled LFW face."""
    sub = lfw_set.subset(DEGRADED_STEP)
    sub_photo = np.arange(0, len(lfw_set.paths), DEGRADED_STEP)
    conditions: dict[str, PhotoFaces] = {"clean (same photos)": clean}
    for name in face_embeddings.DEGRADATIONS:
        conditions[name] = face_embeddings.embed_photos("lfw", sub.paths, degradation=name)
    out: dict[str, dict[str, float | int]] = {}
    for name, faces in conditions.items():
        if faces is clean:
            rows = clean.centre_face()[sub_photo]
        else:
            rows = faces.centre_face()
        found = rows >= 0
        probe_rows = rows[found]
        photos = sub_photo[found]
        for level in ("NONE", "MEDIUM", "HIGH"):
            keep = np.ones(len(probe_rows), bool) if level == "NONE" else passes(faces, probe_rows, level)
            if not keep.any():
                out[f"{name}, QualityFilter {level}"] = {"probes": 0, "missed": int((~found).sum())}
                continue
            counts = pair_stats.count_pairs(
                faces.embedding[probe_rows[keep]], lfw_set.identity[photos[keep]], photos[keep],
                gallery.embedding, gallery.identity, gallery.photo, excluded=lfw_set.excluded,
            )
            row = tail_summary(counts, 0, cosines)
            row.update({
                "probes": int(keep.sum()), "missed": int((~found).sum()),
                "median_face_width": float(np.median(faces.face_width()[probe_rows])),
                "median_sharpness": float(np.median(faces.sharpness[probe_rows])),
                "median_brightness": float(np.median(faces.brightness[probe_rows])),
            })
            out[f"{name}, QualityFilter {level}"] = row
    return out


def read_pairs_txt(lfw_dir: Path, lfw_set: FaceSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    stems = {p.stem: i for i, p in enumerate(lfw_set.paths)}
    lines = [line.split("\t") for line in (lfw_dir / "pairs.txt").read_text().splitlines()[1:] if line.strip()]
    left, right, same = [], [], []
    for row in lines:
        a_name, b_name = (row[0], row[0]) if len(row) == 3 else (row[0], row[2])
        a_num, b_num = (row[1], row[2]) if len(row) == 3 else (row[1], row[3])
        left.append(stems[f"{a_name}_{int(a_num):04d}"])
        right.append(stems[f"{b_name}_{int(b_num):04d}"])
        same.append(len(row) == 3)
    return np.array(left), np.array(right), np.array(same)


def compare_faces_cosines(faces: PhotoFaces, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """CompareFaces' best cosine per pair: the source's largest face against every target face.

    -inf where the source has no face (CompareFaces answers InvalidParameterException: not a match).
    """
    largest = faces.largest_face()
    out = np.full(len(left), -np.inf)
    for k, (a, b) in enumerate(zip(left, right, strict=True)):
        source = largest[a]
        targets = np.nonzero(faces.photo == b)[0]
        if source >= 0 and len(targets):
            out[k] = float(np.max(faces.embedding[targets] @ faces.embedding[source]))
    return out


def compare_faces_accuracy(best: np.ndarray, same: np.ndarray, cosine: float) -> dict[str, float]:
    matched = best >= cosine
    return {
        "cosine": cosine,
        "accuracy": float((matched == same).mean()),
        "same_matched": float(matched[same].mean()),
        "different_unmatched": float((~matched[~same]).mean()),
    }


def model_hashes() -> dict[str, str]:
    files = models.model_files(face_embeddings.VARIANT)
    return {kind: hashlib.sha256(path.read_bytes()).hexdigest()
            for kind, path in (("detector", files.detector), ("embedder", files.embedder))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true", help="do not rewrite bench/results/calibration.json")
    parser.add_argument("--workers", type=int, default=2, help="embedding worker processes (1 thread each)")
    args = parser.parse_args()
    shared = face_sets.shared_dir()
    if shared is None:
        print("SKIP: ../shared/faces (or $FACESEARCH_SHARED) not found; the calibration needs LFW")
        return 0
    started = time.perf_counter()
    lfw_set, studio_set = face_sets.lfw(shared), face_sets.studio(shared)
    lfw_faces = face_embeddings.embed_photos("lfw", lfw_set.paths, workers=args.workers)
    studio_faces = face_embeddings.embed_photos("studio", studio_set.paths, workers=args.workers)
    lfw, studio = labelled_faces(lfw_set, lfw_faces), labelled_faces(studio_set, studio_faces)
    print(f"LFW folds 1-5: {len(lfw_set.paths)} photos ({lfw.missed} without a face), "
          f"{len(np.unique(lfw.identity))} people after merging {len(face_sets.LFW_SAME_PERSON)} double names; "
          f"studio: {len(studio_set.paths)} photos ({studio.missed} without a face), "
          f"{len(np.unique(studio.identity))} people")

    lfw_counts, studio_counts = all_pairs(lfw), all_pairs(studio)
    print_rates("LFW all pairs (label errors cleaned)", lfw_counts)
    print_rates("Studio all pairs", studio_counts)
    print(f"  [pairs counted in {time.perf_counter() - started:.0f} s so far]")

    impostor = lfw_counts.impostor[0]
    fit = pair_stats.fit_tail(impostor, FIT_HIGH_FMR, FIT_MIN_PAIRS)
    print(f"\nimpostor tail fit: log10 FMR = {fit.intercept:.3f} + {fit.slope:.3f} * cosine over cosine "
          f"{fit.low:.4f}-{fit.high:.4f} (FMR {FIT_HIGH_FMR:g} down to {FIT_MIN_PAIRS} pairs), "
          f"rms residual {fit.rms:.3f} decades")
    faces_per_identity = np.bincount(lfw.identity, minlength=len(lfw_set.names))
    targets = tuple(fmr_of_similarity(level) for level in KNOT_LEVELS)
    boot = pair_stats.bootstrap_tail(lfw_counts, lfw.identity, lfw.identity, faces_per_identity, fit, targets,
                                     rounds=BOOTSTRAP_ROUNDS)
    p05, p95 = np.percentile(boot, [5, 95], axis=0)
    knots = derive_knots(impostor, fit)
    print("\nSimilarity curve by false-match rate (Similarity = 80 - 10 log10(FMR / 2e-6))")
    print(f"{'Sim':>4} {'target FMR':>10} {'cosine':>7} {'source':>8} {'fit cos':>7} {'90% (identity bootstrap)':>25} "
          f"{'meas. FMR':>10} {'pairs':>7} {'TAR LFW':>8} {'TAR studio':>10} {'old Sim':>7}")
    old_sim = np.interp([c for _, c, _ in knots], [c for c, _ in PREVIOUS_KNOTS], [s for _, s in PREVIOUS_KNOTS])
    for i, (level, cosine, source) in enumerate(knots):
        fmr, pairs = pair_stats.rate_at(impostor, cosine)
        tar = pair_stats.rate_at(lfw_counts.genuine[0], cosine)[0]
        tar_studio = pair_stats.rate_at(studio_counts.genuine[0], cosine)[0]
        fitted = (f"{fit.cosine(targets[i]):7.4f} {p05[i]:11.4f} - {p95[i]:.4f}" if source == "fit"
                  else f"{'-':>7} {'-':>20}")
        print(f"{level:4.0f} {targets[i]:10.1e} {cosine:7.4f} {source:>8} {fitted} "
              f"{fmr:10.2e} {pairs:7d} {100 * tar:8.2f} {100 * tar_studio:10.2f} {old_sim[i]:7.1f}")
    print(f"previous curve: Similarity 80 = cosine {previous_to_cosine(80):.3f}: FMR "
          f"{pair_stats.rate_at(impostor, previous_to_cosine(80))[0]:.2e}, "
          f"TAR {100 * pair_stats.rate_at(lfw_counts.genuine[0], previous_to_cosine(80))[0]:.2f} %")
    top = np.argsort(-lfw_counts.tail_cosine)[:8]
    stems = [lfw_set.paths[photo].stem for photo in lfw.photo]  # per labelled LFW face
    print("highest impostor pairs left after cleaning: " + ", ".join(
        f"{stems[lfw_counts.tail_left[k]]}~{stems[lfw_counts.tail_right[k]]} {lfw_counts.tail_cosine[k]:.3f}"
        for k in top))

    cosine_of = {f"{level:.0f}": c for level, c, _ in knots if level in (50.0, 70.0, 80.0)}
    quality = quality_split(lfw, cosine_of)
    degraded = degraded_search(lfw_set, lfw_faces, lfw, cosine_of)
    print_tail_rows(f"Degraded LFW probes (every {DEGRADED_STEP}th photo) against all clean LFW faces "
                    "(median face width / Sharpness / Brightness after each name)",
                    {f"{k} [{v['median_face_width']:.0f}px {v['median_sharpness']:.0f} "
                     f"{v['median_brightness']:.0f}] n={v['probes']}" if v["probes"] else k: v
                     for k, v in degraded.items()},
                    list(cosine_of))

    left, right, same = read_pairs_txt(shared / "faces" / "lfw", lfw_set)
    best = compare_faces_cosines(lfw_faces, left, right)
    new_cosine = {level: cosine for level, cosine, _ in knots}
    compare = {"previous 80": compare_faces_accuracy(best, same, previous_to_cosine(80))}
    for level in (50.0, 70.0, 80.0, 90.0, 99.0):
        compare[f"new {level:.0f}"] = compare_faces_accuracy(best, same, new_cosine[level])
    print("\nCompareFaces on the 3,000 LFW pairs of pairs.txt (largest source face vs every target face)")
    for name, row in compare.items():
        print(f"  {name:>11}: cosine {row['cosine']:.4f}  accuracy {100 * row['accuracy']:.2f} %  "
              f"same matched {100 * row['same_matched']:.2f} %  different unmatched "
              f"{100 * row['different_unmatched']:.2f} %")

    results = {
        "generated_by": "bench/calibration.py",
        "models": model_hashes(),
        "curve": {
            "fmr_at_80": FMR_AT_80,
            "points_per_decade": POINTS_PER_DECADE,
            "min_measured_pairs": MIN_MEASURED,
            "knots": [{"similarity": s, "cosine": c, "source": src} for s, c, src in knots],
            "previous_knots": [list(k) for k in PREVIOUS_KNOTS],
        },
        "fit": {
            "intercept": fit.intercept, "slope": fit.slope, "cosine_low": fit.low, "cosine_high": fit.high,
            "rms_decades": fit.rms, "bootstrap_rounds": BOOTSTRAP_ROUNDS,
            "cosine_p05": {f"{lv:.0f}": float(p05[i]) for i, (lv, _, src) in enumerate(knots) if src == "fit"},
            "cosine_p95": {f"{lv:.0f}": float(p95[i]) for i, (lv, _, src) in enumerate(knots) if src == "fit"},
        },
        "grid": {"start": GRID[0], "stop": GRID[1], "step": GRID[2]},
        "populations": {"lfw": population_json(lfw, lfw_counts), "studio": population_json(studio, studio_counts)},
        "quality": {"pairs_by_worse_face": quality, "degraded_probes": degraded},
        "compare_faces": compare,
    }
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        print(f"\nwrote {RESULTS.relative_to(REPO)}")
    print("\n" + similarity_table.render(results))
    current = [(float(c), float(s)) for c, s in zip(similarity._KNOTS_COS, similarity._KNOTS_SIM, strict=True)]
    wanted = [(-1.0, 0.0), *((c, s) for s, c, _ in knots), (1.0, 100.0)]
    if not np.allclose(current, wanted, atol=1e-4):
        print(f"\nNOTE: facesearch/similarity.py's knots {current} differ from these {wanted}")
    print(f"\ndone in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
