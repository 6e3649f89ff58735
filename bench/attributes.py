"""Face attributes: accuracy against labels, next to the shipped thresholds, and their cost at 1 thread.

    .venv/bin/python -m bench.attributes [--fit] [--repeats 15] [--skip-accuracy]

Sets (../shared or $FACESEARCH_SHARED; without them the script prints SKIP and exits 0):
- London: 102 people x (neutral_front, smiling_front), 1024 px; london_info.csv gives age and gender.
  Gender accuracy, age MAE and the share of true ages inside AgeRange, Smile AUC and accuracy (smiling vs
  neutral photo), Emotions (neutral photo -> CALM, smiling -> HAPPY), EyeDirection on camera-directed gaze.
- bench/data/lfw_eyes_mouth_labels.csv: LFW photos labelled by looking at them (EyesOpen, MouthOpen;
  "unsure" rows are left out), see docs/attributes.md for how they were chosen.
Constants are fitted on the same sets, so every accuracy is also given 2-fold cross-validated (folds by
person: even / odd London id, alternate rows of the label file): fit on one half, score the other.
`--fit` prints the constants to paste into facesearch/vision/attributes/calibration.py.

Cost: the median ms per attribute model per face at 1 intra-op thread (pre-processing included), and a
DetectFaces-style call on a 1024 px one-face London photo with DEFAULT vs ALL attributes, alternated call
by call in the same run (medians and the ratio).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common.data import REPO, shared_dir
from facesearch.vision import onnx as models
from facesearch.vision.attributes import calibration, gaze
from facesearch.vision.attributes.analyzer import ALL, AttributeAnalyzer, FaceInput
from facesearch.vision.attributes.calibration import Platt
from facesearch.vision.detector import Detection, Detector
from facesearch.vision.image_decoder import decode_image
from facesearch.vision.pipeline import FacePipeline

LABELS = REPO / "bench" / "data" / "lfw_eyes_mouth_labels.csv"


@dataclass(frozen=True)
class Scores:
    """Raw model outputs for one photo's face."""

    age_mean: float
    p_male: float
    smile: float  # smile feature (logit)
    eyes_closed: float  # eyes-closed feature (logit)
    mouth_open: float  # mouth-open feature
    emotions: dict[str, float]
    iris: tuple[float, float] | None


def one_thread(task: str):  # type: ignore[no-untyped-def]
    return models.create_session(str(models.model_path(task)), 1)


def nearest_centre(detections: list[Detection], width: int, height: int) -> Detection:
    centre = np.array([width / 2, height / 2])
    return min(detections, key=lambda d: float(np.hypot(*(np.array(d.box[:2]) + d.box[2:]) / 2 - centre)))


