"""Warm latency per stage and per DetectFaces-equivalent call: fp32 vs int8, and vs face_recognition (dlib).

    .venv/bin/python -m bench.speed [--photos 20] [--threads 1,2]

On the London photos (1024x1024 JPEG, one face each), after one warm-up call, median of every photo:
- decode: JPEG bytes -> upright RGB (imaging.decode_image)
- detect: YuNet incl. letterbox and post-processing
- align: 5-point similarity warp to 112x112
- embed: SFace on one face; "embed+flip" is the service's setting (face + mirror in one batch of 2)
- DetectFaces: decode + detect + align + Pose/Quality (what the DetectFaces operation computes)
- IndexFaces: DetectFaces + embed+flip (what IndexFaces/SearchFacesByImage compute per photo)
face_recognition (dlib 20, HOG detector + ResNet embedder, the popular pip package) runs in its own venv,
because dlib has no wheel and compiles for 10+ minutes:

    python3 -m venv .cache/fr-venv && .cache/fr-venv/bin/pip install face_recognition==1.3.0 dlib==20.0.1

Its DetectFaces equivalent is load_image_file + face_locations (HOG, 1 upsample, its default) +
face_landmarks (5-point model); IndexFaces adds face_encodings. dlib is single-threaded, so compare
with --threads 1 (one Lambda vCPU at 1,769 MB); 2 threads shows what a 2-vCPU function gains.
Needs ../shared (or $FACESEARCH_SHARED).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from bench.common.data import REPO, london_photos, shared_dir
from facesearch.vision import onnx as models
from facesearch.vision.aligner import align
from facesearch.vision.detector import Detector
from facesearch.vision.embedder import Embedder
from facesearch.vision.imaging import decode_image
from facesearch.vision.pipeline import FacePipeline
from facesearch.vision.pose import estimate_pose
from facesearch.vision.quality import measure_quality

FR_PYTHON = REPO / ".cache" / "fr-venv" / "bin" / "python"

FR_SCRIPT = r"""
import json, statistics, sys, time
import face_recognition
paths = json.loads(sys.argv[1])
def median_ms(fn, items, repeats):
    fn(items[0])
    times = []
    for _ in range(repeats):
        for item in items:
            t = time.perf_counter(); fn(item); times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)
images = [face_recognition.load_image_file(p) for p in paths]
boxes = [face_recognition.face_locations(im) for im in images]
repeats = int(sys.argv[2])
out = {
  "decode": median_ms(face_recognition.load_image_file, paths, repeats),
  "detect": median_ms(face_recognition.face_locations, images, repeats),
  "landmarks": median_ms(lambda k: face_recognition.face_landmarks(images[k], boxes[k], model="small"),
                         range(len(images)), repeats),
  "embed": median_ms(lambda k: face_recognition.face_encodings(images[k], boxes[k][:1], model="small"),
                     range(len(images)), repeats),
  "faces": [len(b) for b in boxes],
}
def detect_faces(p):
    im = face_recognition.load_image_file(p); b = face_recognition.face_locations(im)
    return face_recognition.face_landmarks(im, b, model="small"), im, b
out["DetectFaces"] = median_ms(detect_faces, paths, repeats)
def index_faces(p):
    _, im, b = detect_faces(p); return face_recognition.face_encodings(im, b, model="small")
