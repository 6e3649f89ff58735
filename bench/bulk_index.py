"""`facesearch index` against a plain one-at-a-time boto3 loop, in the same run, on 1,000 shared photos.

The photos are LFW's (read in place: the folder handed to the command holds symlinks in a temporary
directory, never copies). Each round indexes all of them twice into fresh collections, once with the command
(its installed entry point, N workers, progress bar to a log) and once with the loop, the order alternating
round by round. Then the command runs again on the same folder and state (nothing to do), and once more with
a fresh state file (the service's own same-image dedupe answers every request, nothing is stored).

    .venv/bin/python -m bench.bulk_index [--photos 1000] [--workers 8] [--rounds 1]
    .venv/bin/python -m bench.bulk_index --photos 30 --workers 2    # a quick look (a couple of minutes)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import cli, progress, server, sets, tables, timing
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


@dataclass
class Runs:
    command: list[float] = field(default_factory=list)  # seconds per round
    loop: list[float] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)  # the command's first output line


def alternate_rounds(endpoint: server.Endpoint, rekognition: Any, folder: Path, photos: list[Path], scratch: Path,
                     workers: int, rounds: int) -> Runs:
    """Each round indexes every photo twice into fresh collections, command and loop, the order alternating."""
    runs = Runs()
    for round_, order in enumerate(timing.turns(["command", "loop"], rounds)):
        for method in order:
            if method == "command":
                seconds, summary = run_command(endpoint, folder, f"bulk-cmd-{round_}", scratch / f"s{round_}", workers,
                                               scratch / "progress.log")
                runs.command.append(seconds)
                runs.summaries.append(summary)
            else:
                runs.loop.append(run_loop(rekognition, folder, f"bulk-loop-{round_}", photos))
            progress.log(f"round {round_ + 1}: {method} done")
    return runs


def report(n: int, args: argparse.Namespace, runs: Runs, again: tuple[float, str], fresh: tuple[float, str],
           counts: dict[str, int]) -> None:
    command_s, loop_s = statistics.median(runs.command), statistics.median(runs.loop)
    title = (f"Indexing {n} LFW photos into a local.serve on {os.cpu_count()} cores (medians of {args.rounds} "
             f"round(s); load average {os.getloadavg()[0]:.1f})")
    print(tables.boxed(title, ["run", "seconds", "photos/s"], [
        [f"facesearch index ({args.workers} workers)", f"{command_s:.1f}", f"{n / command_s:.1f}"],
        ["boto3 loop, one at a time", f"{loop_s:.1f}", f"{n / loop_s:.1f}"],
        ["second run, same state (nothing to do)", f"{again[0]:.2f}", "-"],
        ["second run, fresh state (server dedupe)", f"{fresh[0]:.1f}", f"{n / fresh[0]:.1f}"]]))
    print(f"throughput command / loop: {loop_s / command_s:.2f}x")
    print(f"command: {runs.summaries[0]}\nsecond run: {again[1]}\nfresh state: {fresh[1]}")
    print(f"FaceCount after all runs: command's collection {counts['bulk-cmd-0']}, loop's {counts['bulk-loop-0']}")


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    if (shared := sets.shared_or_skip("faces/lfw/people.txt", "the bulk-index bench")) is None:
        return 0
    photos = sets.lfw_photos(shared / "faces" / "lfw")[: args.photos]
    endpoint = server.start_server(startup_timeout=120)
    scratch = Path(tempfile.mkdtemp(prefix="facesearch-bulk-"))
    try:
        folder = photo_folder(photos, scratch)
        rekognition = server.rekognition(endpoint)
        rekognition.detect_faces(Image={"Bytes": photos[0].read_bytes()})  # load the models before timing
        runs = alternate_rounds(endpoint, rekognition, folder, photos, scratch, args.workers, args.rounds)
        log = scratch / "progress.log"
        again, again_summary = run_command(endpoint, folder, "bulk-cmd-0", scratch / "s0", args.workers, log)
        fresh, fresh_summary = run_command(endpoint, folder, "bulk-cmd-0", scratch / "fresh", args.workers, log)
        counts = {name: rekognition.describe_collection(CollectionId=name)["FaceCount"]
                  for name in ("bulk-cmd-0", "bulk-loop-0")}
    finally:
        endpoint.stop()
    report(len(photos), args, runs, (again, again_summary), (fresh, fresh_summary), counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
