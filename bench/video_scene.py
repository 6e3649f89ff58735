"""The made video of bench/video.py: 5 enrolled people and 5 strangers over one minute, with ground truth.

Made from the shared London set with tests/fixtures/video/synth.py (PyAV's libx264: bench time only, nothing
ships). The enrolled people appear as their smiling photo (the collection holds their neutral one); the
strangers are London and Canada people never indexed. People enter and leave, up to three at once, through
the frame's edges (partly cut on the way) or by a cut; faces range from about 60 px to 180 px wide at 720p;
every photo drifts slowly; `GRAIN` adds a little noise. Positions and sizes are fractions of the frame, so the
1080p video shows the same scene.

Ground truth: each person's face box in the frame at any time, from the face the service's own detector finds
in the source photo, moved and scaled as the photo is pasted. A person is on screen when at least half of that
box is inside the frame (`ON_SCREEN_VISIBLE`). Made videos are cached in .cache/bench-videos, keyed by
everything that shapes them (the schedule, the photos, the size, the encoder settings and synth.py itself).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from bench.common.progress import log
from bench.common.sets import REPO, canada_photos, london_photos
from tests.fixtures.video import synth
from tests.fixtures.video.synth import Appearance

SECONDS = 60.0
FPS = 25
GOP_SECONDS = 2.0
GRAIN = 5  # +-5 of 255 per pixel: a little sensor noise (synth.make_video then encodes at crf 18)
ON_SCREEN_VISIBLE = 0.5  # the share of a face's box inside the frame from which the person is on screen
CACHE = REPO / ".cache" / "bench-videos"

# Who plays whom: fixed positions in the sorted London lists (never chosen by how they score).
ENROLLED = {"E1": 6, "E2": 26, "E3": 46, "E4": 66, "E5": 86}  # London, smiling in the video, neutral indexed
STRANGERS_LONDON = {"S1": 16, "S2": 36, "S3": 56}  # London smiling photos, never indexed
STRANGERS_CANADA = {"S4": 5, "S5": 25}  # Canada photos, never indexed

# (label, start s, end s, photo height as a fraction of the frame, path of (s, x, y) of the photo's centre).
# A London face is about 0.345 of its photo's height wide (0.25 -> ~62 px at 720p, 0.72 -> ~180 px), a
# Canada face about 0.45.
SCHEDULE: tuple[tuple[str, float, float, float, tuple[tuple[float, float, float], ...]], ...] = (
    # 0-2 s: nobody
    ("E1", 2.0, 12.0, 0.62, ((2.0, -0.12, 0.50), (4.0, 0.28, 0.50), (10.0, 0.33, 0.48), (12.0, -0.15, 0.48))),
    ("S1", 5.0, 13.0, 0.42, ((5.0, 0.72, 0.42), (13.0, 0.76, 0.45))),  # ~11.5-13: a stranger alone
    # 13-14 s: nobody
    ("E2", 14.0, 25.0, 0.25, ((14.0, 0.20, 0.30), (25.0, 0.30, 0.34))),  # small: ~62 px
    ("E3", 16.0, 26.0, 0.40, ((16.0, 1.12, 0.55), (16.6, 0.99, 0.55), (18.0, 0.985, 0.55),  # 1.4 s cut at the
                              (19.0, 0.70, 0.55), (26.0, 0.62, 0.50))),  # right edge (~2/3 of the face in)
    ("S2", 18.0, 28.0, 0.28, ((18.0, 0.40, 0.75), (28.0, 0.38, 0.72))),  # 18-25: three at once; 26-28 alone
    # 28-30 s: nobody
    ("E4", 30.0, 37.5, 0.72, ((30.0, 0.40, 0.50), (37.5, 0.45, 0.50))),  # large: ~180 px
    ("S4", 31.5, 38.5, 0.50, ((31.5, 0.82, 0.50), (36.5, 0.84, 0.50), (38.5, 0.84, 1.30))),  # out at the bottom
    ("E5", 39.5, 51.0, 0.30, ((39.5, 0.12, 0.35), (51.0, 0.55, 0.35))),  # small (~75 px), crossing slowly
    ("S3", 41.0, 47.0, 0.36, ((41.0, 0.80, 0.40), (47.0, 0.78, 0.42))),
    ("S5", 43.5, 49.5, 0.30, ((43.5, 0.32, 0.78), (49.5, 0.28, 0.78))),  # 43.5-47: three at once
    # 51-53 s: nobody
    ("E1", 53.0, 59.0, 0.36, ((53.0, 0.30, 0.45), (57.0, 0.35, 0.45), (57.8, 0.35, 0.97),  # back after 41 s,
                              (59.0, 0.35, 0.98))),  # smaller; out at the bottom, ~2/3 of the face in for 1.2 s
    ("E2", 54.0, 59.5, 0.50, ((54.0, 0.72, -0.30), (55.2, 0.72, 0.50), (59.5, 0.70, 0.52))),  # from the top
    # 59.5-60 s: nobody
)

Box = tuple[float, float, float, float]  # left, top, width, height: fractions of the frame


@dataclass(frozen=True)
class Cast:
    enrolled: dict[str, Path]  # label -> the photo in the video (smiling)
    indexed: dict[str, Path]  # label -> the photo in the collection (neutral)
    strangers: dict[str, Path]

    def photo(self, label: str) -> Path:
        return self.enrolled.get(label) or self.strangers[label]


def cast(shared: Path) -> Cast:
    neutral, smiling, canada = london_photos(shared), london_photos(shared, "smiling_front"), canada_photos(shared)
    by_id = {path.name[:3]: path for path in neutral}
    enrolled = {label: smiling[i] for label, i in ENROLLED.items()}
    strangers = {label: smiling[i] for label, i in STRANGERS_LONDON.items()}
    strangers.update({label: canada[i] for label, i in STRANGERS_CANADA.items()})
    return Cast(enrolled, {label: by_id[photo.name[:3]] for label, photo in enrolled.items()}, strangers)


def appearances(people: Cast) -> list[tuple[str, Appearance]]:
    return [(label, Appearance(people.photo(label), start, end, x=path[0][1], height=height, path=path))
            for label, start, end, height, path in SCHEDULE]


def video(people: Cast, size: tuple[int, int]) -> Path:
    """The scene's video at `size`, made once and cached."""
    schedule = appearances(people)
    synth_source = Path(synth.__file__).read_bytes()
    key = json.dumps({
        "schedule": [(label, a.photo.name, a.photo.stat().st_size, a.start, a.end, a.height, a.path)
                     for label, a in schedule],
        "seconds": SECONDS, "size": size, "fps": FPS, "gop": GOP_SECONDS, "grain": GRAIN,
        "synth": hashlib.sha256(synth_source).hexdigest(),
    }, sort_keys=True)  # fmt: skip
    path = CACHE / f"scene-{size[0]}x{size[1]}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.mp4"
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        log(f"making {path.name} ({SECONDS:.0f} s at {size[0]}x{size[1]}, cached for later runs)")
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.mp4")
        synth.make_video(partial, [a for _, a in schedule], SECONDS, size=size, fps=FPS, gop_seconds=GOP_SECONDS,
                         grain=GRAIN)
        partial.replace(path)
    return path


