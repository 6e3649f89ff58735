"""Does the detector find every face Rekognition finds? Recall per case, an earlier commit against today, in one run.

    .venv/bin/python -m bench.detection                      # every case, all 244 London photos (~25 min)
    .venv/bin/python -m bench.detection --step 4             # every 4th photo (a few minutes)
    .venv/bin/python -m bench.detection --step 40 --only close-up,noface    # a quick look (about a minute)
    .venv/bin/python -m bench.detection --before b0e0cb2^1   # against the pipeline before multi-scale detection
    .venv/bin/python -m bench.detection --sweep              # also YuNet's recall per face size (pass_plan.py)

"before" is the face pipeline of another commit (--before REV; by default the newest commit whose pipeline
differs from the working tree's) on its own models, "after" the working tree's on the models the service
loads, each in a process of its own (bench/common/revision.py), both given the same images. Cases, all made
in memory from ../shared photos (bench/face_cases.py), each face's reference box being the face "before"
finds in the full London photo:
- close-up: the face box with 0/10/25/50 % margin, saved at 112/400/800/2000 px (longer side), and
  at 800 x 800 stretched (issue 8's recipe: the box resized to a square, so the face widens). Also
  "same person": the close-up's face embedding against the full photo's, Similarity >= 99 (the same
  photo re-cropped must match as itself) and the lowest Similarity seen.
- cut by the frame: 30/40/50/60 % of the face box left visible, cut from each side; London (the
  border pass was tuned on every 8th photo: "held out" counts the others) and LFW (`--lfw-step`, offset so
  none of the photos the border pass was tuned on is used), with the share of found faces matching the
  full photo's face at Similarity >= 80.
- groups cut through a face: each labelled group face >= 40 px cut to 50 % by its nearest frame edge (a
  face at the edge of a crowded selfie): that face, the other faces at least half in the picture, faces
  found twice, and unlabelled faces.
- crowded selfies: 5-6 London head-and-shoulder crops side by side (shoulders overlapping), the outer two
  faces cut by the frame to 40 or 50 %.
- occluded: London faces with the mouth (a hand, a phone), the eyes (a band) or a side (another head)
  covered by a no-face photo's texture.
- profile: LFW photos whose centre face the shipped face mesh reads as turned |yaw| >= 45 / >= 60 degrees
  (bench/head_pose.py; the mesh reads full profiles as ~60), and group faces turned >= 25 (their 68 points).
- roll: the photo rotated by -30 .. +30 degrees about the face; also the median |Roll error|.
- Rekognition minimum: London photos scaled so the face is 40 px wide in a 1920 x 1080 scene (and
  proportionally larger in 1024 x 1024 and 4000 x 3000 scenes: 40/1080 of the shorter side).
- turned: the London `lisa` and `zoom` photos (one person, 8 photos), and the labelled group faces
  whose yaw (from their 68-point landmarks) is >= 25 degrees.
- groups: every labelled face of ../shared/faces/groups/*.xml >= 40 px (and the smaller ones).
- no face: faces reported in the 25 ../shared/faces/noface photos (must be 0).
Then, for today's detector only, the score gap its threshold sits in (and with --sweep, recall by face
size). A face is found when a detection's centre lies in the label box and the label's centre in the
detection box (clipped to the image for cut faces). Needs ../shared (or $FACESEARCH_SHARED); skips without it.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bench import face_cases as fc
from bench import head_pose
from bench.common import cli, models, progress, sets
from bench.common.revision import Face, Revision, default_before, introduce
from facesearch.vision import pass_plan
from facesearch.vision.detector import DEFAULT_SCORE_THRESHOLD
from facesearch.vision.image_decoder import decode_image
from facesearch.vision.pose import estimate_pose
from facesearch.vision.similarity import to_similarity

MIN_FACE = 40
MARGINS = (0.0, 0.10, 0.25, 0.50)
SIDES = (112, 400, 800, 2000)
VISIBLE = (0.3, 0.4, 0.5, 0.6)
TUNED_EVERY = 8  # the border pass's factor and padding were compared on every 8th London photo (and LFW's
# every 40th and 60th): the held-out rows leave those out
OCCLUSIONS = ("mouth", "eyes", "side")
PATCHES = ("road-1072821_640.jpg", "tree-736885_640.jpg", "coffee.png")
CUT_SIDES = ("left", "right", "top", "bottom")
ROLLS = (-30, -20, -10, 0, 10, 20, 30)


@dataclass(frozen=True)
class Reference:
    name: str  # the London photo's file name
    pixels: np.ndarray
    box: sets.Box  # the face "before" finds in it
    index: int = 0  # its place in the photo list (the held-out rows skip every TUNED_EVERY-th)


@dataclass
class Run:
    """What every section reads and where it counts."""

    shared: Path
    refs: list[Reference]
    lfw_refs: list[Reference]
    contenders: dict[str, Revision]
    tally: fc.Tally
    originals: dict[str, dict[str, np.ndarray]]  # contender -> photo -> embedding of the full photo's face

    def found(self, who: str, image: np.ndarray, label: sets.Box) -> Face | None:
        return fc.found_face(self.contenders[who].detect_one(image), label, image.shape[1], image.shape[0])

    def similarity(self, who: str, name: str, image: np.ndarray, face: Face) -> float | None:
        """Similarity of a case's face to the same contender's face in the full photo."""
        if name not in self.originals[who]:
            return None
        return float(to_similarity(float(self.contenders[who].embed(image, [face])[0] @ self.originals[who][name])))


def reference_faces(paths: list[Path], before: Revision, step: int = 1, centre: bool = False) -> list[Reference]:
    """Each photo's largest face (or the one nearest its centre) as "before" finds it."""
    refs = []
    for k, path in enumerate(progress.bar(paths, "reference faces")):
        pixels = decode_image(path.read_bytes()).pixels
        if faces := before.detect_one(pixels):
            middle = np.array(pixels.shape[1::-1]) / 2
            face = min(faces, key=lambda f: float(np.hypot(*(np.add(f.box[:2], f.box[2:]) / 2 - middle)))) \
                if centre else faces[0]
            refs.append(Reference(path.name, pixels, face.box, k * step))
    return refs


