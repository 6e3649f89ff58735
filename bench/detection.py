"""Does the detector find every face Rekognition finds? Recall per case, before vs after, in one run.

    .venv/bin/python -m bench.detection              # every case, all 244 London photos (~15 min)
    .venv/bin/python -m bench.detection --step 4     # every 4th photo (a few minutes)
    .venv/bin/python -m bench.detection --sweep      # also YuNet's recall per face size (pass_plan.py)

"before" is the pipeline before multi-scale detection (bench/baseline.py: one 640 x 640 letterbox on the
"legacy" models), "after" is the service's Detector on the shipped "int8" models. Cases, all made in
memory from ../shared photos (bench/face_cases.py), each face's reference box being the face the
baseline finds in the full London photo:
- close-up: the face box with 0/10/25/50 % margin, saved at 112/400/800/2000 px (longer side), and
  at 800 x 800 stretched (issue 8's recipe: the box resized to a square, so the face widens). Also
  "same person": the close-up's face embedding against the full photo's, Similarity >= 99 (the same
  photo re-cropped must match as itself) and the lowest Similarity seen.
- cut by the frame: 40/60/80 % of the face box left visible, cut from each side.
- roll: the photo rotated by -30 .. +30 degrees about the face; also the median |Roll error|.
- Rekognition minimum: London photos scaled so the face is 40 px wide in a 1920 x 1080 scene (and
  proportionally larger in 1024 x 1024 and 4000 x 3000 scenes: 40/1080 of the shorter side).
- turned: the London `lisa` and `zoom` photos (one person, 8 photos), and the labelled group faces
  whose yaw (from their 68-point landmarks) is >= 25 degrees.
- groups: every labelled face of ../shared/faces/groups/*.xml >= 40 px (and the smaller ones).
- no face: faces reported in the 25 ../shared/faces/noface photos (must be 0).
A face is found when a detection's centre lies in the label box and the label's centre in the detection
box (clipped to the image for cut faces). Needs ../shared (or $FACESEARCH_SHARED); skips without it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from bench import face_cases as fc
from bench.baseline import LegacyPipeline
from bench.common.data import shared_dir
from facesearch.vision import onnx as models
from facesearch.vision import pass_plan
from facesearch.vision.aligner import align
from facesearch.vision.detector import DEFAULT_SCORE_THRESHOLD, Detection, Detector
from facesearch.vision.embedder import Embedder
from facesearch.vision.image_decoder import decode_image
from facesearch.vision.pose import estimate_pose
from facesearch.vision.similarity import to_similarity

MIN_FACE = 40
MARGINS = (0.0, 0.10, 0.25, 0.50)
SIDES = (112, 400, 800, 2000)
VISIBLE = (0.4, 0.6, 0.8)
CUT_SIDES = ("left", "right", "top", "bottom")
ROLLS = (-30, -20, -10, 0, 10, 20, 30)

DetectFn = Callable[[np.ndarray], list[Detection]]


class Contender:
    """A detector plus the embedder of the same pipeline (for the same-person check)."""

    def __init__(self, name: str, detect: DetectFn, embedder: Embedder) -> None:
        self.name, self.detect, self.embedder = name, detect, embedder

    def embedding(self, pixels: np.ndarray, face: Detection) -> np.ndarray:
        return self.embedder.embed(align(Image.fromarray(pixels), face.landmarks)[None])[0]


def found_face(faces: list[Detection], label: fc.Box, width: int, height: int) -> Detection | None:
    for face in faces:
        if fc.matches(label, fc.clip(face.box, width, height)):
            return face
    return None


class Tally:
    """found / total per (section, row, contender), plus free-form extra columns."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        self.extra: dict[tuple[str, str, str], list[float]] = defaultdict(list)

    def add(self, section: str, row: str, who: str, hit: bool) -> None:
        cell = self.found[(section, row, who)]
        cell[0] += int(hit)
        cell[1] += 1

    def note(self, section: str, row: str, column: str, value: float) -> None:
        self.extra[(section, row, column)].append(value)

    def print(
        self, section: str, names: list[str], extra: Iterable[tuple[str, Callable[[list[float]], str]]] = ()
    ) -> None:
        extra = list(extra)
        rows = list(dict.fromkeys(r for s, r, _ in self.found if s == section))
        header = [section, "n", *names, *(c for c, _ in extra)]
        body = []
        for row in rows:
            cells = [row, str(self.found[(section, row, names[0])][1])]
            for who in names:
                hit, total = self.found[(section, row, who)]
                cells.append(f"{hit}/{total} = {100 * hit / max(total, 1):.1f} %")
            for column, fmt in extra:
                values = self.extra.get((section, row, column), [])
                cells.append(fmt(values) if values else "-")
            body.append(cells)
        widths = [max(len(str(c)) for c in col) for col in zip(header, *body, strict=True)]
        line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
        print(line)
        print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
        print(line)
        for cells in body:
            padded = [
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ]
            print("| " + " | ".join(padded) + " |")
        print(line)