@dataclass(frozen=True)
class OnScreen:
    label: str
    box: Box  # the face's box, clipped to the frame
    visible: float  # share of the face's box inside the frame (1.0: whole)


class GroundTruth:
    """Who is on screen when, and where their face is. `faces_in_photos` maps each photo to its face's box as
    fractions of the photo (the service's detector on the photo itself)."""

    def __init__(self, people: Cast, faces_in_photos: dict[Path, Box], size: tuple[int, int] = (1280, 720)) -> None:
        self.schedule = appearances(people)
        self.faces = faces_in_photos
        self.size = size

    def at(self, t_ms: int, minimum: float = ON_SCREEN_VISIBLE) -> list[OnScreen]:
        """The people whose face is at least `minimum` inside the frame at `t_ms`."""
        seen = []
        for label, appearance in self.schedule:
            if not appearance.on_screen(t_ms / 1000):
                continue
            person = self._face(appearance, t_ms / 1000)
            if person.visible >= minimum and person.visible > 0:
                seen.append(OnScreen(label, person.box, person.visible))
        return seen

    def _face(self, appearance: Appearance, t: float) -> OnScreen:
        width, height = self.size
        left, top, photo_width, photo_height = appearance.photo_box(t, self.size)
        fx, fy, fw, fh = self.faces[appearance.photo]
        x1, y1 = (left + fx * photo_width) / width, (top + fy * photo_height) / height
        x2, y2 = x1 + fw * photo_width / width, y1 + fh * photo_height / height
        cx1, cy1, cx2, cy2 = max(x1, 0.0), max(y1, 0.0), min(x2, 1.0), min(y2, 1.0)
        inside = max(0.0, cx2 - cx1) * max(0.0, cy2 - cy1)
        return OnScreen("", (cx1, cy1, max(0.0, cx2 - cx1), max(0.0, cy2 - cy1)), inside / ((x2 - x1) * (y2 - y1)))

    def face_px(self, label: str) -> list[float]:
        """The face's width in pixels of this ground truth's frame size, for each appearance of `label`."""
        return [self.faces[a.photo][2] * a.photo_box(a.start, self.size)[2] for name, a in self.schedule
                if name == label]