def original_embeddings(refs: list[Reference], contenders: dict[str, Revision]) -> dict[str, dict[str, np.ndarray]]:
    """Each contender's embedding of each full London photo's reference face."""
    originals: dict[str, dict[str, np.ndarray]] = {name: {} for name in contenders}
    for ref in progress.bar(refs, "embeddings of the full photos"):
        for name, who in contenders.items():
            face = fc.found_face(who.detect_one(ref.pixels), ref.box, ref.pixels.shape[1], ref.pixels.shape[0])
            if face is not None:
                originals[name][ref.name] = who.embed(ref.pixels, [face])[0]
    return originals


def close_ups(run: Run) -> None:
    shapes = [(m, side, False) for m in MARGINS for side in SIDES] + [(m, 800, True) for m in MARGINS]
    for ref in progress.bar(run.refs, "close-ups"):
        for margin, side, stretch in shapes:
            image, label = fc.close_up(ref.pixels, ref.box, margin, side, stretch)
            row = f"margin {round(100 * margin):2d} %, {side:4d} px" + (" stretched square" if stretch else "")
            for who in run.contenders:
                face = run.found(who, image, label)
                run.tally.add("close-up", row, who, face is not None)
                if face is not None and (similarity := run.similarity(who, ref.name, image, face)) is not None:
                    run.tally.note("close-up", row, f"{who} Sim>=99", similarity)


