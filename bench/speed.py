"""Warm latency per stage and end to end, the multi-scale pipeline against the previous one, in one run.

    .venv/bin/python -m bench.speed                      # 1 thread, all three photo sets
    .venv/bin/python -m bench.speed --threads 1,2 --rounds 3

"before" is the pipeline before multi-scale detection (bench/baseline.py: one 640 x 640 letterbox and the
"legacy" models, int8 SFace with PRelu), "after" is the service's FacePipeline on the shipped "int8"
models. The two run alternately, call by call, the order flipped every round, so both see the same load
on this shared machine; the tables give medians over every photo and round, and after/before.

Photo sets (from ../shared, in memory):
- one face, 1024 px: the London neutral_front photos (1024 x 1024 JPEG, one studio face each);
- groups: the 9 labelled PASCAL VOC group photos (2-8 faces, ~500 px) and bald_guys.jpg (1986 x 1545,
  24 faces);
- 4000 px: the London lisa and zoom photos (one face, 600-1536 px) upscaled to 4000 px on the longer
  side and re-encoded as JPEG (quality 90), like a phone camera's 12 MP photo.

Stages, per photo (all faces of it):
- decode: JPEG bytes -> upright RGB (image_decoder.decode_image, the same code for both);
- detect: the detector, pre-processing and post-processing included (after: every pass it ran);
- align: 5-point warp to 112 x 112; pose+quality: estimate_pose + measure_quality;
- embed: SFace on the face and its mirror image (the service's flip-augmented embedding);
- detect+align+embed: FacePipeline.analyze (issue 8's budget: <= 45 ms at 1 thread for one face);
- end to end: decode + analyze, what IndexFaces / SearchFacesByImage compute per image.
Then, on one face crop, what the flip costs: SFace with and without the mirror image, before (PRelu)
and after (Max) the build's rewrite. Needs ../shared (or $FACESEARCH_SHARED); skips without it.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from bench import face_cases as fc
from bench.baseline import LegacyPipeline
from bench.common.data import shared_dir
from facesearch.vision import onnx as models
from facesearch.vision.aligner import align
from facesearch.vision.detector import Detection, Detector
from facesearch.vision.embedder import Embedder
from facesearch.vision.image_decoder import DecodedImage, decode_image
from facesearch.vision.pipeline import FacePipeline
from facesearch.vision.pose import estimate_pose
from facesearch.vision.quality import measure_quality

STAGES = ("decode", "detect", "align", "pose+quality", "embed", "detect+align+embed", "end to end")


class CountingDetector(Detector):
    """The service's detector, counting the network runs (passes) it makes."""

    runs = 0

    def _forward(self, blob: np.ndarray) -> dict[str, np.ndarray]:
        CountingDetector.runs += 1
        return super()._forward(blob)


class Contender:
    """One pipeline with per-stage entry points on a decoded image."""

    def __init__(self, name: str, threads: int) -> None:
        self.name = name
        if name == "before":
            legacy = LegacyPipeline(threads)
            self.detector, self.embedder = legacy.detector, legacy.embedder
            self.analyze: Callable[[DecodedImage], object] = legacy.analyze
            self.detect: Callable[[DecodedImage], list[Detection]] = lambda im: legacy.detector.detect(
                im.pixels
            )
        else:
            detector = CountingDetector(models.detector_session("int8", threads))
            pipeline = FacePipeline(detector, Embedder(models.embedder_session("int8", threads)))
            self.detector, self.embedder = detector, pipeline.embedder
            self.analyze = pipeline.analyze
            # the pipeline hands the detector the Pillow image it also aligns from
            self.detect = lambda im: detector.detect_image(Image.fromarray(im.pixels))


def timed(fn: Callable[..., object], *args: object) -> tuple[float, object]:
    """(milliseconds, result) of fn(*args)."""
    started = time.perf_counter()
    result = fn(*args)
    return 1000 * (time.perf_counter() - started), result


def align_all(source: Image.Image, faces: list[Detection]) -> list[np.ndarray]:
    return [align(source, face.landmarks) for face in faces]


