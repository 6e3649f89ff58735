"""The shared face sets as (photo, identity) lists, with LFW's known label errors cleaned.

LFW (folds 1-5): identity = the folder name, except the people LFW files under two names (merged), and
five photo-level pairs that are the same person under different names (their pairs are dropped, not
counted as impostors). The list is ../shared/research/face-models.md §2 (plus one name-confirmed merge):
every model's top impostors were these label errors, and leaving them in caps TAR at FMR 1e-6 at about
62 % for any model.

Studio (the Face Research Lab sets): London neutral + smiling (one person = one 3-digit id), canada (one
photo per person) and lisa + zoom (one person, 8 photos), identities from ../shared/faces/manifest.csv.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common import data

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


def shared_dir() -> Path | None:
    """The shared folder (bench.common.data.shared_dir), or None when it has no LFW pairs.txt."""
    shared = data.shared_dir()
    return shared if shared is not None and (shared / "faces" / "lfw" / "pairs.txt").is_file() else None


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
    paths = tuple(data.lfw_photos(shared / "faces" / "lfw"))
    people = [LFW_SAME_PERSON.get(p.parent.name, p.parent.name) for p in paths]
    identity, names = _index(people)
    stems = {p.stem: i for i, p in enumerate(paths)}
    lookup = {name: i for i, name in enumerate(names)}
    excluded = tuple((stems[stem], lookup[who]) for stem, who in LFW_MISFILED if stem in stems and who in lookup)
    return FaceSet("lfw", paths, identity, names, excluded)


def studio(shared: Path) -> FaceSet:
    faces = shared / "faces"
    rows = list(csv.DictReader((faces / "manifest.csv").open()))
    chosen = [
        (faces / row["path"], row["identity"])
        for row in rows
        if row["path"].startswith(("london/neutral_front/", "london/smiling_front/", "london/canada/",
                                   "london/lisa/", "london/zoom/"))
    ]
    chosen.sort()
    identity, names = _index([who for _, who in chosen])
    return FaceSet("studio", tuple(path for path, _ in chosen), identity, names)