def cut_faces(run: Run, lfw: bool = False) -> None:
    section = "cut by the frame, LFW" if lfw else "cut by the frame"
    refs = run.lfw_refs if lfw else run.refs
    for ref in progress.bar(refs, section):
        held_out = not lfw and ref.index % TUNED_EVERY != 0
        for visible in VISIBLE:
            for side in CUT_SIDES:
                image, label = fc.cut_by_frame(ref.pixels, ref.box, side, visible)
                if min(image.shape[:2]) < 40:
                    continue
                for who in run.contenders:
                    face = run.found(who, image, label)
                    rows = [side, "all sides"] + (["all sides, held out"] if held_out else [])
                    for where in rows:
                        run.tally.add(section, f"{round(100 * visible)} % visible, {where}", who, face is not None)
                    if face is not None and not lfw and (similarity := run.similarity(who, ref.name, image, face)):
                        run.tally.note(section, f"{round(100 * visible)} % visible, all sides", f"{who} Sim>=80",
                                       similarity)


def cut_lfw(run: Run) -> None:
    cut_faces(run, lfw=True)


def crowds(run: Run, scenes: int = 20) -> None:
    """Group selfies (face_cases.crowd): 5 or 6 London people side by side in 1600 x 900, the outer two cut
    by the frame to 40 or 50 %; the faces found, those cut, found twice, and faces where nobody is."""
    section = "crowded selfies"
    for k in progress.bar(range(scenes), section):
        count, visible = (5, 0.4) if k % 2 else (6, 0.5)
        people = [(ref.pixels, ref.box) for ref in run.refs[(7 * k) % len(run.refs) :: 11][:count]]
        if len(people) < count:
            continue
        image, labels = fc.crowd(people, (1600, 900), visible, 0.7)
        inside = [fc.clip(label, 1600, 900) for label in labels]
        row = f"{count} people, the outer two {round(100 * visible)} % in the picture"
        for name, who in run.contenders.items():
            faces = who.detect_one(image)
            for i, label in enumerate(inside):
                hit = fc.found_face(faces, label, 1600, 900) is not None
                run.tally.add(section, row, name, hit)
                if i in (0, count - 1):
                    run.tally.add(section, f"  the two cut to {round(100 * visible)} %", name, hit)
            run.tally.note(section, row, f"{name} twice", duplicates(faces, inside, 1600, 900))
            run.tally.note(section, row, f"{name} unlabelled", sum(
                1 for f in faces if not any(fc.matches(b, fc.clip(f.box, 1600, 900)) for b in inside)))


def occlusions(run: Run) -> None:
    noface = run.shared / "faces" / "noface"
    patches = [decode_image((noface / name).read_bytes()).pixels for name in PATCHES]
    for k, ref in enumerate(progress.bar(run.refs, "occluded")):
        for part in OCCLUSIONS:
            image = fc.occluded(ref.pixels, ref.box, part, patches[k % len(patches)])
            for who in run.contenders:
                run.tally.add("occluded", f"{part} covered", who, run.found(who, image, ref.box) is not None)


def rolls(run: Run) -> None:
    for ref in progress.bar(run.refs, "rolls"):
        for degrees in ROLLS:
            image, label = fc.rolled(ref.pixels, ref.box, degrees)
            row = f"{degrees:+d} degrees"
            for who in run.contenders:
                face = run.found(who, image, label)
                run.tally.add("roll", row, who, face is not None)
                if face is not None:
                    run.tally.note("roll", row, f"{who} |Roll err|", abs(estimate_pose(face.landmarks).roll + degrees))
                    if (similarity := run.similarity(who, ref.name, image, face)) is not None:
                        run.tally.note("roll", row, f"{who} Sim>=99", similarity)


