"""The shared face sets: where they are, how the benches read them (in place, never copied), LFW's label errors.

The sets live in `$FACESEARCH_SHARED`, else `<repo>/../shared` (see its README). Every bench skips with a
SKIP line and exit status 0 when they are missing (`shared_or_skip`), so a clone without them still runs.

LFW (View 2 folds 1-5): identity = the folder name, except the people LFW files under two names (merged),
and five photos filed under the wrong person (their pairs with the person they show are dropped, not counted
as impostors). The list is ../shared/research/face-models.md §2 plus one name-confirmed merge: every model's
top impostors were these label errors, and leaving them in caps TAR at FMR 1e-6 at about 62 % for any model.
Studio (the Face Research Lab sets): London neutral + smiling (one person = one 3-digit id), canada (one photo
per person), lisa + zoom (one person, 8 photos), identities from ../shared/faces/manifest.csv.
"""

from __future__ import annotations

import csv
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]

# Two names, one person (confirmed by name or by looking at the photos).
LFW_SAME_PERSON = {
    "Noer_Muis": "Noer_Moeis",
    "Hassan_Wirajuda": "Hasan_Wirayuda",
    "Dai_Chul_Chyung": "Chyung_Dai-chul",
    "Yingfan_Wang": "Wang_Yingfan",
    "William_Pryor_Jr": "Bill_Pryor",
    "Glenn_Rivers": "Doc_Rivers",
    # Not in face-models.md's list: Cristina Fernandez de Kirchner, the second-highest impostor pair left
    # (cosine 0.62) after that list's cleaning. Merging her moved the fitted knots by at most 0.0013.
    "Cristina_Kirchner": "Cristina_Fernandez",
}
# A photo filed under the wrong person: its pairs with the person it really shows are neither genuine nor
# impostor (photo stem, the identity it shows).
LFW_MISFILED = (
    ("Carlos_Ruckauf_0001", "Eduardo_Duhalde"),
    ("Gabrielle_Rose_0001", "Martha_Bowen"),
    ("Andrew_Caldecott_0001", "Andrew_Gilligan"),
    ("Shinya_Taniguchi_0001", "Takahiro_Mori"),
    ("Bison_Dele_0001", "Brian_Williams"),
)
# Every name a label error involves: people a bench that needs clean identities leaves out.
LFW_LABEL_ERROR_NAMES = frozenset(
    {*LFW_SAME_PERSON, *LFW_SAME_PERSON.values(), *(stem.rsplit("_", 1)[0] for stem, _ in LFW_MISFILED),
     *(who for _, who in LFW_MISFILED)})
STUDIO_FOLDERS = ("london/neutral_front/", "london/smiling_front/", "london/canada/", "london/lisa/", "london/zoom/")


def shared_dir() -> Path | None:
    """The shared folder, or None when its faces/ are missing."""
    env = os.environ.get("FACESEARCH_SHARED")
    path = Path(env) if env else REPO.parent / "shared"
    return path if (path / "faces").is_dir() else None


def shared_or_skip(needs: str = "faces", what: str = "this bench") -> Path | None:
    """The shared folder when it holds `needs` (a path inside it); else None, after printing the SKIP line."""
    shared = shared_dir()
    if shared is not None and (shared / needs).exists():
        return shared
    print(f"SKIP: ../shared/{needs} (or $FACESEARCH_SHARED) not found; {what} needs it")
    return None


@dataclass(frozen=True)
class Person:
    name: str
    photos: tuple[Path, ...]  # sorted; photos[0] is the gallery photo


def lfw_people(lfw: Path) -> list[Person]:
    """People of people.txt (fold order) with >= 2 photos on disk."""
    lines = [line.split() for line in (lfw / "people.txt").read_text().splitlines() if line.strip()]
    people = []
    for parts in lines:
        if len(parts) != 2:
            continue  # the number of folds, and each fold's people count
        name = parts[0]
        photos = tuple(sorted((lfw / "images" / name).glob(f"{name}_*.jpg")))
        if len(photos) >= 2:
            people.append(Person(name, photos))
    return people


def lfw_single_photo_people(lfw: Path) -> list[Path]:
    """The photo of each people.txt person with one photo, in people.txt order."""
    rows = [line.split() for line in (lfw / "people.txt").read_text().splitlines()]
    return [lfw / "images" / row[0] / f"{row[0]}_0001.jpg" for row in rows if len(row) == 2 and row[1] == "1"]


def lfw_photos(lfw: Path) -> list[Path]:
    """Every LFW photo, sorted by person then number (the order pairs.txt indices are resolved in)."""
    return sorted((lfw / "images").glob("*/*.jpg"))


@dataclass(frozen=True)
class Pair:
    """One line of pairs.txt: two photo stems (e.g. Aaron_Peirsol_0001), the same person or not, its fold."""

    left: str
    right: str
    same: bool
    fold: int