out["IndexFaces"] = median_ms(index_faces, paths, repeats)
print(json.dumps(out))
"""


def median_ms(fn: Callable[[object], object], items: list, repeats: int) -> float:
    fn(items[0])  # warm
    times = []
    for _ in range(repeats):
        for item in items:
            started = time.perf_counter()
            fn(item)
            times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def measure(variant: str, threads: int, blobs: list[bytes], repeats: int) -> dict[str, float]:
    detector = Detector(models.detector_session(variant, threads))  # type: ignore[arg-type]
    embedder = Embedder(models.embedder_session(variant, threads), flip=True)  # type: ignore[arg-type]
    plain = Embedder(models.embedder_session(variant, threads), flip=False)  # type: ignore[arg-type]
    pipeline = FacePipeline(detector, embedder)
    images = [decode_image(b) for b in blobs]
    pils = [Image.fromarray(im.pixels) for im in images]
    faces = [detector.detect(im.pixels)[0] for im in images]
    crops = [align(pil, face.landmarks) for pil, face in zip(pils, faces, strict=True)]
    idx = list(range(len(blobs)))

    def detect_faces(k: int) -> object:
        image = decode_image(blobs[k])
        found = detector.detect(image.pixels)
        source = Image.fromarray(image.pixels)
        return [(estimate_pose(f.landmarks), measure_quality(align(source, f.landmarks))) for f in found]

    return {
        "decode": median_ms(decode_image, blobs, repeats),
        "detect": median_ms(lambda k: detector.detect(images[k].pixels), idx, repeats),
        "align": median_ms(lambda k: align(pils[k], faces[k].landmarks), idx, repeats),
        "embed": median_ms(lambda k: plain.embed(crops[k][None]), idx, repeats),
        "embed+flip": median_ms(lambda k: embedder.embed(crops[k][None]), idx, repeats),
        "DetectFaces": median_ms(detect_faces, idx, repeats),
        "IndexFaces": median_ms(lambda k: pipeline.analyze(decode_image(blobs[k])), idx, repeats),
    }


def interleaved_embed(threads: int, blobs: list[bytes], rounds: int = 30) -> tuple[float, float]:
    """fp32 vs int8 SFace on the same crops, alternating call by call (order flipped every round), so
    both see the same machine load: the fair same-run comparison on a shared, noisy machine."""
    detector = Detector(models.detector_session("fp32", threads))  # type: ignore[arg-type]
    crops = []
    for blob in blobs:
        image = decode_image(blob)
        crops.append(align(Image.fromarray(image.pixels), detector.detect(image.pixels)[0].landmarks))
    embedders = {v: Embedder(models.embedder_session(v, threads), flip=True) for v in ("fp32", "int8")}  # type: ignore[arg-type]
    times: dict[str, list[float]] = {v: [] for v in embedders}
    for embedder in embedders.values():
        embedder.embed(crops[0][None])
    for round_ in range(rounds):
        order = list(embedders) if round_ % 2 == 0 else list(embedders)[::-1]
        for crop in crops:
            for v in order:
                started = time.perf_counter()
                embedders[v].embed(crop[None])
                times[v].append(time.perf_counter() - started)
    return 1000 * statistics.median(times["fp32"]), 1000 * statistics.median(times["int8"])


def face_recognition_times(paths: list[Path], repeats: int) -> dict[str, float] | str:
    if not FR_PYTHON.is_file():
        return f"not installed ({FR_PYTHON} missing; see this script's docstring)"
    result = subprocess.run(
        [str(FR_PYTHON), "-c", FR_SCRIPT, json.dumps([str(p) for p in paths]), str(repeats)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        return f"failed: {lines[-1] if lines else result.returncode}"
    return json.loads(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--no-dlib", action="store_true")
    args = parser.parse_args()
    shared = shared_dir()
    if shared is None:
        print("SKIP: ../shared/faces (or $FACESEARCH_SHARED) not found; speed bench needs its photos")
        return 0
    paths = london_photos(shared)[: args.photos]
    blobs = [p.read_bytes() for p in paths]
    size = Image.open(paths[0]).size
    print(f"{len(paths)} London photos ({size[0]}x{size[1]} JPEG), median warm ms per photo, x{args.repeats}")
    stages = ["decode", "detect", "align", "embed", "embed+flip", "DetectFaces", "IndexFaces"]
    columns: dict[str, dict[str, float]] = {}
    for threads in (int(t) for t in args.threads.split(",")):
        for variant in ("fp32", "int8"):
            columns[f"{variant} {threads}t"] = measure(variant, threads, blobs, args.repeats)
    fr = None if args.no_dlib else face_recognition_times(paths, args.repeats)
    if isinstance(fr, dict):
        columns["dlib 1t"] = {
            "decode": fr["decode"], "detect": fr["detect"], "align": fr["landmarks"], "embed": fr["embed"],
            "embed+flip": float("nan"), "DetectFaces": fr["DetectFaces"], "IndexFaces": fr["IndexFaces"],
        }  # fmt: skip
    names = list(columns)
    print(f"{'stage':12}" + "".join(f"{n:>12}" for n in names))
    for stage in stages:
        print(f"{stage:12}" + "".join(f"{columns[n][stage]:12.1f}" for n in names))
    print("\nratios")
    for threads in (int(t) for t in args.threads.split(",")):
        f32, i8 = columns[f"fp32 {threads}t"], columns[f"int8 {threads}t"]
        print(
            f"  {threads} thread(s): int8/fp32 embed {i8['embed'] / f32['embed']:.2f}, detect "
            f"{i8['detect'] / f32['detect']:.2f}, DetectFaces {i8['DetectFaces'] / f32['DetectFaces']:.2f}"
        )
        if isinstance(fr, dict):
            print(
                f"  face_recognition / int8 {threads}t: "
                f"DetectFaces {fr['DetectFaces'] / i8['DetectFaces']:.1f}x, "
                f"IndexFaces {fr['IndexFaces'] / i8['IndexFaces']:.1f}x"
            )
    print("\nembed+flip, fp32 and int8 alternating call by call on the same crops (the fair same-run test)")
    for threads in (int(t) for t in args.threads.split(",")):
        f32, i8 = interleaved_embed(threads, blobs)
        print(f"  {threads} thread(s): fp32 {f32:.1f} ms, int8 {i8:.1f} ms, int8/fp32 {i8 / f32:.3f}")
    if isinstance(fr, str):
        print(f"face_recognition: {fr}")
    elif fr is not None:
        print(f"face_recognition faces found per photo: {sorted(set(fr['faces']))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