def minimum_faces(run: Run, per_scene: int = 12) -> None:
    background = decode_image((run.shared / "faces" / "noface" / "forest-5524569_640.jpg").read_bytes()).pixels
    faces = [(ref.pixels, ref.box) for ref in run.refs]
    for width, height in ((1024, 1024), (1920, 1080), (4000, 3000)):
        face_px = pass_plan.min_face_size(width, height)
        row = f"{width} x {height}, faces {face_px:.0f} px"
        for start in progress.bar(range(0, min(len(faces), 10 * per_scene), per_scene), row):
            scene, labels = fc.small_faces_scene(faces[start : start + per_scene], background, (width, height),
                                                 face_px)
            for name, who in run.contenders.items():
                found = who.detect_one(scene)
                for label in labels:
                    hit = fc.found_face(found, label, width, height) is not None
                    run.tally.add("Rekognition minimum", row, name, hit)
                extra = sum(1 for f in found if not any(fc.matches(lb, f.box) for lb in labels))
                run.tally.note("Rekognition minimum", row, f"{name} extra", extra)


def turned(run: Run) -> None:
    for folder in ("lisa", "zoom"):
        row = f"London {folder} (1 face a photo)"
        for path in sets.photos(run.shared / "faces" / "london" / folder):
            pixels = decode_image(path.read_bytes()).pixels
            for name, who in run.contenders.items():
                faces = who.detect_one(pixels)
                run.tally.add("turned", row, name, len(faces) >= 1)
                if faces:
                    run.tally.note("turned", row, f"{name} |yaw|", abs(estimate_pose(faces[0].landmarks).yaw))


def groups(run: Run) -> None:
    folder = run.shared / "faces" / "groups"
    for file, labelled in sorted(sets.group_labels(folder).items()):
        pixels = decode_image((folder / file).read_bytes()).pixels
        height, width = pixels.shape[:2]
        for name, who in run.contenders.items():
            faces = who.detect_one(pixels)
            for face in labelled:
                hit = fc.found_face(faces, face.box, width, height) is not None
                big = min(face.box[2] - face.box[0], face.box[3] - face.box[1]) >= MIN_FACE
                run.tally.add("groups", f"labelled faces {'>=' if big else '<'} {MIN_FACE} px", name, hit)
                if face.yaw is not None and abs(face.yaw) >= 25:
                    run.tally.add("turned", "group faces, |yaw| >= 25 (68-point landmarks)", name, hit)
            unlabelled = sum(1 for f in faces
                             if not any(fc.matches(lb.box, fc.clip(f.box, width, height)) for lb in labelled))
            run.tally.note("groups", f"labelled faces >= {MIN_FACE} px", f"{name} unlabelled", unlabelled)
            run.tally.note("groups", f"labelled faces >= {MIN_FACE} px", f"{name} twice", duplicates(faces, [
                lb.box for lb in labelled], width, height))


def duplicates(faces: list[Face], labels: list[sets.Box], width: int, height: int) -> int:
    """Labelled faces that two detections match."""
    return sum(sum(fc.matches(label, fc.clip(f.box, width, height)) for f in faces) > 1 for label in labels)


def groups_cut(run: Run) -> None:
    """Each labelled face >= MIN_FACE px cut to half by its nearest frame edge, the photo's other faces around."""
    folder = run.shared / "faces" / "groups"
    section = "groups cut through a face"
    for file, labelled in progress.bar(sorted(sets.group_labels(folder).items()), section):
        pixels = decode_image((folder / file).read_bytes()).pixels
        for target in labelled:
            if min(target.box[2] - target.box[0], target.box[3] - target.box[1]) < MIN_FACE:
                continue
            image, (left, top) = fc.cut_through(pixels, target.box, 0.5)
            height, width = image.shape[:2]
            moved = [(lb.box[0] - left, lb.box[1] - top, lb.box[2] - left, lb.box[3] - top) for lb in labelled]
            cut = moved[labelled.index(target)]
            label = fc.clip(cut, width, height)
            others = [fc.clip(b, width, height) for b, lb in zip(moved, labelled, strict=True) if lb is not target
                      and visible_share(b, width, height) >= 0.5 and min(b[2] - b[0], b[3] - b[1]) >= MIN_FACE]
            for name, who in run.contenders.items():
                faces = who.detect_one(image)
                hit = fc.found_face(faces, label, width, height) is not None
                run.tally.add(section, "the face cut to 50 %", name, hit)
                for other in others:
                    hit = fc.found_face(faces, other, width, height) is not None
                    run.tally.add(section, f"other faces >= {MIN_FACE} px, >= 50 % in the picture", name, hit)
                inside = [fc.clip(b, width, height) for b in moved if visible_share(b, width, height) > 0]
                twice = duplicates(faces, inside, width, height)
                run.tally.note(section, "the face cut to 50 %", f"{name} twice", twice)
                run.tally.note(section, "the face cut to 50 %", f"{name} unlabelled", sum(
                    1 for f in faces if not any(fc.matches(b, fc.clip(f.box, width, height)) for b in inside)))


