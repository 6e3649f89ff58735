"""Detector recall on labelled group photos and false positives on no-face photos (fp32 and int8).

    .venv/bin/python -m bench.detection

- recall: every face box labelled in ../shared/faces/groups/{training,testing}.xml (dlib imglab format)
  whose shorter side is >= 40 px must be found. A label counts as found when a detection's centre lies in
  the label box and the label's centre lies in the detection box (label and YuNet boxes frame a face
  differently, so IoU would mostly measure box style).
- false positives: faces found in ../shared/faces/noface (must be 0).
- "int8" is the shipped variant (fp32 YuNet), "int8-all" uses the int8 YuNet too; "dlib" is
  face_recognition's HOG detector from bench/speed.py's venv, for comparison.
- the score margins behind DEFAULT_SCORE_THRESHOLD: the weakest labelled face's best score and the
  strongest no-face candidate, both measured with the threshold lowered to 0.3.
Needs ../shared (or $FACESEARCH_SHARED); skips with a message when it is missing.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from bench.common.data import REPO, shared_dir
from facesearch.vision import onnx as models
from facesearch.vision.detector import DEFAULT_SCORE_THRESHOLD, Detection, Detector
from facesearch.vision.imaging import decode_image

MIN_FACE = 40


def labelled_faces(groups: Path) -> dict[str, list[tuple[float, float, float, float]]]:
    labels: dict[str, list[tuple[float, float, float, float]]] = {}
    for name in ("training.xml", "testing.xml"):
        for image in ET.parse(groups / name).getroot().iter("image"):
            boxes = labels.setdefault(image.get("file", ""), [])
            for box in image.iter("box"):
                if box.get("ignore") == "1":
                    continue
                left, top = float(box.get("left", 0)), float(box.get("top", 0))
                width, height = float(box.get("width", 0)), float(box.get("height", 0))
                boxes.append((left, top, left + width, top + height))
    return labels


def matches(label: tuple[float, float, float, float], face: Detection) -> bool:
    lx, ly = (label[0] + label[2]) / 2, (label[1] + label[3]) / 2
    x1, y1, x2, y2 = face.box
    fx, fy = (x1 + x2) / 2, (y1 + y2) / 2
    return label[0] <= fx <= label[2] and label[1] <= fy <= label[3] and x1 <= lx <= x2 and y1 <= ly <= y2


FR_PYTHON = REPO / ".cache" / "fr-venv" / "bin" / "python"
FR_SCRIPT = """
import json, sys, face_recognition
out = {}
for path in json.loads(sys.argv[1]):
    image = face_recognition.load_image_file(path)
    out[path] = [[l, t, r, b] for t, r, b, l in face_recognition.face_locations(image)]
print(json.dumps(out))
"""


def run_face_recognition(shared: Path) -> None:
    """The same report for face_recognition's default detector (dlib HOG, 1 upsample)."""
    import json
    import subprocess

    if not FR_PYTHON.is_file():
        print(f"dlib  skipped: {FR_PYTHON} missing (see bench/speed.py)")
        return
    groups, noface_dir = shared / "faces" / "groups", shared / "faces" / "noface"
    labels = labelled_faces(groups)
    noface = sorted(p for p in noface_dir.iterdir() if p.suffix in (".jpg", ".png"))
    paths = [str(groups / f) for f in labels] + [str(p) for p in noface]
    result = subprocess.run(
        [str(FR_PYTHON), "-c", FR_SCRIPT, json.dumps(paths)], capture_output=True, text=True, check=True
    )
    boxes = json.loads(result.stdout)
    total = found = small_total = small_found = extra = 0
    for file, labelled in labels.items():
        faces = [
            Detection(box=tuple(b), score=1.0, landmarks=np.zeros((5, 2))) for b in boxes[str(groups / file)]
        ]
        for label in labelled:
            hit = any(matches(label, f) for f in faces)
            if min(label[2] - label[0], label[3] - label[1]) >= MIN_FACE:
                total, found = total + 1, found + hit
            else:
                small_total, small_found = small_total + 1, small_found + hit
        extra += sum(1 for f in faces if not any(matches(label, f) for label in labelled))
    false_positives = sum(len(boxes[str(p)]) for p in noface)
    print(
        f"dlib  groups: {found}/{total} labelled faces >= {MIN_FACE} px found "
        f"(+ {small_found}/{small_total} smaller), {extra} unlabelled detections | "
        f"noface: {false_positives} false positives in {len(noface)} photos (face_recognition HOG)"
    )


def run(variant: str, shared: Path) -> None:
    detector = Detector(models.detector_session(variant), score_threshold=0.3)  # type: ignore[arg-type]
    groups = shared / "faces" / "groups"
    total = found = small_total = small_found = extra = 0
    weakest = 1.0
    misses = []
    for file, boxes in sorted(labelled_faces(groups).items()):
        faces = detector.detect(decode_image((groups / file).read_bytes()).pixels)
        kept = [f for f in faces if f.score >= DEFAULT_SCORE_THRESHOLD]
        for label in boxes:
            big = min(label[2] - label[0], label[3] - label[1]) >= MIN_FACE
            best = max((f.score for f in faces if matches(label, f)), default=0.0)
            hit = any(matches(label, f) for f in kept)
            if big:
                total += 1
                found += hit
                weakest = min(weakest, best)
                if not hit:
                    misses.append(f"{file} {label} best score {best:.3f}")
            else:
                small_total += 1
                small_found += hit
        extra += sum(1 for f in kept if not any(matches(label, f) for label in boxes))
    noface = sorted(p for p in (shared / "faces" / "noface").iterdir() if p.suffix in (".jpg", ".png"))
    false_positives, strongest, strongest_file = 0, 0.0, ""
    for path in noface:
        faces = detector.detect(decode_image(path.read_bytes()).pixels)
        false_positives += sum(1 for f in faces if f.score >= DEFAULT_SCORE_THRESHOLD)
        top = max((f.score for f in faces), default=0.0)
        if top > strongest:
            strongest, strongest_file = top, path.name
    print(
        f"{variant:5} groups: {found}/{total} labelled faces >= {MIN_FACE} px found "
        f"(+ {small_found}/{small_total} smaller), {extra} unlabelled detections | "
        f"noface: {false_positives} false positives in {len(noface)} photos | "
        f"weakest labelled face {weakest:.3f}, strongest no-face candidate {strongest:.3f} ({strongest_file})"
    )
    for miss in misses:
        print(f"      missed: {miss}")


def main() -> int:
    shared = shared_dir()
    if shared is None:
        print("SKIP: ../shared/faces (or $FACESEARCH_SHARED) not found; detection bench needs it")
        return 0
    print(f"score threshold {DEFAULT_SCORE_THRESHOLD}")
    for variant in ("fp32", "int8", "int8-all"):
        run(variant, shared)
    run_face_recognition(shared)
    return 0


if __name__ == "__main__":
    sys.exit(main())