def describe_all(faces: list[Detection], crops: list[np.ndarray]) -> list[object]:
    return [(estimate_pose(f.landmarks), measure_quality(c)) for f, c in zip(faces, crops, strict=True)]


def decode_and_analyze(who: Contender, blob: bytes) -> object:
    return who.analyze(decode_image(blob))


def photo_sets(shared: Path, photos: int) -> dict[str, list[bytes]]:
    london = shared / "faces" / "london"
    groups = shared / "faces" / "groups"
    big = []
    for path in [*fc.photos(london / "lisa"), *fc.photos(london / "zoom")]:
        image = Image.open(path).convert("RGB")
        scale = 4000 / max(image.size)
        out = io.BytesIO()
        image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC
        ).save(out, format="JPEG", quality=90)
        big.append(out.getvalue())
    return {
        "one face, 1024 px": [
            p.read_bytes() for p in sorted((london / "neutral_front").glob("*.jpg"))[:photos]
        ],
        "groups": [(groups / f).read_bytes() for f in sorted(fc.group_labels(groups))]
        + [(groups / "bald_guys.jpg").read_bytes()],
        "4000 px": big,
    }


def measure(
    blobs: list[bytes], contenders: list[Contender], rounds: int
) -> dict[str, dict[str, list[float]]]:
    """stage -> contender -> milliseconds per photo (all rounds), alternating contenders call by call."""
    times: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    images = [decode_image(b) for b in blobs]
    for who in contenders:  # warm: sessions, shapes, caches
        for image in images[:2]:
            who.analyze(image)
    for round_ in range(rounds):
        order = contenders if round_ % 2 == 0 else contenders[::-1]
        for blob, image in zip(blobs, images, strict=True):
            for who in order:
                ms: dict[str, float] = {}
                ms["decode"], _ = timed(decode_image, blob)
                ms["detect"], faces = timed(who.detect, image)
                source = Image.fromarray(image.pixels)
                ms["align"], crops = timed(align_all, source, faces)
                ms["pose+quality"], _ = timed(describe_all, faces, crops)
                stack = np.stack(crops) if crops else np.empty((0, 112, 112, 3), np.uint8)  # type: ignore[arg-type]
                ms["embed"], _ = timed(who.embedder.embed, stack)
                # a fresh DecodedImage, so its Pillow copy (DecodedImage.picture) is made per call, as in a request
                ms["detect+align+embed"], _ = timed(who.analyze, replace(image))
                ms["end to end"], _ = timed(decode_and_analyze, who, blob)
                ms["faces"] = len(faces)  # type: ignore[arg-type]
                for stage, value in ms.items():
                    times[stage][who.name].append(value)
    return times


def passes_per_photo(blobs: list[bytes], detector: CountingDetector) -> str:
    counts = []
    for blob in blobs:
        before = CountingDetector.runs
        detector.detect(decode_image(blob).pixels)
        counts.append(CountingDetector.runs - before)
    return f"{min(counts)}-{max(counts)}, median {statistics.median(counts):g}"


def print_table(title: str, times: dict[str, dict[str, list[float]]], threads: int) -> None:
    found = {name: f"{min(v):.0f}-{max(v):.0f}" for name, v in times["faces"].items()}
    print(
        f"\n{title}, {threads} thread(s): median ms per photo; faces found per photo: before "
        f"{found['before']}, after {found['after']}"
    )
    print(f"  {'stage':20} {'before':>9} {'after':>9} {'after/before':>13}")
    for stage in STAGES:
        before, after = statistics.median(times[stage]["before"]), statistics.median(times[stage]["after"])
        print(f"  {stage:20} {before:9.1f} {after:9.1f} {after / before if before else float('nan'):13.2f}")


