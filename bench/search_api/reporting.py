"""The bench's printed tables and its JSON: what was measured, formatted, and nothing measured here."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from bench.common import models
from bench.common.tables import LATENCY_HEADER, boxed, latency_row, single_row
from bench.common.timing import pct, share
from bench.search_api.gallery import GalleryStats
from bench.search_api.large import LargeRun
from bench.search_api.padding import layout
from bench.search_api.probes import ProbeStats
from facesearch.index.shards import MAX_SHARD_ROWS
from facesearch.vision import onnx


@dataclass(frozen=True)
class Results:
    url: str
    gallery: GalleryStats
    small_faces: int  # FaceCount of the LFW collection
    first_search: float
    probes: ProbeStats
    large: LargeRun | None
    parts: list[list[object]]  # the breakdown's rows
    transactions: list[tuple[str, int, int, float]]  # (when, repeats, items in the table, median seconds)


@dataclass(frozen=True)
class RunInfo:
    command: str
    models: dict[str, str]  # at the start
    models_end: dict[str, str]
    wall_seconds: float
    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float]


def model_digests() -> dict[str, str]:
    """sha256 prefixes of the int8 model files the server will load (they may be rebuilt meanwhile)."""
    try:
        return {name: digest[:12] for name, digest in models.digests().items()}
    except onnx.ModelsNotFoundError as error:
        return {"error": str(error)}


def accuracy_table(r: Results) -> str:
    g, s = r.gallery, r.probes.summary()
    n = s["probes"]
    title = f"LFW through the API ({r.url}): gallery = first photo of each person with >= 2 photos"
    return boxed(title, ["", "value"], [
        ["people (gallery photos)", g.photos],
        ["gallery faces kept (centre face of the photo)", f"{g.indexed} (FaceCount {r.small_faces})"],
        ["gallery photos with > 1 face indexed", g.multi_face],
        ["  of which the largest face is not the centre one (MaxFaces=1 would enrol the wrong face)",
         g.largest_not_centre],
        ["gallery photos whose centre face QualityFilter AUTO dropped", g.centre_filtered],
        ["gallery photos with no face", g.no_face],
        ["probes (the other photos)", n],
        ["probes with no face found", s["no_face"]],
        ["probes whose searched (largest) face is off-centre", s["off_centre"]],
        ["rank-1, photo as is (largest face)", share(s["rank1"], n)],
        ["rank-1, off-centre probes cropped to the centre face", share(s["rank1_centre"], n)],
        ["true mate among the top 5", share(s["mate_in_top5"], n)],
        ["true mate at Similarity >= 80", share(s["mate_at"], n)],
        ["top match correct and >= 80 (as is)", share(s["correct_at"], n)],
        ["top match WRONG and >= 80 (as is: false match)", share(s["wrong_at"], n)],
        ["top match correct and >= 80 (centre crop)", share(s["correct_at_centre"], n)],
        ["top match WRONG and >= 80 (centre crop)", share(s["wrong_at_centre"], n)],
    ])


def _large_latency_rows(large: LargeRun, small_faces: int) -> list[list[object]]:
    n = f"{large.faces:,}"
    return [
        latency_row("IndexFaces, real faces of the large collection (before padding)", large.gallery.index_latency),
        latency_row(f"IndexFaces at {large.padded_faces:,} faces (MaxFaces 1)", large.index_late),
        single_row(f"SearchFacesByImage {large.padded_faces:,} faces, COLD (shards from S3)", large.cold),
        latency_row("  same photo again, warm", large.warm),
        latency_row(f"SearchFacesByImage, {small_faces:,} faces (interleaved, MaxFaces 5, thr 0)",
                    [p.seconds for p in large.small]),
        latency_row(f"SearchFacesByImage, {n} faces (interleaved, MaxFaces 5, thr 0)",
                    [p.seconds for p in large.large]),
        latency_row(f"SearchFacesByImage, {small_faces:,} faces (defaults: MaxFaces 80, thr 80)", large.default_small),
        latency_row(f"SearchFacesByImage, {n} faces (defaults: MaxFaces 80, thr 80)", large.default_large),
    ]


def latency_table(r: Results) -> str:
    latency = r.gallery.index_latency
    rows = [
        latency_row(f"IndexFaces, {r.small_faces:,}-face collection", latency),
        latency_row("  first 100 of them", latency[:100]),
        latency_row("  last 100 of them", latency[-100:]),
        latency_row("SearchFacesByImage (MaxFaces 5, threshold 0), all probes", [p.seconds for p in r.probes.results]),
        single_row("  first search of the run", r.first_search),
    ]
    if r.large:
        rows += _large_latency_rows(r.large, r.small_faces)
    return boxed("Latency (one request at a time)", LATENCY_HEADER, rows)


def large_table(large: LargeRun) -> str:
    padding = large.padding
    agree = sum(a.top == b.top for a, b in zip(large.small, large.large, strict=True))
    right = sum(p.correct for p in large.large)
    return boxed(f"The {large.faces:,}-face collection", ["", "value"], [
        ["synthetic faces (random unit vectors, rng 0)", f"{padding.faces:,}"],
        [f"shards the bulk load wrote (EmbeddingIndex.bulk_load: up to {MAX_SHARD_ROWS:,} rows each)",
         layout(padding.loaded)],
        ["all segment objects after the padding (META SegmentRefs)", layout(padding.segments)],
        ["bulk load: shards to S3, face items by BatchWriteItem (25 a call), META update",
         f"{padding.seconds:.1f} s, {padding.batch_calls} calls"],
        ["real faces indexed before the padding (API)", large.gallery.indexed],
        ["real faces indexed after the padding (API, MaxFaces 1)", len(large.index_late)],
        ["latency probes: rank-1 at 100k", share(right, len(large.large))],
        ["latency probes: same top match at 1k and 100k", share(agree, len(large.large))],
    ])


def breakdown_table(r: Results) -> str:
    rows = list(r.parts)
    for when, repeats, items, seconds in r.transactions:
        rows.append([f"moto TransactWriteItems, 1 action, {when} ({items:,} items in the table)", repeats,
                     f"{1000 * seconds:.1f}", ""])
    return boxed("Where a SearchFacesByImage's time goes (measured in the bench process, same photos)",
                 ["part", "n", "p50 ms", "p95 ms"], rows)


def footer(info: RunInfo) -> str:
    lines = []
    if info.models_end != info.models:
        lines.append(f"WARNING: the model files changed during the run (now {info.models_end}); the server kept "
                     "the ones it loaded first, the breakdown used the new ones")
    lines += [f"command: {info.command}",
              f"models (int8, at start): {', '.join(f'{k} {v}' for k, v in info.models.items())}",
              f"wall time: {info.wall_seconds / 60:.1f} min; load average (1/5/15 min) at start "
              f"{'/'.join(f'{v:.1f}' for v in info.load_start)}, at end {'/'.join(f'{v:.1f}' for v in info.load_end)}, "
              f"{os.cpu_count()} CPUs"]
    return "\n".join(lines)


def render(r: Results, info: RunInfo) -> str:
    parts = [accuracy_table(r), latency_table(r)]
    if r.large:
        parts.append(large_table(r.large))
    return "\n\n".join([*parts, breakdown_table(r), footer(info)])


def to_json(r: Results, info: RunInfo) -> dict[str, Any]:
    """The headline numbers and every probe's outcome, for comparing runs."""
    stats = r.probes
    report: dict[str, Any] = {
        "command": info.command, "models": info.models, "summary": stats.summary(), "wall_seconds": info.wall_seconds,
        "gallery": {k: v for k, v in vars(r.gallery).items() if k != "index_latency"},
        "index_p50": pct(r.gallery.index_latency, 50), "search_p50": pct([p.seconds for p in stats.results], 50),
    }
    if r.large:
        report.update(search_p50_interleaved_small=pct([p.seconds for p in r.large.small], 50),
                      search_p50_interleaved_large=pct([p.seconds for p in r.large.large], 50),
                      search_cold_large=r.large.cold, faces_large=r.large.faces)
    report["probes"] = [
        {"person": p.probe.person, "photo": p.probe.path.name, "top": p.top,
         "top_similarity": round(p.top_similarity, 3), "mate_similarity": p.mate_similarity,
         "off_centre": p.off_centre, "error": p.error, "ms": round(1000 * p.seconds, 1),
         "centre_crop_top": stats.recropped[i].top if i in stats.recropped else None}
        for i, p in enumerate(stats.results)
    ]
    return report