def reference_faces(paths: list[Path], before: Contender) -> list[tuple[str, np.ndarray, fc.Box]]:
    out = []
    for path in paths:
        pixels = decode_image(path.read_bytes()).pixels
        faces = before.detect(pixels)
        if faces:
            out.append((path.name, pixels, faces[0].box))
    return out


def original_embeddings(refs, contenders: list[Contender]) -> dict[str, dict[str, np.ndarray]]:  # type: ignore[no-untyped-def]
    """Each contender's embedding of each full London photo's reference face."""
    originals: dict[str, dict[str, np.ndarray]] = {who.name: {} for who in contenders}
    for name, pixels, box in refs:
        for who in contenders:
            face = found_face(who.detect(pixels), box, pixels.shape[1], pixels.shape[0])
            if face is not None:
                originals[who.name][name] = who.embedding(pixels, face)
    return originals


def close_ups(refs, contenders: list[Contender], tally: Tally) -> None:  # type: ignore[no-untyped-def]
    originals = original_embeddings(refs, contenders)
    for name, pixels, box in refs:
        shapes = [(m, side, False) for m in MARGINS for side in SIDES] + [(m, 800, True) for m in MARGINS]
        for margin, side, stretch in shapes:
            image, label = fc.close_up(pixels, box, margin, side, stretch)
            row = f"margin {round(100 * margin):2d} %, {side:4d} px" + (
                " stretched square" if stretch else ""
            )
            for who in contenders:
                face = found_face(who.detect(image), label, image.shape[1], image.shape[0])
                tally.add("close-up", row, who.name, face is not None)
                if face is not None and name in originals[who.name]:
                    cos = float(who.embedding(image, face) @ originals[who.name][name])
                    tally.note("close-up", row, f"{who.name} Sim>=99", float(to_similarity(cos)))


def cut_faces(refs, contenders: list[Contender], tally: Tally) -> None:  # type: ignore[no-untyped-def]
    for _name, pixels, box in refs:
        for visible in VISIBLE:
            for side in CUT_SIDES:
                image, label = fc.cut_by_frame(pixels, box, side, visible)
                for who in contenders:
                    face = found_face(who.detect(image), label, image.shape[1], image.shape[0])
                    tally.add(
                        "cut by the frame",
                        f"{round(100 * visible)} % visible, {side}",
                        who.name,
                        face is not None,
                    )
                    tally.add(
                        "cut by the frame",
                        f"{round(100 * visible)} % visible, all sides",
                        who.name,
                        face is not None,
                    )


def rolls(refs, contenders: list[Contender], tally: Tally) -> None:  # type: ignore[no-untyped-def]
    originals = original_embeddings(refs, contenders)
    for _name, pixels, box in refs:
        for degrees in ROLLS:
            image, label = fc.rolled(pixels, box, degrees)
            for who in contenders:
                face = found_face(who.detect(image), label, image.shape[1], image.shape[0])
                tally.add("roll", f"{degrees:+d} degrees", who.name, face is not None)
                if face is not None:
                    error = abs(estimate_pose(face.landmarks).roll - (-degrees))
                    tally.note("roll", f"{degrees:+d} degrees", f"{who.name} |Roll err|", error)
                    if _name in originals[who.name]:
                        cos = float(who.embedding(image, face) @ originals[who.name][_name])
                        tally.note(
                            "roll", f"{degrees:+d} degrees", f"{who.name} Sim>=99", float(to_similarity(cos))
                        )


