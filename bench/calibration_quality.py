"""Does the quality of a photo change what Similarity means? For bench/calibration.py, from its cached faces.

1. LFW pairs split into thirds by the worse face's Sharpness, Brightness, face width or |yaw|: the
   false-match and true-match rates at Similarity 50/70/80 in each third.
2. Degraded copies of every DEGRADED_STEP-th LFW photo (small, blurred, dark: bench/common/embeddings.py)
   searched against every clean labelled LFW face, with and without the QualityFilter bars
   (facesearch.vision.quality_filter) applied to the probes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench import pair_stats
from bench.common import embeddings
from bench.common.embeddings import PhotoFaces
from bench.common.sets import FaceSet
from bench.pair_stats import PairCounts
from facesearch.vision import quality_filter
from facesearch.vision.pipeline import detection_confidence

DEGRADED_STEP = 5  # every 5th LFW photo is degraded (1,233 probes against all 6,162 clean faces)
Row = dict[str, float | int]


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


def tail_summary(counts: PairCounts, group: int, cosines: dict[str, float]) -> Row:
    impostor, genuine = counts.impostor[group], counts.genuine[group]
    row: Row = {"impostor_pairs": int(impostor.sum()), "genuine_pairs": int(genuine.sum())}
    for level, cosine in cosines.items():
        row[f"fmr_{level}"] = pair_stats.rate_at(impostor, cosine)[0]
        row[f"tar_{level}"] = pair_stats.rate_at(genuine, cosine)[0]
    row["cosine_at_fmr_1e-4"] = pair_stats.cosine_at_rate(impostor, 1e-4)
    row["cosine_at_fmr_1e-5"] = pair_stats.cosine_at_rate(impostor, 1e-5)
    return row


def print_tail_rows(title: str, rows: dict[str, Row], levels: list[str]) -> None:
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


def quality_split(pop: Population, cosines: dict[str, float]) -> dict[str, dict[str, Row]]:
    """LFW pairs grouped by the worse face's measurement (terciles over LFW's labelled faces)."""
    splits = {
        "sharpness": terciles(pop.sharpness, worse_is_low=True),
        "brightness": terciles(pop.brightness, worse_is_low=True),
        "face width px": terciles(pop.width, worse_is_low=True),
        "abs yaw deg": terciles(np.abs(pop.yaw), worse_is_low=False),
    }
    out: dict[str, dict[str, Row]] = {}
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
    return np.asarray(ok)


def degraded_search(
    lfw_set: FaceSet, clean: PhotoFaces, gallery: Population, cosines: dict[str, float]
) -> dict[str, Row]:
    """Degraded probes (every DEGRADED_STEP-th photo) against every clean labelled LFW face."""
    sub = lfw_set.subset(DEGRADED_STEP)
    sub_photo = np.arange(0, len(lfw_set.paths), DEGRADED_STEP)
    conditions: dict[str, PhotoFaces] = {"clean (same photos)": clean}
    for name in embeddings.DEGRADATIONS:
        conditions[name] = embeddings.embed_photos("lfw", sub.paths, degradation=name)
    out: dict[str, Row] = {}
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




def print_degraded(degraded: dict[str, Row], levels: list[str]) -> None:
    print_tail_rows(f"Degraded LFW probes (every {DEGRADED_STEP}th photo) against all clean LFW faces "
                    "(median face width / Sharpness / Brightness after each name)",
                    {f"{k} [{v['median_face_width']:.0f}px {v['median_sharpness']:.0f} "
                     f"{v['median_brightness']:.0f}] n={v['probes']}" if v["probes"] else k: v
                     for k, v in degraded.items()}, levels)
