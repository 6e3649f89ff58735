"""What a search costs on AWS at 1M and 20M faces, from parts measured in this run, next to Rekognition.

    .venv/bin/python -m bench.cost                    # ~1 min: measures, then prints the table
    .venv/bin/python -m bench.cost --memory-mb 1769 --slice-rows 1000000

Measured here (median of --rounds, one thread, as one Lambda vCPU): a warm SearchFacesByImage's own work
for a one-face 1024 px photo (decode + detect + align + embed: the face pipeline) and the compact-shard scan
of 1M faces. Everything else is a stated parameter: AWS's published us-east-1 list prices (as of 2025; check
the current price pages) and the per-search DynamoDB reads (the META item, then one strongly consistent read
per candidate face item; see --candidates). Lambda's arm64 speed is not measured here (an x86 box): the
durations are taken as is. A benchmark: it prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from bench.common import cli, models
from bench.common.sets import REPO
from facesearch.index import quantized
from facesearch.vision.image_decoder import decode_image

PHOTO = REPO / "tests" / "fixtures" / "faces" / "london_021_neutral.jpg"
MILLION = 1_000_000


@dataclass(frozen=True)
class Prices:
    """us-east-1 list prices, 2025 (aws.amazon.com/lambda, /dynamodb, /s3, /rekognition pricing pages)."""

    lambda_gb_second: float = 0.0000133334  # arm64
    lambda_request: float = 0.20 / MILLION
    dynamodb_read_unit: float = 0.125 / MILLION  # on-demand read request unit
    dynamodb_gb_month: float = 0.25
    s3_gb_month: float = 0.023
    s3_get: float = 0.0004 / 1000
    rekognition_image: float = 1.00 / 1000  # face search APIs, first 1M images a month
    rekognition_face_month: float = 0.01 / 1000  # face metadata storage


def photo_1024() -> bytes:
    image = Image.open(PHOTO).convert("RGB").resize((1024, 1024))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def median_ms(call: Callable[[], object], rounds: int) -> float:
    """The median CPU time of the process (every thread), in ms."""
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        call()
        samples.append(1000 * (time.process_time() - start))
    return statistics.median(samples)


def measure(rounds: int) -> tuple[float, float]:
    """(pipeline ms, 1M-face compact scan ms) of CPU time, one thread."""
    raw = photo_1024()
    pipeline = models.pipeline(1)
    pipeline.analyze(decode_image(raw))
    pipeline_ms = median_ms(lambda: pipeline.analyze(decode_image(raw)), rounds)
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((MILLION, 128), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    ids = [f"{i:08x}-0000-4000-8000-000000000000" for i in range(MILLION)]
    shard = quantized.quantize(ids, rows)
    del rows
    query = shard.codes[0].astype(np.float32) - 128
    query /= np.linalg.norm(query)
    scan_ms = median_ms(lambda: quantized.candidates(shard, query, 80, 0.5), rounds)
    return pipeline_ms, scan_ms


def table(pipeline_ms: float, scan_ms: float, args: argparse.Namespace, prices: Prices) -> str:
    gb = args.memory_mb / 1024
    lines = ["| | 1M faces | 20M faces |", "|---|---|---|"]
    rows: dict[str, list[str]] = {}
    for faces in (MILLION, 20 * MILLION):
        slices = 1 if faces <= args.slice_rows else -(-faces // args.slice_rows)
        scan_here = scan_ms * faces / MILLION if slices == 1 else 0.0
        slice_ms = scan_ms * min(faces, args.slice_rows) / MILLION + args.slice_overhead_ms
        main_ms = pipeline_ms + args.dynamodb_ms + (scan_here if slices == 1 else slice_ms + args.invoke_ms)
        compute = (main_ms / 1000 * gb + (slices if slices > 1 else 0) * slice_ms / 1000 * gb) * prices.lambda_gb_second
        requests = (1 + (slices if slices > 1 else 0)) * prices.lambda_request
        reads = (1 + args.candidates) * prices.dynamodb_read_unit
        per_1000 = 1000 * (compute + requests + reads)
        item_gb, shard_gb = faces * args.item_bytes / 1e9, faces * 148 / 1e9
        storage = item_gb * prices.dynamodb_gb_month + shard_gb * prices.s3_gb_month
        rows.setdefault("Lambda invocations per search", []).append(f"{1 + (slices if slices > 1 else 0)}")
        rows.setdefault("billed ms per search (all invocations)", []).append(
            f"{main_ms + (slices if slices > 1 else 0) * slice_ms:.0f}")
        rows.setdefault("**per 1,000 searches** (Lambda + DynamoDB reads)", []).append(f"**${per_1000:.3f}**")
        rows.setdefault("Rekognition per 1,000 searches", []).append(f"${1000 * prices.rekognition_image:.2f}")
        rows.setdefault("storage per month (DynamoDB items + S3 shards)", []).append(f"${storage:.2f}")
        rekognition_storage = faces * prices.rekognition_face_month
        rows.setdefault("Rekognition face storage per month", []).append(f"${rekognition_storage:,.0f}")
        monthly = storage + args.searches_per_month / 1000 * per_1000
        rekognition = faces * prices.rekognition_face_month + args.searches_per_month * prices.rekognition_image
        rows.setdefault(f"**per month with {args.searches_per_month:,} searches**", []).append(
            f"**${monthly:,.2f}** (Rekognition ${rekognition:,.0f})")
    lines += [f"| {label} | {' | '.join(values)} |" for label, values in rows.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--memory-mb", type=int, default=2048, help="the function's memory (template default)")
    parser.add_argument("--slice-rows", type=int, default=MILLION, help="FanOutRows: rows one invocation scans")
    parser.add_argument("--slice-overhead-ms", type=float, default=5.0, help="a slice's own billed overhead")
    parser.add_argument("--invoke-ms", type=float, default=15.0, help="p50 of a synchronous self-invoke (assumed)")
    parser.add_argument("--dynamodb-ms", type=float, default=10.0, help="GetItem + BatchGetItem (assumed)")
    parser.add_argument("--candidates", type=int, default=10, help="face items read per search")
    parser.add_argument("--item-bytes", type=int, default=900, help="a face item's size (embedding 512 B)")
    parser.add_argument("--searches-per-month", type=int, default=MILLION)
    parser.add_argument("--write", action="store_true", help="also put the table into README.md's cost section")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    pipeline_ms, scan_ms = measure(args.rounds)
    print(f"measured (CPU ms, median of {args.rounds}, load average {os.getloadavg()[0]:.1f}): face pipeline on a "
          f"1024 px photo {pipeline_ms:.1f}, compact scan of 1M faces {scan_ms:.1f}")
    print(f"parameters: {args.memory_mb} MB, slices of {args.slice_rows:,} rows, invoke {args.invoke_ms} ms, "
          f"DynamoDB {args.dynamodb_ms} ms and {1 + args.candidates} read units a search\n")
    rendered = table(pipeline_ms, scan_ms, args, Prices())
    print(rendered)
    if args.write:
        note = (f"Measured by `python -m bench.cost` (load average {os.getloadavg()[0]:.1f}): face pipeline "
                f"{pipeline_ms:.0f} ms, compact scan of 1M faces {scan_ms:.0f} ms of CPU.")
        write_readme(f"{rendered}\n\n{note}")
    return 0


def write_readme(text: str) -> None:
    readme = REPO / "README.md"
    content = readme.read_text()
    start, end = "<!-- cost-table:start -->\n", "<!-- cost-table:end -->"
    head, rest = content.split(start, 1)
    readme.write_text(head + start + text + "\n" + end + rest.split(end, 1)[1])


if __name__ == "__main__":
    raise SystemExit(main())