def visible_share(box: sets.Box, width: int, height: int) -> float:
    x1, y1, x2, y2 = box
    inside = max(0.0, min(x2, width) - max(x1, 0.0)) * max(0.0, min(y2, height) - max(y1, 0.0))
    return inside / max((x2 - x1) * (y2 - y1), 1e-9)


LFW_FACE = (78.0, 67.0, 173.0, 190.0)  # where LFW's deep-funneled photos put the labelled face (median YuNet box)


def turned_lfw(run: Run) -> list[tuple[Reference, float]]:
    """LFW photos whose centre face the face mesh reads as turned >= 45 degrees, with that yaw; the yaw of
    every photo is cached in .cache/bench by the mesh model and this code."""
    files = sets.lfw_photos(run.shared / "faces" / "lfw")
    key = hashlib.sha256((models.model_dir() / "face_mesh_v2.onnx").read_bytes()
                         + Path(head_pose.__file__).read_bytes()).hexdigest()
    cache = sets.REPO / ".cache" / "bench" / f"lfw_mesh_yaw_{key[:16]}.json"
    if cache.is_file():
        yaws: dict[str, float] = json.loads(cache.read_text())
    else:
        pose = head_pose.HeadPose()
        pose.fit_reference([(Image.fromarray(ref.pixels), ref.box) for ref in run.refs[:40]])
        yaws = {path.name: pose.yaw(Image.open(path).convert("RGB"), LFW_FACE)
                for path in progress.bar(files, "mesh yaw of LFW's centre faces")}
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(yaws))
    return [(Reference(path.name, decode_image(path.read_bytes()).pixels, LFW_FACE), yaws[path.name])
            for path in files if abs(yaws[path.name]) >= 45]


TURNED_FACES = Path(__file__).with_name("data") / "lfw_turned_faces.csv"


def turned_background_faces(run: Run) -> None:
    """The faces of bench/data/lfw_turned_faces.csv: people behind LFW's labelled person whom the face mesh
    reads as turned >= 60 degrees, each confirmed a face by eye. They were collected as every candidate of
    YuNet at 0.4 and MediaPipe's BlazeFace short- and full-range at 0.5 in all LFW photos (so a face that none
    of them saw is not in the set), then 8 of 54 were left out as not faces (ears, backs of heads, hair)."""
    import csv

    images = run.shared / "faces" / "lfw" / "images"
    row = "LFW background faces, mesh |yaw| >= 60, by eye"
    for entry in csv.DictReader(TURNED_FACES.open()):
        path = images / entry["photo"].rsplit("_", 1)[0] / entry["photo"]
        pixels = decode_image(path.read_bytes()).pixels
        label = (float(entry["x1"]), float(entry["y1"]), float(entry["x2"]), float(entry["y2"]))
        for name in run.contenders:
            face = run.found(name, pixels, label)
            run.tally.add("profile", row, name, face is not None)
            if face is not None:
                run.tally.note("profile", row, f"{name} |Yaw|", abs(estimate_pose(face.landmarks).yaw))