def score_photo(path: Path, detector: Detector, analyzer: AttributeAnalyzer) -> Scores | None:
    image = decode_image(path.read_bytes())
    detections = detector.detect(image.pixels)
    if not detections:
        return None
    face = nearest_centre(detections, image.width, image.height)
    pil = image.picture
    age = analyzer.age.run(pil, [face.landmarks])[0]
    gender = analyzer.gender.run(pil, [face.landmarks])[0]
    mesh = analyzer.face_mesh.run(pil, [(face.landmarks, face.box)])[0]
    b = analyzer.blendshapes.run(mesh)
    emotions = analyzer.emotions.run(pil, [(face.landmarks, face.box)])[0]
    return Scores(
        age_mean=age.mean,
        p_male=gender.p_male,
        smile=calibration.smile_feature(b["mouthSmileLeft"], b["mouthSmileRight"]),
        eyes_closed=calibration.eyes_closed_feature(b["eyeBlinkLeft"], b["eyeBlinkRight"]),
        mouth_open=calibration.mouth_open_feature(b["jawOpen"], b["mouthClose"]),
        emotions={e.type: e.confidence for e in emotions},
        iris=gaze.iris_offsets(mesh.points),
    )


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a random positive scores above a random negative), ties half."""
    pos, neg = np.asarray(positive)[:, None], np.asarray(negative)[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def platt_report(
    name: str, features: np.ndarray, labels: np.ndarray, folds: np.ndarray, shipped: Platt
) -> Platt:
    """Accuracy at the shipped constants, and 2-fold cross-validated; returns the all-data fit."""
    labels = labels.astype(bool)
    shipped_acc = float(np.mean((np.array([shipped.probability(x) for x in features]) >= 0.5) == labels))
    correct = []
    for k in (0, 1):
        fit = calibration.fit_platt(features[folds != k], labels[folds != k])
        predicted = np.array([fit.probability(x) for x in features[folds == k]]) >= 0.5
        correct.extend(predicted == labels[folds == k])
    print(f"  {name:10s} n={len(labels):3d} (+{labels.sum()} / -{(~labels).sum()})  "
          f"AUC {auc(features[labels], features[~labels]):.3f}  accuracy at shipped threshold "
          f"{100 * shipped_acc:.1f} %  2-fold CV {100 * np.mean(correct):.1f} %  "
          f"(shipped P=0.5 at feature {shipped.threshold():+.3f})")  # fmt: skip
    return calibration.fit_platt(features, labels)


def accuracy(shared: Path, detector: Detector, analyzer: AttributeAnalyzer, fit: bool) -> None:
    london = shared / "faces" / "london"
    info = {row["face_id"]: row for row in csv.DictReader((london / "london_info.csv").open())}
    rows: list[tuple[str, bool, Scores]] = []
    for kind in ("neutral_front", "smiling_front"):
        for path in sorted((london / kind).glob("*.jpg")):
            scores = score_photo(path, detector, analyzer)
            if scores is None:
                print(f"  no face in {kind}/{path.name}")
                continue
            rows.append((path.name[:3], kind == "smiling_front", scores))
    ids = np.array([int(pid) for pid, _, _ in rows])
    folds = ids % 2
    print(f"London: {len(rows)} photos with a face of {2 * len(info)}")

    male = np.array([info[pid]["face_gender"] == "male" for pid, _, _ in rows])
    p_male = np.array([s.p_male for _, _, s in rows])
    gender_right = (p_male >= 0.5) == male
    print(f"  Gender     accuracy {100 * np.mean(gender_right):.1f} % ({np.sum(gender_right)}/{len(male)}; "
          f"threshold P(male) 0.5, no fitting; target >= 97 %)")  # fmt: skip

    known = np.array([info[pid]["face_age"] != "NA" for pid, _, _ in rows])
    ages = np.array(
        [float(info[pid]["face_age"]) if ok else np.nan for (pid, _, _), ok in zip(rows, known, strict=True)]
    )
    means = np.array([s.age_mean for _, _, s in rows])
    ranges = np.array([calibration.age_range(m) for m in means])
    inside = (ages >= ranges[:, 0]) & (ages <= ranges[:, 1])
    cv_inside, cv_width = [], []
    for k in (0, 1):
        train, test = known & (folds != k), known & (folds == k)
        half = calibration.fit_age_half_width(means[train], ages[train])
        r = np.array([calibration.age_range(m, half) for m in means[test]])
        cv_inside.extend((ages[test] >= r[:, 0]) & (ages[test] <= r[:, 1]))
        cv_width.extend(r[:, 1] - r[:, 0])
    error = (means - ages)[known]
    width = np.mean((ranges[:, 1] - ranges[:, 0])[known])
    print(f"  Age        MAE {np.mean(np.abs(error)):.2f} y (mean error {np.mean(error):+.2f}; "
          f"true ages {np.nanmin(ages):.0f}-{np.nanmax(ages):.0f}, n={known.sum()})  "
          f"inside AgeRange {100 * np.mean(inside[known]):.1f} % (width {width:.1f} y, "
          f"half-width {calibration.AGE_RELATIVE_HALF_WIDTH} x age; target >= 80 %)  "
          f"2-fold CV {100 * np.mean(cv_inside):.1f} % (width {np.mean(cv_width):.1f} y)")  # fmt: skip

    smiling = np.array([s for _, s, _ in rows])
    smile = np.array([s.smile for _, _, s in rows])
    smile_fit = platt_report("Smile", smile, smiling, folds, calibration.SMILE)

    happy = np.array([s.emotions["HAPPY"] for _, _, s in rows])
    top = [max(s.emotions, key=s.emotions.__getitem__) for _, _, s in rows]
    calm_share = np.mean([t == "CALM" for t, k in zip(top, smiling, strict=True) if not k])
    happy_share = np.mean([t == "HAPPY" for t, k in zip(top, smiling, strict=True) if k])
    print(f"  Emotions   neutral photo -> top CALM {100 * calm_share:.1f} %, "
          f"smiling photo -> top HAPPY {100 * happy_share:.1f} %, "
          f"HAPPY confidence AUC smiling vs neutral {auc(happy[smiling], happy[~smiling]):.3f} "
          f"(no fitting)")  # fmt: skip

    iris = np.array([s.iris for _, _, s in rows if s.iris is not None])
    zero = (calibration.GAZE_ZERO_YAW, calibration.GAZE_ZERO_PITCH)
    angles = np.array([[g.yaw, g.pitch] for g in (gaze.gaze_from_offsets(tuple(o), zero) for o in iris)])
    raw = np.array([[g.yaw, g.pitch] for g in (gaze.gaze_from_offsets(tuple(o)) for o in iris)])
    iris_folds = np.array([f for f, (_, _, s) in zip(folds, rows, strict=True) if s.iris is not None])
    cv = []
    for k in (0, 1):
        z = iris[iris_folds != k].mean(axis=0)
        cv.extend([gaze.gaze_from_offsets(tuple(o), (z[0], z[1])).pitch for o in iris[iris_folds == k]])
    print(f"  EyeDirection (camera-directed gaze, should read 0): "
          f"yaw {angles[:, 0].mean():+.1f} ± {angles[:, 0].std():.1f}, "
          f"pitch {angles[:, 1].mean():+.1f} ± {angles[:, 1].std():.1f} deg; before the zero offset: yaw "
          f"{raw[:, 0].mean():+.1f}, pitch {raw[:, 1].mean():+.1f}; "
          f"2-fold CV pitch {np.mean(cv):+.1f} ± {np.std(cv):.1f}")  # fmt: skip

    labelled = [r for r in csv.DictReader(LABELS.open()) if r["value"] != "unsure"]
    lfw = shared / "faces" / "lfw" / "images"
    eyes_f, eyes_y, mouth_f, mouth_y, eyes_fold, mouth_fold = [], [], [], [], [], []
    for row in labelled:
        scores = score_photo(lfw / row["lfw_path"], detector, analyzer)
        if scores is None:
            print(f"  no face in {row['lfw_path']}")
            continue
        if row["attribute"] == "EyesOpen":
            eyes_f.append(scores.eyes_closed)
            eyes_y.append(row["value"] == "false")
            eyes_fold.append(len(eyes_f) % 2)
        else:
            mouth_f.append(scores.mouth_open)
            mouth_y.append(row["value"] == "true")
            mouth_fold.append(len(mouth_f) % 2)
    print(f"LFW labelled by eye ({LABELS.relative_to(REPO)}): {len(labelled)} usable rows")
    eyes_fit = platt_report(
        "EyesClosed", np.array(eyes_f), np.array(eyes_y), np.array(eyes_fold), calibration.EYES_CLOSED
    )
    mouth_fit = platt_report(
        "MouthOpen", np.array(mouth_f), np.array(mouth_y), np.array(mouth_fold), calibration.MOUTH_OPEN
    )
    london_closed = np.array([calibration.EYES_CLOSED.probability(s.eyes_closed) >= 0.5 for _, _, s in rows])
    print(
        f"  EyesOpen on London's studio photos (eyes open by design): "
        f"{100 * (1 - london_closed.mean()):.1f} % called open"
    )

    if fit:
        half = calibration.fit_age_half_width(means[known], ages[known])
        z = iris.mean(axis=0)
        print("\nfitted constants (all data) for calibration.py:")
        print(f"SMILE = Platt(slope={smile_fit.slope:.4f}, intercept={smile_fit.intercept:.4f})")
        print(f"EYES_CLOSED = Platt(slope={eyes_fit.slope:.4f}, intercept={eyes_fit.intercept:.4f})")
        print(f"MOUTH_OPEN = Platt(slope={mouth_fit.slope:.4f}, intercept={mouth_fit.intercept:.4f})")
        print(f"AGE_RELATIVE_HALF_WIDTH = {half}")
        print(f"GAZE_ZERO_YAW = {z[0]:.4f}\nGAZE_ZERO_PITCH = {z[1]:.4f}")


@dataclass(frozen=True)
class Timing:
    wall_ms: float
    cpu_ms: float  # this thread's CPU time: at 1 intra-op thread onnxruntime computes in the caller's thread,
    # so this stays near the quiet-machine figure while other processes load the CPU; wall time does not


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.thread_time()
    fn()
    return 1000 * (time.perf_counter() - wall), 1000 * (time.thread_time() - cpu)


def interleaved(jobs: dict[str, Callable[[], object]], rounds: int) -> dict[str, Timing]:
    """Median wall and CPU ms of each job, the jobs run round-robin so load changes hit all alike."""
    for job in jobs.values():
        job()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in jobs}
    for _ in range(rounds):
        for name, job in jobs.items():
            samples[name].append(timed(job))
    return {
        name: Timing(statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
        for name, values in samples.items()
    }


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def cost(shared: Path, repeats: int) -> None:
    london = shared / "faces" / "london" / "neutral_front"
    photos = sorted(london.glob("*.jpg"))[:5]
    images = [decode_image(p.read_bytes()) for p in photos]
    detector = Detector(models.detector_session("int8", threads=1))
    analyzer = AttributeAnalyzer(one_thread)
    pipeline = FacePipeline(detector, embedder=None)  # type: ignore[arg-type]  # DEFAULT needs no embedding
    print(f"\nCost at 1 thread on {len(photos)} London photos ({images[0].width} px, one face each), "
          f"{repeats} interleaved rounds each, load average {load_average()} at the start:")  # fmt: skip
    per_model: dict[str, list[Timing]] = {}
    calls: dict[str, list[Timing]] = {}
    for image in images:
        pil = Image.fromarray(image.pixels)
        face = detector.detect(image.pixels)[0]
        mesh = analyzer.face_mesh.run(pil, [(face.landmarks, face.box)])[0]
        boxed = [(face.landmarks, face.box)]
        jobs: dict[str, Callable[[], object]] = {
            "face_mesh (crop + mesh)": lambda pil=pil, boxed=boxed: analyzer.face_mesh.run(pil, boxed),
            "blendshapes": lambda mesh=mesh: analyzer.blendshapes.run(mesh),
            "age (chip + int8 model)": lambda pil=pil, lm=face.landmarks: analyzer.age.run(pil, [lm]),
            "gender (chip + model)": lambda pil=pil, lm=face.landmarks: analyzer.gender.run(pil, [lm]),
            "emotions (crop + model)": lambda pil=pil, boxed=boxed: analyzer.emotions.run(pil, boxed),
        }
        for name, timing in interleaved(jobs, repeats).items():
            per_model.setdefault(name, []).append(timing)

        # each call gets a fresh DecodedImage, so it makes its own Pillow copy as a request does
        def default_call(image=image) -> object:  # type: ignore[no-untyped-def]
            return pipeline.analyze(replace(image), with_embeddings=False)

        def all_call(image=image) -> object:  # type: ignore[no-untyped-def]
            fresh = replace(image)
            faces = pipeline.analyze(fresh, with_embeddings=False)
            inputs = [FaceInput(f.detection.landmarks, f.detection.box) for f in faces]
            return analyzer.analyze(fresh.picture, inputs, ALL)

        for name, timing in interleaved({"DEFAULT": default_call, "ALL": all_call}, repeats).items():
            calls.setdefault(name, []).append(timing)

    def summary(values: list[Timing]) -> Timing:
        return Timing(
            statistics.median(t.wall_ms for t in values), statistics.median(t.cpu_ms for t in values)
        )

    for name, values in per_model.items():
        t = summary(values)
        print(f"  {name:26s} {t.wall_ms:6.2f} ms wall  {t.cpu_ms:6.2f} ms CPU  per face")
    d, a = summary(calls["DEFAULT"]), summary(calls["ALL"])
    print(f"  DetectFaces-style call (decode excluded), alternated call by call: DEFAULT {d.wall_ms:.1f} ms wall / "
          f"{d.cpu_ms:.1f} ms CPU, ALL {a.wall_ms:.1f} / {a.cpu_ms:.1f} -> "
          f"ALL adds {a.wall_ms - d.wall_ms:.1f} ms wall "
          f"(x{a.wall_ms / d.wall_ms:.2f}), {a.cpu_ms - d.cpu_ms:.1f} ms CPU (x{a.cpu_ms / d.cpu_ms:.2f}) per face; "
          f"target <= 30 ms; load average {load_average()} at the end")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fit", action="store_true", help="also print refitted calibration constants")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()
    shared = shared_dir()
    if shared is None:
        print("SKIP: ../shared (or $FACESEARCH_SHARED) not found")
        return 0
    if not args.skip_accuracy:
        detector = Detector(models.detector_session("int8"))
        accuracy(shared, detector, AttributeAnalyzer(), args.fit)
    cost(shared, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
