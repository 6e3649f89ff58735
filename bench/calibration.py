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

What it runs, with the shipped int8 pipeline (bench/common/embeddings.py, cached in .cache/bench/):
1. LFW folds 1-5 (labelled face = the one nearest the centre; label errors cleaned, bench/common/sets.py)
   and the studio sets (London neutral/smiling, canada, lisa, zoom): every pair, FMR and TAR per cosine.
2. The Similarity curve derived from it, against today's curve.
3. Quality dependence (bench/calibration_quality.py): LFW pairs split by the worse face's Sharpness /
   Brightness / size / yaw, and LFW photos degraded (downscaled to ~45 px faces, blurred, darkened)
   searched against the clean photos, with and without the QualityFilter bars.
4. CompareFaces on the 3,000 pairs of pairs.txt (largest source face vs every target face) at
   Similarity 80 under the previous curve and under the new one.
Needs ../shared (or $FACESEARCH_SHARED); exits 0 with a SKIP line without it. Never copies LFW.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import calibration_quality, pair_stats, similarity_table
from bench.calibration_quality import Population, all_pairs, labelled_faces
from bench.common import cli, embeddings, models, sets
from bench.common.embeddings import PhotoFaces
from bench.pair_stats import PairCounts, TailFit
from facesearch.vision import similarity

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


def fmr_of_similarity(level: float) -> float:
    """The false-match rate per comparison that Similarity `level` stands for."""
    return FMR_AT_80 * 10 ** ((80.0 - level) / POINTS_PER_DECADE)


def previous_to_cosine(level: float) -> float:
    cos, sim = zip(*PREVIOUS_KNOTS, strict=True)
    return float(np.interp(level, sim, cos))


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




def curve(lfw: Population, people: int, lfw_counts: PairCounts, studio_counts: PairCounts
          ) -> tuple[TailFit, list[tuple[float, float, str]], np.ndarray, np.ndarray]:
    """The impostor-tail fit, the knots and their bootstrap interval (identities resampled among `people`),
    printed as README's table."""
    impostor = lfw_counts.impostor[0]
    fit = pair_stats.fit_tail(impostor, FIT_HIGH_FMR, FIT_MIN_PAIRS)
    print(f"\nimpostor tail fit: log10 FMR = {fit.intercept:.3f} + {fit.slope:.3f} * cosine over cosine "
          f"{fit.low:.4f}-{fit.high:.4f} (FMR {FIT_HIGH_FMR:g} down to {FIT_MIN_PAIRS} pairs), "
          f"rms residual {fit.rms:.3f} decades")
    targets = tuple(fmr_of_similarity(level) for level in KNOT_LEVELS)
    faces_per_identity = np.bincount(lfw.identity, minlength=people)
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
    previous = previous_to_cosine(80)
    print(f"previous curve: Similarity 80 = cosine {previous:.3f}: FMR "
          f"{pair_stats.rate_at(impostor, previous)[0]:.2e}, "
          f"TAR {100 * pair_stats.rate_at(lfw_counts.genuine[0], previous)[0]:.2f} %")
    return fit, knots, p05, p95


def highest_impostors(lfw_set: sets.FaceSet, lfw: Population, counts: PairCounts, count: int = 8) -> str:
    stems = [lfw_set.paths[photo].stem for photo in lfw.photo]  # per labelled LFW face
    return "highest impostor pairs left after cleaning: " + ", ".join(
        f"{stems[counts.tail_left[k]]}~{stems[counts.tail_right[k]]} {counts.tail_cosine[k]:.3f}"
        for k in np.argsort(-counts.tail_cosine)[:count])


def compare_faces(shared: Path, lfw_set: sets.FaceSet, faces: PhotoFaces, knots: list[tuple[float, float, str]]
                  ) -> dict[str, dict[str, float]]:
    """CompareFaces' decision on the pairs of pairs.txt under the previous curve's 80 and the new levels."""
    index = {p.stem: i for i, p in enumerate(lfw_set.paths)}
    pairs = sets.lfw_pairs(shared / "faces" / "lfw")
    left, right = np.array([index[p.left] for p in pairs]), np.array([index[p.right] for p in pairs])
    best, same = compare_faces_cosines(faces, left, right), np.array([p.same for p in pairs])
    new_cosine = {level: cosine for level, cosine, _ in knots}
    compare = {"previous 80": compare_faces_accuracy(best, same, previous_to_cosine(80))}
    for level in (50.0, 70.0, 80.0, 90.0, 99.0):
        compare[f"new {level:.0f}"] = compare_faces_accuracy(best, same, new_cosine[level])
    print(f"\nCompareFaces on the {len(pairs):,} LFW pairs of pairs.txt (largest source face vs every target face)")
    for name, row in compare.items():
        print(f"  {name:>11}: cosine {row['cosine']:.4f}  accuracy {100 * row['accuracy']:.2f} %  "
              f"same matched {100 * row['same_matched']:.2f} %  different unmatched "
              f"{100 * row['different_unmatched']:.2f} %")
    return compare