def minimum_faces(refs, shared: Path, contenders: list[Contender], tally: Tally) -> None:  # type: ignore[no-untyped-def]
    background = decode_image((shared / "faces" / "noface" / "forest-5524569_640.jpg").read_bytes()).pixels
    faces = [(pixels, box) for _name, pixels, box in refs]
    per_scene = 12
    for width, height in ((1024, 1024), (1920, 1080), (4000, 3000)):
        face_px = pass_plan.min_face_size(width, height)
        row = f"{width} x {height}, faces {face_px:.0f} px"
        for start in range(0, min(len(faces), 10 * per_scene), per_scene):
            scene, labels = fc.small_faces_scene(
                faces[start : start + per_scene], background, (width, height), face_px
            )
            for who in contenders:
                found = who.detect(scene)
                for label in labels:
                    tally.add(
                        "Rekognition minimum",
                        row,
                        who.name,
                        found_face(found, label, width, height) is not None,
                    )
                extra = sum(1 for f in found if not any(fc.matches(lb, f.box) for lb in labels))
                tally.note("Rekognition minimum", row, f"{who.name} extra", extra)


def turned(shared: Path, contenders: list[Contender], tally: Tally) -> None:
    london = shared / "faces" / "london"
    for folder in ("lisa", "zoom"):
        for path in fc.photos(london / folder):
            pixels = decode_image(path.read_bytes()).pixels
            for who in contenders:
                faces = who.detect(pixels)
                tally.add("turned", f"London {folder} (1 face a photo)", who.name, len(faces) >= 1)
                if faces:
                    pose = estimate_pose(faces[0].landmarks)
                    tally.note(
                        "turned", f"London {folder} (1 face a photo)", f"{who.name} |yaw|", abs(pose.yaw)
                    )


def groups(shared: Path, contenders: list[Contender], tally: Tally) -> None:
    folder = shared / "faces" / "groups"
    for file, labelled in sorted(fc.group_labels(folder).items()):
        pixels = decode_image((folder / file).read_bytes()).pixels
        height, width = pixels.shape[:2]
        for who in contenders:
            faces = who.detect(pixels)
            for face in labelled:
                hit = found_face(faces, face.box, width, height) is not None
                big = min(face.box[2] - face.box[0], face.box[3] - face.box[1]) >= MIN_FACE
                tally.add(
                    "groups",
                    f"labelled faces >= {MIN_FACE} px" if big else f"labelled faces < {MIN_FACE} px",
                    who.name,
                    hit,
                )
                if face.yaw is not None and abs(face.yaw) >= 25:
                    tally.add("turned", "group faces, |yaw| >= 25 (68-point landmarks)", who.name, hit)
            unlabelled = sum(
                1
                for f in faces
                if not any(fc.matches(lb.box, fc.clip(f.box, width, height)) for lb in labelled)
            )
            tally.note("groups", f"labelled faces >= {MIN_FACE} px", f"{who.name} unlabelled", unlabelled)


def no_faces(shared: Path, contenders: list[Contender], tally: Tally) -> None:
    for path in fc.photos(shared / "faces" / "noface"):
        pixels = decode_image(path.read_bytes()).pixels
        for who in contenders:
            tally.add("no face", "photos with no face reported", who.name, not who.detect(pixels))
            tally.note(
                "no face", "photos with no face reported", f"{who.name} faces", len(who.detect(pixels))
            )


def margins(shared: Path, session) -> None:  # type: ignore[no-untyped-def]
    """The score gap DEFAULT_SCORE_THRESHOLD sits in, for the shipped detector."""
    loose = Detector(session, score_threshold=0.5)
    folder = shared / "faces" / "groups"
    weakest = 1.0
    for file, labelled in sorted(fc.group_labels(folder).items()):
        pixels = decode_image((folder / file).read_bytes()).pixels
        faces = loose.detect(pixels)
        for face in labelled:
            if min(face.box[2] - face.box[0], face.box[3] - face.box[1]) >= MIN_FACE:
                best = max((f.score for f in faces if fc.matches(face.box, f.box)), default=0.0)
                weakest = min(weakest, best)
    strongest, strongest_file = 0.0, ""
    for path in fc.photos(shared / "faces" / "noface"):
        top = max((f.score for f in loose.detect(decode_image(path.read_bytes()).pixels)), default=0.0)
        if top > strongest:
            strongest, strongest_file = top, path.name
    print(f"after: weakest labelled group face >= {MIN_FACE} px scores {weakest:.3f}, strongest no-face "
          f"candidate {strongest:.3f} ({strongest_file}), threshold {DEFAULT_SCORE_THRESHOLD}")  # fmt: skip


