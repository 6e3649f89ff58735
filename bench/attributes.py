"""Face attributes: accuracy against labels, next to the shipped thresholds, and their cost at 1 thread.

    .venv/bin/python -m bench.attributes [--fit] [--repeats 15] [--skip-accuracy]
    .venv/bin/python -m bench.attributes --skip-accuracy --repeats 3 --photos 2    # a quick look

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
by call in the same run (medians and the ratio). Wall time and the calling thread's CPU time: onnxruntime at
1 intra-op thread computes in it, so CPU time stays near a quiet machine's figure under load.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bench.common import cli, models, progress, sets, timing
from facesearch.vision.attributes import calibration, gaze
from facesearch.vision.attributes.analyzer import ALL, AttributeAnalyzer, FaceInput
from facesearch.vision.attributes.calibration import Platt
from facesearch.vision.detector import Detector
from facesearch.vision.image_decoder import DecodedImage, decode_image
from facesearch.vision.pipeline import FacePipeline

LABELS = sets.REPO / "bench" / "data" / "lfw_eyes_mouth_labels.csv"


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


def score_photo(path: Path, detector: Detector, analyzer: AttributeAnalyzer) -> Scores | None:
    image = decode_image(path.read_bytes())
    face = models.centre_face(detector.detect(image.pixels), image.width, image.height)
    if face is None:
        return None
    pil, boxed = image.picture, [(face.landmarks, face.box)]
    mesh = analyzer.face_mesh.run(pil, boxed)[0]
    b = analyzer.blendshapes.run(mesh)
    return Scores(
        age_mean=analyzer.age.run(pil, [face.landmarks])[0].mean,
        p_male=analyzer.gender.run(pil, [face.landmarks])[0].p_male,
        smile=calibration.smile_feature(b["mouthSmileLeft"], b["mouthSmileRight"]),
        eyes_closed=calibration.eyes_closed_feature(b["eyeBlinkLeft"], b["eyeBlinkRight"]),
        mouth_open=calibration.mouth_open_feature(b["jawOpen"], b["mouthClose"]),
        emotions={e.type: e.confidence for e in analyzer.emotions.run(pil, boxed)[0]},
        iris=gaze.iris_offsets(mesh.points),
    )


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a random positive scores above a random negative), ties half."""
    pos, neg = np.asarray(positive)[:, None], np.asarray(negative)[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def platt_report(name: str, features: np.ndarray, labels: np.ndarray, folds: np.ndarray, shipped: Platt) -> Platt:
    """Accuracy at the shipped constants, and 2-fold cross-validated; returns the all-data fit."""
    labels = labels.astype(bool)
    shipped_acc = float(np.mean((np.array([shipped.probability(x) for x in features]) >= 0.5) == labels))
    correct = []
    for k in (0, 1):
        fit = calibration.fit_platt(features[folds != k], labels[folds != k])
        correct.extend((np.array([fit.probability(x) for x in features[folds == k]]) >= 0.5) == labels[folds == k])
    print(f"  {name:10s} n={len(labels):3d} (+{labels.sum()} / -{(~labels).sum()})  "
          f"AUC {auc(features[labels], features[~labels]):.3f}  accuracy at shipped threshold "
          f"{100 * shipped_acc:.1f} %  2-fold CV {100 * np.mean(correct):.1f} %  "
          f"(shipped P=0.5 at feature {shipped.threshold():+.3f})")
    return calibration.fit_platt(features, labels)


@dataclass(frozen=True)
class London:
    """Per photo with a face: the person's row of london_info.csv, smiling or not, the scores."""

    info: list[dict[str, str]]
    smiling: np.ndarray
    scores: list[Scores]

    @property
    def folds(self) -> np.ndarray:
        return np.array([int(row["face_id"]) for row in self.info]) % 2

    def values(self, read: Callable[[Scores], float]) -> np.ndarray:
        return np.array([read(s) for s in self.scores])


def london_scores(shared: Path, detector: Detector, analyzer: AttributeAnalyzer) -> London:
    london = shared / "faces" / "london"
    info = {row["face_id"]: row for row in csv.DictReader((london / "london_info.csv").open())}
    rows, smiling, scores = [], [], []
    for kind in ("neutral_front", "smiling_front"):
        for path in progress.bar(sets.london_photos(shared, kind), f"London {kind}"):
            if (found := score_photo(path, detector, analyzer)) is None:
                print(f"  no face in {kind}/{path.name}")
                continue
            rows.append(info[path.name[:3]])
            smiling.append(kind == "smiling_front")
            scores.append(found)
    print(f"London: {len(rows)} photos with a face of {2 * len(info)}")
    return London(rows, np.array(smiling), scores)


def gender_and_age(london: London) -> float:
    """Prints the Gender and Age lines; returns the all-data AgeRange half-width fit."""
    male = np.array([row["face_gender"] == "male" for row in london.info])
    right = (london.values(lambda s: s.p_male) >= 0.5) == male
    print(f"  Gender     accuracy {100 * np.mean(right):.1f} % ({np.sum(right)}/{len(male)}; "
          f"threshold P(male) 0.5, no fitting; target >= 97 %)")
    known = np.array([row["face_age"] != "NA" for row in london.info])
    ages = np.array([float(row["face_age"]) if ok else np.nan for row, ok in zip(london.info, known, strict=True)])
    means = london.values(lambda s: s.age_mean)
    ranges = np.array([calibration.age_range(m) for m in means])
    inside = (ages >= ranges[:, 0]) & (ages <= ranges[:, 1])
    cv_inside, cv_width = [], []
    for k in (0, 1):
        train, test = known & (london.folds != k), known & (london.folds == k)
        half = calibration.fit_age_half_width(means[train], ages[train])
        r = np.array([calibration.age_range(m, half) for m in means[test]])
        cv_inside.extend((ages[test] >= r[:, 0]) & (ages[test] <= r[:, 1]))
        cv_width.extend(r[:, 1] - r[:, 0])
    error = (means - ages)[known]
    print(f"  Age        MAE {np.mean(np.abs(error)):.2f} y (mean error {np.mean(error):+.2f}; "
          f"true ages {np.nanmin(ages):.0f}-{np.nanmax(ages):.0f}, n={known.sum()})  "
          f"inside AgeRange {100 * np.mean(inside[known]):.1f} % (width "
          f"{np.mean((ranges[:, 1] - ranges[:, 0])[known]):.1f} y, half-width {calibration.AGE_RELATIVE_HALF_WIDTH} x "
          f"age; target >= 80 %)  2-fold CV {100 * np.mean(cv_inside):.1f} % (width {np.mean(cv_width):.1f} y)")
    return calibration.fit_age_half_width(means[known], ages[known])


def emotions_and_gaze(london: London) -> np.ndarray:
    """Prints the Emotions and EyeDirection lines; returns the mean iris offset (the fitted gaze zero)."""
    smiling = london.smiling
    happy = london.values(lambda s: s.emotions["HAPPY"])
    top = [max(s.emotions, key=s.emotions.__getitem__) for s in london.scores]
    calm_share = np.mean([t == "CALM" for t, k in zip(top, smiling, strict=True) if not k])
    happy_share = np.mean([t == "HAPPY" for t, k in zip(top, smiling, strict=True) if k])
    print(f"  Emotions   neutral photo -> top CALM {100 * calm_share:.1f} %, smiling photo -> top HAPPY "
          f"{100 * happy_share:.1f} %, HAPPY confidence AUC smiling vs neutral "
          f"{auc(happy[smiling], happy[~smiling]):.3f} (no fitting)")
    iris = np.array([s.iris for s in london.scores if s.iris is not None])
    zero = (calibration.GAZE_ZERO_YAW, calibration.GAZE_ZERO_PITCH)
    angles = np.array([[g.yaw, g.pitch] for g in (gaze.gaze_from_offsets(tuple(o), zero) for o in iris)])
    raw = np.array([[g.yaw, g.pitch] for g in (gaze.gaze_from_offsets(tuple(o)) for o in iris)])
    iris_folds = np.array([f for f, s in zip(london.folds, london.scores, strict=True) if s.iris is not None])
    cv = []
    for k in (0, 1):
        z = iris[iris_folds != k].mean(axis=0)
        cv.extend([gaze.gaze_from_offsets(tuple(o), (z[0], z[1])).pitch for o in iris[iris_folds == k]])
    print(f"  EyeDirection (camera-directed gaze, should read 0): yaw {angles[:, 0].mean():+.1f} ± "
          f"{angles[:, 0].std():.1f}, pitch {angles[:, 1].mean():+.1f} ± {angles[:, 1].std():.1f} deg; before the "
          f"zero offset: yaw {raw[:, 0].mean():+.1f}, pitch {raw[:, 1].mean():+.1f}; 2-fold CV pitch "
          f"{np.mean(cv):+.1f} ± {np.std(cv):.1f}")
    return np.asarray(iris.mean(axis=0))


def eyes_and_mouth(shared: Path, detector: Detector, analyzer: AttributeAnalyzer) -> tuple[Platt, Platt]:
    """EyesClosed and MouthOpen on the LFW photos labelled by eye; returns their all-data fits."""
    labelled = [r for r in csv.DictReader(LABELS.open()) if r["value"] != "unsure"]
    found: dict[str, tuple[list[float], list[bool]]] = {"EyesOpen": ([], []), "MouthOpen": ([], [])}
    for row in progress.bar(labelled, "LFW labelled by eye"):
        if (scores := score_photo(shared / "faces" / "lfw" / "images" / row["lfw_path"], detector, analyzer)) is None:
            print(f"  no face in {row['lfw_path']}")
            continue
        features, labels = found[row["attribute"]]
        eyes = row["attribute"] == "EyesOpen"
        features.append(scores.eyes_closed if eyes else scores.mouth_open)
        labels.append(row["value"] == ("false" if eyes else "true"))
    print(f"LFW labelled by eye ({LABELS.relative_to(sets.REPO)}): {len(labelled)} usable rows")
    fits = []
    for name, attribute, shipped in (("EyesClosed", "EyesOpen", calibration.EYES_CLOSED),
                                     ("MouthOpen", "MouthOpen", calibration.MOUTH_OPEN)):
        features, labels = found[attribute]
        folds = np.arange(1, len(features) + 1) % 2  # alternate rows
        fits.append(platt_report(name, np.array(features), np.array(labels), folds, shipped))
    return fits[0], fits[1]


def accuracy(shared: Path, detector: Detector, analyzer: AttributeAnalyzer, fit: bool) -> None:
    london = london_scores(shared, detector, analyzer)
    half = gender_and_age(london)
    smile_fit = platt_report("Smile", london.values(lambda s: s.smile), london.smiling, london.folds,
                             calibration.SMILE)
    zero = emotions_and_gaze(london)
    eyes_fit, mouth_fit = eyes_and_mouth(shared, detector, analyzer)
    closed = london.values(lambda s: calibration.EYES_CLOSED.probability(s.eyes_closed)) >= 0.5
    print(f"  EyesOpen on London's studio photos (eyes open by design): {100 * (1 - closed.mean()):.1f} % called open")
    if fit:
        print("\nfitted constants (all data) for calibration.py:")
        for name, platt in (("SMILE", smile_fit), ("EYES_CLOSED", eyes_fit), ("MOUTH_OPEN", mouth_fit)):
            print(f"{name} = Platt(slope={platt.slope:.4f}, intercept={platt.intercept:.4f})")
        print(f"AGE_RELATIVE_HALF_WIDTH = {half}\nGAZE_ZERO_YAW = {zero[0]:.4f}\nGAZE_ZERO_PITCH = {zero[1]:.4f}")


Jobs = dict[str, Callable[[], object]]


def cost_jobs(image: DecodedImage, detector: Detector, analyzer: AttributeAnalyzer, pipeline: FacePipeline
              ) -> tuple[Jobs, Jobs]:
    """(each attribute model alone, the DEFAULT and ALL DetectFaces-style calls) on one photo."""
    pil, face = image.picture, detector.detect(image.pixels)[0]
    boxed = [(face.landmarks, face.box)]
    mesh = analyzer.face_mesh.run(pil, boxed)[0]

    def all_call() -> object:  # each call gets a fresh DecodedImage (its own Pillow copy), as a request does
        fresh = replace(image)
        faces = pipeline.analyze(fresh, with_embeddings=False)
        return analyzer.analyze(fresh.picture, [FaceInput(f.detection.landmarks, f.detection.box) for f in faces], ALL)

    return ({"face_mesh (crop + mesh)": lambda: analyzer.face_mesh.run(pil, boxed),
             "blendshapes": lambda: analyzer.blendshapes.run(mesh),
             "age (chip + int8 model)": lambda: analyzer.age.run(pil, [face.landmarks]),
             "gender (chip + model)": lambda: analyzer.gender.run(pil, [face.landmarks]),
             "emotions (crop + model)": lambda: analyzer.emotions.run(pil, boxed)},
            {"DEFAULT": lambda: pipeline.analyze(replace(image), with_embeddings=False), "ALL": all_call})


def cost(shared: Path, photos: int, repeats: int) -> None:
    """Each attribute model alone, then DEFAULT vs ALL DetectFaces-style calls, alternated call by call."""
    images = [decode_image(p.read_bytes()) for p in sets.london_photos(shared)[:photos]]
    detector = models.detector(1)
    analyzer = AttributeAnalyzer(lambda task: models.session(task, 1))
    pipeline = FacePipeline(detector, models.embedder(1))  # DEFAULT needs no embedding: analyze skips it
    print(f"\nCost at 1 thread on {len(images)} London photos ({images[0].width} px, one face each), {repeats} "
          f"alternating rounds each, load average {timing.load_average()} at the start:")
    samples: dict[str, list[timing.Timing]] = {}
    for image in progress.bar(images, "cost"):
        for jobs in cost_jobs(image, detector, analyzer, pipeline):
            for name, timings in timing.alternate(jobs, repeats).items():
                samples.setdefault(name, []).append(timing.median_timing(timings))
    medians = {name: timing.median_timing(values) for name, values in samples.items()}
    d, a = medians.pop("DEFAULT"), medians.pop("ALL")
    for name, t in medians.items():
        print(f"  {name:26s} {t.wall_ms:6.2f} ms wall  {t.cpu_ms:6.2f} ms CPU  per face")
    print(f"  DetectFaces-style call (decode excluded), alternated call by call: DEFAULT {d.wall_ms:.1f} ms wall / "
          f"{d.cpu_ms:.1f} ms CPU, ALL {a.wall_ms:.1f} / {a.cpu_ms:.1f} -> ALL adds {a.wall_ms - d.wall_ms:.1f} ms "
          f"wall (x{a.wall_ms / d.wall_ms:.2f}), {a.cpu_ms - d.cpu_ms:.1f} ms CPU (x{a.cpu_ms / d.cpu_ms:.2f}) per "
          f"face; target <= 30 ms; load average {timing.load_average()} at the end")


def main() -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--fit", action="store_true", help="also print refitted calibration constants")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--photos", type=int, default=5, help="London photos the cost is measured on")
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()
    if (shared := sets.shared_or_skip("faces/london", "the attributes bench")) is None:
        return 0
    if not args.skip_accuracy:
        accuracy(shared, models.detector(), models.pipeline().attributes(), args.fit)
    cost(shared, args.photos, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