def results_json(fit: TailFit, knots: list[tuple[float, float, str]], p05: np.ndarray, p95: np.ndarray,
                 populations: dict[str, Any], quality: dict[str, Any], compare: dict[str, dict[str, float]]
                 ) -> dict[str, Any]:
    fitted = [(i, level) for i, (level, _, source) in enumerate(knots) if source == "fit"]
    return {
        "generated_by": "bench/calibration.py",
        "models": dict(zip(("detector", "embedder"), models.digests().values(), strict=True)),
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
            "cosine_p05": {f"{level:.0f}": float(p05[i]) for i, level in fitted},
            "cosine_p95": {f"{level:.0f}": float(p95[i]) for i, level in fitted},
        },
        "grid": {"start": GRID[0], "stop": GRID[1], "step": GRID[2]},
        "populations": populations,
        "quality": quality,
        "compare_faces": compare,
    }


def check_curve(knots: list[tuple[float, float, str]]) -> None:
    current = [(float(c), float(s)) for c, s in zip(similarity._KNOTS_COS, similarity._KNOTS_SIM, strict=True)]
    wanted = [(-1.0, 0.0), *((c, s) for s, c, _ in knots), (1.0, 100.0)]
    if not np.allclose(current, wanted, atol=1e-4):
        print(f"\nNOTE: facesearch/similarity.py's knots {current} differ from these {wanted}")


def main() -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--no-write", action="store_true", help="do not rewrite bench/results/calibration.json")
    parser.add_argument("--workers", type=int, default=2, help="embedding worker processes (1 thread each)")
    args = parser.parse_args()
    if (shared := sets.shared_or_skip("faces/lfw/pairs.txt", "the calibration")) is None:
        return 0
    started = time.perf_counter()
    lfw_set, studio_set = sets.lfw(shared), sets.studio(shared)
    lfw_faces = embeddings.embed_photos("lfw", lfw_set.paths, workers=args.workers)
    studio_faces = embeddings.embed_photos("studio", studio_set.paths, workers=args.workers)
    lfw, studio = labelled_faces(lfw_set, lfw_faces), labelled_faces(studio_set, studio_faces)
    print(f"LFW folds 1-5: {len(lfw_set.paths)} photos ({lfw.missed} without a face), "
          f"{len(np.unique(lfw.identity))} people after merging {len(sets.LFW_SAME_PERSON)} double names; "
          f"studio: {len(studio_set.paths)} photos ({studio.missed} without a face), "
          f"{len(np.unique(studio.identity))} people")
    lfw_counts, studio_counts = all_pairs(lfw), all_pairs(studio)
    print_rates("LFW all pairs (label errors cleaned)", lfw_counts)
    print_rates("Studio all pairs", studio_counts)
    print(f"  [pairs counted in {time.perf_counter() - started:.0f} s so far]")
    fit, knots, p05, p95 = curve(lfw, len(lfw_set.names), lfw_counts, studio_counts)
    print(highest_impostors(lfw_set, lfw, lfw_counts))
    cosine_of = {f"{level:.0f}": c for level, c, _ in knots if level in (50.0, 70.0, 80.0)}
    quality = calibration_quality.quality_split(lfw, cosine_of)
    degraded = calibration_quality.degraded_search(lfw_set, lfw_faces, lfw, cosine_of)
    calibration_quality.print_degraded(degraded, list(cosine_of))
    compare = compare_faces(shared, lfw_set, lfw_faces, knots)
    populations = {"lfw": population_json(lfw, lfw_counts), "studio": population_json(studio, studio_counts)}
    results = results_json(fit, knots, p05, p95, populations, {"pairs_by_worse_face": quality,
                                                                "degraded_probes": degraded}, compare)
    if not args.no_write:
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        print(f"\nwrote {RESULTS.relative_to(sets.REPO)}")
    print("\n" + similarity_table.render(results))
    check_curve(knots)
    print(f"\ndone in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