def lfw_pairs(lfw: Path) -> list[Pair]:
    """pairs.txt: `folds per_fold` on the first line, then per fold per_fold same and per_fold different pairs."""
    lines = (lfw / "pairs.txt").read_text().splitlines()
    per_fold = int(lines[0].split()[1])
    pairs = []
    for k, row in enumerate(line.split("\t") for line in lines[1:] if line.strip()):
        same = len(row) == 3
        left, right = (row[0], row[0]) if same else (row[0], row[2])
        numbers = (row[1], row[2]) if same else (row[1], row[3])
        pairs.append(Pair(f"{left}_{int(numbers[0]):04d}", f"{right}_{int(numbers[1]):04d}", same,
                          k // (2 * per_fold)))
    return pairs


def london_photos(shared: Path, kind: str = "neutral_front") -> list[Path]:
    """The London set's studio photos, one per person (`neutral_front` or `smiling_front`), by person id."""
    return sorted((shared / "faces" / "london" / kind).glob("*.jpg"))


def canada_photos(shared: Path) -> list[Path]:
    """40 more people, one photo each: faces that match nobody in the London set."""
    return london_photos(shared, "canada")


def one_face_photos(shared: Path, step: int = 1) -> list[Path]:
    """neutral_front, smiling_front and canada: 244 one-face studio photos (CC-BY 4.0), every `step`-th."""
    return [*london_photos(shared), *london_photos(shared, "smiling_front"), *canada_photos(shared)][::step]


def photos(folder: Path) -> list[Path]:
    """The JPEG and PNG files of a folder, by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


@dataclass(frozen=True)
class FaceSet:
    """Photos with identities; `excluded` are (photo, identity) pairs to leave out of the impostors."""

    name: str
    paths: tuple[Path, ...]
    identity: np.ndarray  # (p,) int identity id per photo
    names: tuple[str, ...]  # identity id -> name
    excluded: tuple[tuple[int, int], ...] = ()

    def subset(self, step: int) -> FaceSet:
        """Every `step`-th photo (a deterministic sample for the slower degraded runs)."""
        keep = np.arange(0, len(self.paths), step)
        return FaceSet(f"{self.name}/{step}", tuple(self.paths[i] for i in keep), self.identity[keep], self.names)


def _index(names: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    unique = sorted(set(names))
    lookup = {name: i for i, name in enumerate(unique)}
    return np.array([lookup[n] for n in names], np.int64), tuple(unique)


def lfw(shared: Path) -> FaceSet:
    """Every LFW photo, identities with the label errors cleaned."""
    paths = tuple(lfw_photos(shared / "faces" / "lfw"))
    identity, names = _index([LFW_SAME_PERSON.get(p.parent.name, p.parent.name) for p in paths])
    stems = {p.stem: i for i, p in enumerate(paths)}
    lookup = {name: i for i, name in enumerate(names)}
    excluded = tuple((stems[stem], lookup[who]) for stem, who in LFW_MISFILED if stem in stems and who in lookup)
    return FaceSet("lfw", paths, identity, names, excluded)


def studio(shared: Path) -> FaceSet:
    """The studio photos (STUDIO_FOLDERS) with the identities of manifest.csv."""
    faces = shared / "faces"
    rows = list(csv.DictReader((faces / "manifest.csv").open()))
    chosen = sorted((faces / row["path"], row["identity"]) for row in rows if row["path"].startswith(STUDIO_FOLDERS))
    identity, names = _index([who for _, who in chosen])
    return FaceSet("studio", tuple(path for path, _ in chosen), identity, names)


Box = tuple[float, float, float, float]  # x1, y1, x2, y2


@dataclass(frozen=True)
class LabelledFace:
    box: Box
    yaw: float | None  # from the 68-point landmarks when the file has them (degrees, |.| = turn)


def _five_points(groups: Path) -> dict[tuple[str, int, int], np.ndarray]:
    """(file, left, top) -> the 5 points (eye centres, nose tip, mouth corners) of dlib's 68-point landmarks."""
    points: dict[tuple[str, int, int], np.ndarray] = {}
    for name in ("training_with_face_landmarks.xml", "testing_with_face_landmarks.xml"):
        path = groups / name
        if not path.is_file():
            continue
        for image in ET.parse(path).getroot().iter("image"):
            for box in image.iter("box"):
                parts = {int(p.get("name", "0")): (float(p.get("x", 0)), float(p.get("y", 0)))
                         for p in box.iter("part")}  # fmt: skip
                if len(parts) == 68:
                    p = np.array([parts[i] for i in range(68)])
                    key = (image.get("file", ""), int(box.get("left", 0)), int(box.get("top", 0)))
                    points[key] = np.array([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])
    return points


def group_labels(groups: Path) -> dict[str, list[LabelledFace]]:
    """Face boxes of ../shared/faces/groups (dlib imglab XML), with a yaw estimated from the
    *_with_face_landmarks.xml 68-point landmarks (dlib's predictor) where present."""
    from facesearch.vision.pose import estimate_pose

    points = _five_points(groups)
    labels: dict[str, list[LabelledFace]] = {}
    for name in ("training.xml", "testing.xml"):
        for image in ET.parse(groups / name).getroot().iter("image"):
            file = image.get("file", "")
            faces = labels.setdefault(file, [])
            for box in image.iter("box"):
                if box.get("ignore") == "1":
                    continue
                left, top = float(box.get("left", 0)), float(box.get("top", 0))
                width, height = float(box.get("width", 0)), float(box.get("height", 0))
                five = points.get((file, int(left), int(top)))
                yaw = None if five is None else estimate_pose(five).yaw
                faces.append(LabelledFace((left, top, left + width, top + height), yaw))
    return labels