def flip_costs(blobs: list[bytes], threads: int, rounds: int) -> None:
    """SFace on one face crop: plain vs flip, PRelu (legacy file) vs Max (shipped file), alternating."""
    detector = Detector(models.detector_session("int8", threads))
    crops = []
    for blob in blobs:
        image = decode_image(blob)
        crops.append(align(Image.fromarray(image.pixels), detector.detect(image.pixels)[0].landmarks))
    embedders = {
        f"{label}, {'flip' if flip else 'plain'}": Embedder(
            models.embedder_session(variant, threads), flip=flip
        )
        for label, variant in (("PRelu (before)", "legacy"), ("Max (after)", "int8"))
        for flip in (False, True)
    }
    times: dict[str, list[float]] = defaultdict(list)
    for embedder in embedders.values():
        embedder.embed(crops[0][None])
    for round_ in range(rounds):
        order = list(embedders) if round_ % 2 == 0 else list(embedders)[::-1]
        for crop in crops:
            for name in order:
                times[name].append(timed(embedders[name].embed, crop[None])[0])
    print(
        f"\nSFace on one aligned face, {threads} thread(s), median ms (alternating, {len(crops)} x {rounds})"
    )
    base = statistics.median(times["PRelu (before), flip"])
    for name in embedders:
        value = statistics.median(times[name])
        print(f"  {name:22} {value:7.1f}   x{value / base:.2f} of PRelu+flip")


def one_face_of_a_group(blobs: list[bytes], threads: int, rounds: int) -> None:
    """What SearchFacesByImage computes on a group photo: every face embedded (as before) against only the
    largest one (analyze without embeddings, then FacePipeline.embedded), alternating call by call."""
    pipeline = FacePipeline(Detector(models.detector_session("int8", threads)),
                            Embedder(models.embedder_session("int8", threads)))
    images = [decode_image(blob) for blob in blobs]

    def every_face(image: DecodedImage) -> object:
        return pipeline.analyze(replace(image))

    def largest_only(image: DecodedImage) -> object:
        return pipeline.embedded(pipeline.analyze(replace(image), with_embeddings=False)[:1])

    jobs = {"every face embedded": every_face, "largest face embedded": largest_only}
    times: dict[str, list[float]] = defaultdict(list)
    for round_ in range(rounds):
        order = list(jobs) if round_ % 2 == 0 else list(jobs)[::-1]
        for image in images:
            for name in order:
                times[name].append(timed(jobs[name], image)[0])
    faces = [len(pipeline.analyze(image, with_embeddings=False)) for image in images]
    print(f"\nSearchFacesByImage's pipeline work on the group photos ({min(faces)}-{max(faces)} faces), "
          f"{threads} thread(s), median ms per photo")  # fmt: skip
    base = statistics.median(times["every face embedded"])
    for name in jobs:
        value = statistics.median(times[name])
        print(f"  {name:22} {value:7.1f}   x{value / base:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=int, default=20, help="London 1024 px photos")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1")
    parser.add_argument("--sets", default="", help="comma-separated subset of: one,groups,4000")
    args = parser.parse_args()
    shared = shared_dir()
    if shared is None:
        print("SKIP: ../shared/faces (or $FACESEARCH_SHARED) not found; speed bench needs its photos")
        return 0
    started = time.perf_counter()
    sets = photo_sets(shared, args.photos)
    wanted = [s for s in args.sets.split(",") if s]
    files = models.model_files("int8"), models.model_files("legacy")
    print(
        f"models: after = {files[0].detector.name} + {files[0].embedder.name}, "
        f"before = {files[1].detector.name} + {files[1].embedder.name}"
    )
    for threads in (int(t) for t in args.threads.split(",")):
        contenders = [Contender("before", threads), Contender("after", threads)]
        for title, blobs in sets.items():
            if wanted and not any(title.startswith(w) for w in wanted):
                continue
            times = measure(blobs, contenders, args.rounds)
            print_table(f"{title} ({len(blobs)} photos)", times, threads)
            after = contenders[1].detector
            assert isinstance(after, CountingDetector)
            print(f"  after: YuNet runs per photo {passes_per_photo(blobs, after)} (before: 1)")
        flip_costs(sets["one face, 1024 px"][:10], threads, args.rounds)
        one_face_of_a_group(next(blobs for title, blobs in sets.items() if title.startswith("groups")), threads,
                            args.rounds)
    load = " / ".join(f"{v:.1f}" for v in __import__("os").getloadavg())
    print(f"\nwall time {time.perf_counter() - started:.0f} s; load average at the end (1/5/15 min) {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
