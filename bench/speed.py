"""Warm latency per stage and end to end, today's pipeline against an earlier commit's, in one run.

    .venv/bin/python -m bench.speed                          # 1 thread, all three photo sets
    .venv/bin/python -m bench.speed --threads 1,2 --rounds 3
    .venv/bin/python -m bench.speed --before b0e0cb2^1       # against the pipeline before multi-scale detection
    .venv/bin/python -m bench.speed --photos 4 --rounds 1 --sets one    # a quick look (under a minute)

"before" is the face pipeline of another commit (--before REV; by default the newest commit whose pipeline
differs from the working tree's), on that commit's own models, "after" the working tree's on the models the
service loads; each runs in a process of its own (bench/common/revision.py) and times its stages itself.
The two run alternately, call by call, the order flipped every round, so both see the same load on this
shared machine; the tables give medians over every photo and round, and after/before.

Photo sets (from ../shared, in memory):
- one face, 1024 px: the London neutral_front photos (1024 x 1024 JPEG, one studio face each);
- groups: the 9 labelled PASCAL VOC group photos (2-8 faces, ~500 px) and bald_guys.jpg (1986 x 1545,
  24 faces);
- 4000 px: the London lisa and zoom photos (one face, 600-1536 px) upscaled to 4000 px on the longer
  side and re-encoded as JPEG (quality 90), like a phone camera's 12 MP photo.

Stages, per photo (all faces of it):
- decode: JPEG bytes -> upright RGB (decode_image);
- detect: the detector, pre-processing and post-processing included (every pass it ran);
- align: 5-point warp to 112 x 112; pose+quality: estimate_pose + measure_quality;
- embed: SFace on the face and its mirror image (the service's flip-augmented embedding);
- detect+align+embed: FacePipeline.analyze (issue 8's budget: <= 45 ms at 1 thread for one face);
- end to end: decode + analyze, what IndexFaces / SearchFacesByImage compute per image.
Then, on one face crop, what the flip costs: SFace with and without the mirror image, before and after;
and what SearchFacesByImage computes on a group photo: every face embedded against only the largest one.
Needs ../shared (or $FACESEARCH_SHARED); skips without it.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PIL import Image

from bench.common import cli, models, sets, tables, timing
from bench.common.revision import Revision, default_before, introduce
from facesearch.vision.aligner import align
from facesearch.vision.image_decoder import DecodedImage, decode_image

STAGES = ("decode", "detect", "align", "pose+quality", "embed", "detect+align+embed", "end to end")
SETS = {"one": "one face, 1024 px", "groups": "groups", "4000": "4000 px"}
Times = dict[str, dict[str, list[float]]]  # stage -> "before" | "after" -> ms per photo


def upscaled(path: Path, side: int = 4000) -> bytes:
    image = Image.open(path).convert("RGB")
    scale = side / max(image.size)
    out = io.BytesIO()
    image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC).save(
        out, format="JPEG", quality=90)
    return out.getvalue()


def photo_sets(shared: Path, photos: int, wanted: list[str]) -> dict[str, list[bytes]]:
    """The sets asked for, and always the one-face photos (the flip costs are measured on them)."""
    london, groups = shared / "faces" / "london", shared / "faces" / "groups"
    made: dict[str, Callable[[], list[bytes]]] = {
        "one": lambda: [p.read_bytes() for p in sets.london_photos(shared)[:photos]],
        "groups": lambda: [(groups / name).read_bytes() for name in [*sorted(sets.group_labels(groups)),
                                                                     "bald_guys.jpg"]],
        "4000": lambda: [upscaled(p) for p in [*sets.photos(london / "lisa"), *sets.photos(london / "zoom")]],
    }
    return {SETS[key]: make() for key, make in made.items() if key in wanted or key == "one"}


def measure(blobs: list[bytes], contenders: dict[str, Revision], rounds: int) -> Times:
    """Each photo through both pipelines in turn, every round; each process times its own stages."""
    times: Times = defaultdict(lambda: defaultdict(list))
    for who in contenders.values():  # warm: sessions, shapes, caches
        for blob in blobs[:2]:
            who.stages(blob)
    for order in timing.turns(list(contenders), rounds):
        for blob in blobs:
            for name in order:
                for stage, ms in contenders[name].stages(blob).items():
                    times[stage][name].append(ms)
    return times


def passes(blobs: list[bytes], who: Revision) -> str:
    counts = [who.passes(blob) for blob in blobs]
    return f"{min(counts)}-{max(counts)}, median {statistics.median(counts):g}"


def print_stages(title: str, times: Times, contenders: dict[str, Revision], blobs: list[bytes]) -> None:
    found = ", ".join(f"{name} {min(times['faces'][name]):.0f}-{max(times['faces'][name]):.0f}" for name in contenders)
    print(f"\n{title}: median ms per photo; faces found per photo: {found}")
    rows = []
    for stage in STAGES:
        before, after = (statistics.median(times[stage][name]) for name in ("before", "after"))
        rows.append([stage, f"{before:.1f}", f"{after:.1f}", f"{after / before if before else float('nan'):.2f}"])
    print(tables.aligned(["stage", "before", "after", "after/before"], rows))
    print("  YuNet runs per photo: " + "; ".join(f"{name} {passes(blobs, who)}" for name, who in contenders.items()))


def flip_costs(blobs: list[bytes], contenders: dict[str, Revision], rounds: int) -> None:
    """SFace on one aligned face (today's alignment), plain vs flip, before vs after, alternating."""
    crops = []
    for blob in blobs:
        face = contenders["after"].detect_one(blob)[0]
        crops.append(align(Image.fromarray(decode_image(blob).pixels), face.landmarks)[None])
    jobs = {(name, flip): who for name, who in contenders.items() for flip in (False, True)}
    times: dict[tuple[str, bool], list[float]] = defaultdict(list)
    for (_, flip), who in jobs.items():  # warm
        who.embed_crops(crops[0], flip)
    for order in timing.turns(list(jobs), rounds):
        for crop in crops:
            for name, flip in order:
                times[(name, flip)].append(1000 * jobs[(name, flip)].embed_crops(crop, flip)[1])
    base = statistics.median(times[("before", True)])
    print(f"\nSFace on one aligned face, median ms (alternating, {len(crops)} x {rounds})")
    print(tables.aligned(["embedding", "ms", "x before+flip"], [
        [f"{name}, {'flip' if flip else 'plain'}", f"{statistics.median(v):.1f}", f"{statistics.median(v) / base:.2f}"]
        for (name, flip), v in times.items()]))


def one_face_of_a_group(blobs: list[bytes], threads: int, rounds: int) -> None:
    """What SearchFacesByImage computes on a group photo (today's pipeline, in this process): every face embedded
    (as before d7ddedb) against only the largest one (analyze without embeddings, then FacePipeline.embedded)."""
    pipeline = models.pipeline(threads)
    images = [decode_image(blob) for blob in blobs]
    jobs: dict[str, Callable[[DecodedImage], object]] = {
        "every face embedded": lambda image: pipeline.analyze(replace(image)),
        "largest face embedded": lambda image: pipeline.embedded(
            pipeline.analyze(replace(image), with_embeddings=False)[:1]),
    }
    times: dict[str, list[float]] = defaultdict(list)
    for order in timing.turns(list(jobs), rounds):
        for image in images:
            for name in order:
                times[name].append(1000 * timing.timed(jobs[name], image)[1])
    faces = [len(pipeline.analyze(image, with_embeddings=False)) for image in images]
    base = statistics.median(times["every face embedded"])
    print(f"\nSearchFacesByImage's pipeline work on the group photos ({min(faces)}-{max(faces)} faces), "
          f"{threads} thread(s), median ms per photo")
    print(tables.aligned(["", "ms", "x every face"], [
        [name, f"{statistics.median(v):.1f}", f"x{statistics.median(v) / base:.2f}"] for name, v in times.items()]))


def main() -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--photos", type=int, default=20, help="London 1024 px photos")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=cli.threads_list, default=[1], help="comma-separated, e.g. 1,2")
    parser.add_argument("--sets", default="", help=f"comma-separated subset of: {','.join(SETS)}")
    cli.add_before(parser)
    args = parser.parse_args()
    if (shared := sets.shared_or_skip("faces/london", "the speed bench")) is None:
        return 0
    started = time.perf_counter()
    wanted = [key for key in args.sets.split(",") if key] or list(SETS)
    photo_sets_ = photo_sets(shared, args.photos, wanted)
    before = args.before or default_before()
    for threads in args.threads:
        with Revision(before, threads) as old, Revision.working_tree(threads) as new:
            contenders = {"before": old, "after": new}
            print(f"\n{threads} thread(s)\n" + introduce(contenders, chosen=args.before is not None))
            for key in wanted:
                blobs = photo_sets_[SETS[key]]
                times = measure(blobs, contenders, args.rounds)
                print_stages(f"{SETS[key]} ({len(blobs)} photos), {threads} thread(s)", times, contenders, blobs)
            flip_costs(photo_sets_[SETS["one"]][:10], contenders, args.rounds)
        if "groups" in wanted:
            one_face_of_a_group(photo_sets_[SETS["groups"]], threads, args.rounds)
    print(f"\nwall time {time.perf_counter() - started:.0f} s; load average at the end (1/5/15 min) "
          f"{timing.load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