def profiles(run: Run) -> None:
    """LFW photos whose centre face the face mesh reads as turned >= 45 / 60 degrees (bench/head_pose.py),
    and turned faces behind LFW's labelled people (turned_background_faces)."""
    turned_background_faces(run)
    for ref, yaw in progress.bar(turned_lfw(run), "profile"):
        for name in run.contenders:
            face = run.found(name, ref.pixels, ref.box)
            for least in (45, 60):
                if abs(yaw) >= least:
                    row = f"LFW centre faces, mesh |yaw| >= {least}"
                    run.tally.add("profile", row, name, face is not None)
                    if face is not None:
                        run.tally.note("profile", row, f"{name} |Yaw|", abs(estimate_pose(face.landmarks).yaw))


def no_faces(run: Run) -> None:
    for path in sets.photos(run.shared / "faces" / "noface"):
        pixels = decode_image(path.read_bytes()).pixels
        for name, who in run.contenders.items():
            found = len(who.detect_one(pixels))
            run.tally.add("no face", "photos with no face reported", name, not found)
            run.tally.note("no face", "photos with no face reported", f"{name} faces", found)


Column = tuple[str, Callable[[list[float]], str]]


def total(values: list[float]) -> str:
    return f"{int(sum(values))}"


def sections(names: list[str]) -> dict[str, tuple[str, Callable[[Run], None], list[Column]]]:
    """key -> (table title, the section, its extra columns)."""
    sims: list[Column] = [(f"{n} Sim>=99", lambda v: f"{100 * np.mean(np.array(v) >= 99):.1f} % (min {min(v):.1f})")
                          for n in names]
    return {
        "close-up": ("close-up", close_ups, sims),
        "cut": ("cut by the frame", cut_faces, [(f"{n} Sim>=80", lambda v: f"{100 * np.mean(np.array(v) >= 80):.1f} %")
                                                for n in names]),
        "roll": ("roll", rolls, [(f"{n} |Roll err|", lambda v: f"median {np.median(v):.1f}") for n in names] + sims),
        "minimum": ("Rekognition minimum", minimum_faces, [(f"{n} extra", total) for n in names]),
        "cut-lfw": ("cut by the frame, LFW", cut_lfw, []),
        "groups": ("groups", groups, [(f"{n} {c}", total) for n in names for c in ("unlabelled", "twice")]),
        "group-cut": ("groups cut through a face", groups_cut, [(f"{n} {c}", total) for n in names
                                                                 for c in ("twice", "unlabelled")]),
        "crowd": ("crowded selfies", crowds, [(f"{n} {c}", total) for n in names for c in ("twice", "unlabelled")]),
        "occluded": ("occluded", occlusions, []),
        "profile": ("profile", profiles, [(f"{n} |Yaw|", lambda v: f"median {np.median(v):.0f}") for n in names]),
        "turned": ("turned", turned, [(f"{n} |yaw|", lambda v: f"{min(v):.0f}-{max(v):.0f}") for n in names]),
        "noface": ("no face", no_faces, [(f"{n} faces", total) for n in names]),
    }


def margins(shared: Path) -> None:
    """The score gap DEFAULT_SCORE_THRESHOLD sits in, for today's detector."""
    loose = models.detector(score_threshold=0.5)
    folder = shared / "faces" / "groups"
    weakest = 1.0
    for file, labelled in sorted(sets.group_labels(folder).items()):
        faces = loose.detect(decode_image((folder / file).read_bytes()).pixels)
        for face in labelled:
            if min(face.box[2] - face.box[0], face.box[3] - face.box[1]) >= MIN_FACE:
                weakest = min(weakest, max((f.score for f in faces if fc.matches(face.box, f.box)), default=0.0))
    strongest = max(((max((f.score for f in loose.detect(decode_image(path.read_bytes()).pixels)), default=0.0),
                      path.name) for path in sets.photos(shared / "faces" / "noface")), key=lambda pair: pair[0])
    print(f"after: weakest labelled group face >= {MIN_FACE} px scores {weakest:.3f}, strongest no-face "
          f"candidate {strongest[0]:.3f} ({strongest[1]}), threshold {DEFAULT_SCORE_THRESHOLD}")