def size_sweep(refs, session) -> None:  # type: ignore[no-untyped-def]
    """YuNet's recall per face width in the network input: each photo scaled so its face is w px,
    centred in a black canvas, one pass (the numbers behind pass_plan.RELIABLE_MIN_PX / _MAX_PX)."""
    detector = Detector(session)
    print("YuNet recall by face width in the input (one pass, face centred, threshold "
          f"{DEFAULT_SCORE_THRESHOLD}), {len(refs)} photos")  # fmt: skip
    for width in (12, 14, 16, 20, 24, 32, 64, 128, 192, 256, 320, 384, 448, 512):
        hits, scores = 0, []
        for _name, pixels, box in refs:
            # the face scaled to `width` (enlarged if need be), centred in a square of >= 256 px
            h, w = pixels.shape[:2]
            context = max(2.4, 256 / width)
            cx, cy, half = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, (box[2] - box[0]) / 2
            square = (cx - half, cy - half, cx + half, cy + half)  # sized by the box's width
            placement = pass_plan.refine_placement(square, w, h, face_px=width, context=context, max_scale=4.0)
            found = detector.run(Image.fromarray(pixels), placement)
            best = max(
                (
                    float(s)
                    for b, s in zip(found.boxes, found.scores, strict=True)
                    if fc.matches(box, tuple(b))
                ),
                default=0.0,
            )
            scores.append(best)
            hits += best >= DEFAULT_SCORE_THRESHOLD
        print(f"  {width:4d} px: {100 * hits / len(refs):5.1f} % found, median score {np.median(scores):.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--step", type=int, default=1, help="use every n-th London photo")
    parser.add_argument("--sweep", action="store_true", help="also print YuNet's recall per face size")
    parser.add_argument(
        "--only", default="", help="comma-separated sections (close-up,cut,roll,minimum,turned,groups,noface)"
    )
    args = parser.parse_args()
    shared = shared_dir()
    if shared is None:
        print("SKIP: ../shared/faces (or $FACESEARCH_SHARED) not found; detection bench needs it")
        return 0
    started = time.perf_counter()
    legacy = LegacyPipeline()
    session = models.detector_session("int8")
    after_detector = Detector(session)
    contenders = [
        Contender("before", legacy.detector.detect, legacy.embedder),
        Contender("after", after_detector.detect, Embedder(models.embedder_session("int8"))),
    ]
    names = [c.name for c in contenders]
    paths = fc.london_photos(shared, args.step)
    refs = reference_faces(paths, contenders[0])
    legacy_files, int8_files = models.model_files("legacy"), models.model_files("int8")
    print(
        f"{len(refs)} London photos with a reference face (of {len(paths)}); models: before = legacy "
        f"{legacy_files.detector.name} + {legacy_files.embedder.name}, after = int8 "
        f"{int8_files.detector.name} + {int8_files.embedder.name}"
    )
    only = set(filter(None, args.only.split(",")))
    tally = Tally()
    sims = [
        (f"{n} Sim>=99", lambda v: f"{100 * np.mean(np.array(v) >= 99):.1f} % (min {min(v):.1f})")
        for n in names
    ]
    sections = [
        ("close-up", lambda: close_ups(refs, contenders, tally), "close-up", sims),
        ("cut", lambda: cut_faces(refs, contenders, tally), "cut by the frame", []),
        (
            "roll",
            lambda: rolls(refs, contenders, tally),
            "roll",
            [(f"{n} |Roll err|", lambda v: f"median {np.median(v):.1f}") for n in names] + sims,
        ),
        (
            "minimum",
            lambda: minimum_faces(refs, shared, contenders, tally),
            "Rekognition minimum",
            [(f"{n} extra", lambda v: f"{int(sum(v))}") for n in names],
        ),
        (
            "groups",
            lambda: groups(shared, contenders, tally),
            "groups",
            [(f"{n} unlabelled", lambda v: f"{int(sum(v))}") for n in names],
        ),
        (
            "turned",
            lambda: turned(shared, contenders, tally),
            "turned",
            [(f"{n} |yaw|", lambda v: f"{min(v):.0f}-{max(v):.0f}") for n in names],
        ),
        (
            "noface",
            lambda: no_faces(shared, contenders, tally),
            "no face",
            [(f"{n} faces", lambda v: f"{int(sum(v))}") for n in names],
        ),
    ]
    for key, run, title, extra in sections:
        if only and key not in only:
            continue
        begun = time.perf_counter()
        run()
        print(f"\n{title} ({time.perf_counter() - begun:.0f} s)")
        tally.print(title, names, extra)
        if key == "groups":
            print("(the |yaw| >= 25 group faces are in the turned table)")
    if not only or "noface" in only:
        margins(shared, session)
    if args.sweep:
        size_sweep(refs[::4], session)
    print(f"\nwall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
