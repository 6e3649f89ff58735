"""Where the shared face sets are and how the benches read them; photos are read in place, never copied.

The sets live in `$FACESEARCH_SHARED`, else `<repo>/../shared` (see its README). Every bench skips with a
message when they are missing, so a clone without them still runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path | None:
    """The shared folder, or None when its faces/ are missing."""
    env = os.environ.get("FACESEARCH_SHARED")
    path = Path(env) if env else REPO.parent / "shared"
    return path if (path / "faces").is_dir() else None


def lfw_dir(shared: Path | None) -> Path | None:
    """The LFW View 2 folds (images/, pairs.txt, people.txt), or None when they are missing."""
    lfw = shared / "faces" / "lfw" if shared else None
    return lfw if lfw is not None and (lfw / "people.txt").is_file() else None


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


def lfw_photos(lfw: Path) -> list[Path]:
    """Every LFW photo, sorted by person then number (the order pairs.txt indices are resolved in)."""
    return sorted((lfw / "images").glob("*/*.jpg"))


def london_photos(shared: Path, kind: str = "neutral_front") -> list[Path]:
    """The London set's studio photos, one per person (`neutral_front` or `smiling_front`), by person id."""
    return sorted((shared / "faces" / "london" / kind).glob("*.jpg"))


def canada_photos(shared: Path) -> list[Path]:
    """40 more people, one photo each: faces that match nobody in the London set."""
    return london_photos(shared, "canada")