def size_sweep(refs: list[Reference]) -> None:
    """YuNet's recall per face width in the network input: each photo scaled so its face is w px,
    centred in a black canvas, one pass (the numbers behind pass_plan.RELIABLE_MIN_PX / _MAX_PX)."""
    detector = models.detector()
    print(f"YuNet recall by face width in the input (one pass, face centred, threshold {DEFAULT_SCORE_THRESHOLD}), "
          f"{len(refs)} photos")
    for width in (12, 14, 16, 20, 24, 32, 64, 128, 192, 256, 320, 384, 448, 512):
        scores = []
        for ref in refs:
            # the face scaled to `width` (enlarged if need be), centred in a square of >= 256 px
            h, w = ref.pixels.shape[:2]
            (x1, y1, x2, _), context = ref.box, max(2.4, 256 / width)
            cx, cy, half = (x1 + x2) / 2, (y1 + ref.box[3]) / 2, (x2 - x1) / 2
            square = (cx - half, cy - half, cx + half, cy + half)  # sized by the box's width
            placement = pass_plan.refine_placement(square, w, h, face_px=width, context=context, max_scale=4.0)
            found = detector.run(Image.fromarray(ref.pixels), placement)
            scores.append(max((float(s) for b, s in zip(found.boxes, found.scores, strict=True)
                               if fc.matches(ref.box, tuple(b))), default=0.0))
        hits = sum(score >= DEFAULT_SCORE_THRESHOLD for score in scores)
        print(f"  {width:4d} px: {100 * hits / len(refs):5.1f} % found, median score {np.median(scores):.3f}")


def main() -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--step", type=int, default=1, help="use every n-th London photo")
    parser.add_argument("--sweep", action="store_true", help="also print YuNet's recall per face size")
    parser.add_argument("--lfw-step", type=int, default=40, help="LFW photos for the LFW cut cases: every n-th, "
                                                                  "from the 8th (none the border pass was tuned on)")
    parser.add_argument("--only", default="", help="comma-separated sections (close-up,cut,cut-lfw,roll,minimum,"
                                                   "turned,groups,group-cut,crowd,occluded,profile,noface)")
    cli.add_before(parser)
    args = parser.parse_args()
    if (shared := sets.shared_or_skip("faces/london", "the detection bench")) is None:
        return 0
    started, only = time.perf_counter(), set(filter(None, args.only.split(",")))
    threads = models.threads()
    with Revision(args.before or default_before(), threads) as old, Revision.working_tree(threads) as new:
        contenders = {"before": old, "after": new}
        print(introduce(contenders, chosen=args.before is not None))
        paths = sets.one_face_photos(shared, args.step)
        refs = reference_faces(paths, old)
        print(f"{len(refs)} London photos with a reference face (of {len(paths)})")
        wanted = {key: section for key, section in sections(list(contenders)).items() if not only or key in only}
        originals = original_embeddings(refs, contenders) if {"close-up", "roll", "cut"} & set(wanted) else {}
        lfw = sets.lfw_photos(shared / "faces" / "lfw")[7 :: args.lfw_step] if "cut-lfw" in wanted else []
        lfw_refs = reference_faces(lfw, old, centre=True)
        run = Run(shared, refs, lfw_refs, contenders, fc.Tally(), originals)
        for key, (title, section, extra) in wanted.items():
            begun = time.perf_counter()
            section(run)
            print(f"\n{title} ({time.perf_counter() - begun:.0f} s)")
            print(run.tally.table(title, list(contenders), extra))
            if key == "groups":
                print("(the |yaw| >= 25 group faces are in the turned table)")
    if "noface" in wanted:
        margins(shared)
    if args.sweep:
        size_sweep(refs[::4])
    print(f"\nwall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
