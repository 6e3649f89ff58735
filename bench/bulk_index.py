"""`facesearch index` against a plain one-at-a-time boto3 loop, in the same run, on 1,000 shared photos.

The photos are LFW's (read in place: the folder handed to the command holds symlinks in a temporary
directory, never copies). Each round indexes all of them twice into fresh collections, once with the command
(its installed entry point, N workers, progress bar to a log) and once with the loop, the order alternating
round by round. Then the command runs again on the same folder and state (nothing to do), and once more with
a fresh state file (the service's own same-image dedupe answers every request, nothing is stored).

    .venv/bin/python -m bench.bulk_index [--photos 1000] [--workers 8] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import data, report, server
from facesearch_cli.external_id import external_image_id


def photo_folder(photos: list[Path], root: Path) -> Path:
    folder = root / "photos"
    for path in photos:
        link = folder / path.parent.name / path.name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(path)
    return folder


def command() -> list[str]:
    installed = Path(sys.executable).parent / "facesearch"
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "facesearch_cli"]


def run_command(endpoint: server.Endpoint, folder: Path, collection: str, state: Path, workers: int,
                log: Path) -> tuple[float, str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": endpoint.key_id, "AWS_SECRET_ACCESS_KEY": endpoint.secret,
           "AWS_DEFAULT_REGION": endpoint.region, "AWS_ENDPOINT_URL": endpoint.url}
    started = time.perf_counter()
    with log.open("a") as progress:
        done = subprocess.run([*command(), "index", str(folder), "--collection", collection, "--create",
                               "--workers", str(workers), "--state", str(state)], env=env, stdout=subprocess.PIPE,
                              stderr=progress, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"facesearch index failed ({done.returncode}): {done.stdout}; see {log}")
    return seconds, done.stdout.strip().splitlines()[0]


def run_loop(rekognition: Any, folder: Path, collection: str, photos: list[Path]) -> float:
    """What users write without the command: one IndexFaces after the other."""
    rekognition.create_collection(CollectionId=collection)
    started = time.perf_counter()
    for path in photos:
        relative = f"{path.parent.name}/{path.name}"
        rekognition.index_faces(CollectionId=collection, Image={"Bytes": (folder / relative).read_bytes()},
                                ExternalImageId=external_image_id(relative))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    lfw = data.lfw_dir(data.shared_dir())
    if lfw is None:
        print("SKIP: the shared LFW photos are missing (set FACESEARCH_SHARED)")
        return 0
    photos = data.lfw_photos(lfw)[: args.photos]
    endpoint = server.start_server(startup_timeout=120)
    scratch = Path(tempfile.mkdtemp(prefix="facesearch-bulk-"))
    log = scratch / "progress.log"
    try:
        folder = photo_folder(photos, scratch)
        rekognition = server.rekognition(endpoint)
        rekognition.detect_faces(Image={"Bytes": photos[0].read_bytes()})  # load the models before timing
        command_s: list[float] = []
        loop_s: list[float] = []
        summaries = []
        for round_ in range(args.rounds):
            for method in (("command", "loop") if round_ % 2 == 0 else ("loop", "command")):
                if method == "command":
                    seconds, summary = run_command(endpoint, folder, f"bulk-cmd-{round_}", scratch / f"s{round_}",
                                                   args.workers, log)
                    command_s.append(seconds)
                    summaries.append(summary)
                else:
                    loop_s.append(run_loop(rekognition, folder, f"bulk-loop-{round_}", photos))
                report.log(f"round {round_ + 1}: {method} done")
        again, again_summary = run_command(endpoint, folder, "bulk-cmd-0", scratch / "s0", args.workers, log)
        fresh, fresh_summary = run_command(endpoint, folder, "bulk-cmd-0", scratch / "fresh", args.workers, log)
        counts = {name: rekognition.describe_collection(CollectionId=name)["FaceCount"]
                  for name in ("bulk-cmd-0", "bulk-loop-0")}
    finally:
        endpoint.stop()
    n = len(photos)
    rows = [[f"facesearch index ({args.workers} workers)", f"{statistics.median(command_s):.1f}",
             f"{n / statistics.median(command_s):.1f}"],
            ["boto3 loop, one at a time", f"{statistics.median(loop_s):.1f}", f"{n / statistics.median(loop_s):.1f}"],
            ["second run, same state (nothing to do)", f"{again:.2f}", "-"],
            ["second run, fresh state (server dedupe)", f"{fresh:.1f}", f"{n / fresh:.1f}"]]
    print(report.table(f"Indexing {n} LFW photos into a local.serve on {os.cpu_count()} cores "
                       f"(medians of {args.rounds} round(s); load average {os.getloadavg()[0]:.1f})",
                       ["run", "seconds", "photos/s"], rows))
    print(f"throughput command / loop: {statistics.median(loop_s) / statistics.median(command_s):.2f}x")
    print(f"command: {summaries[0]}\nsecond run: {again_summary}\nfresh state: {fresh_summary}")
    print(f"FaceCount after all runs: command's collection {counts['bulk-cmd-0']}, loop's {counts['bulk-loop-0']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
