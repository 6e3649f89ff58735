"""What `facesearch video` prints of a finished job: time ranges from sample timestamps, each person's best
match (GetFaceSearch), the number of faces over time (GetFaceDetection). Pure functions of the Get* pages.

A job reports samples (frames a fixed step apart, 200 ms by default), not time spans: a person seen at
1200, 1400, ..., 4000 ms is shown as `00:01.2-00:04.0`, from its first to its last sample. Samples at most
`gap` apart belong to one range, so a face missed in a frame or two does not split it; the gap is at least
1.5 sampling steps, so a service sampling less often than once a second still draws ranges.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

DEFAULT_GAP_MS = 1000
NO_MATCH = "no match"


def clock(ms: int) -> str:
    """`mm:ss.t` (tenths, rounded down, so a range never ends after its last sample), `h:mm:ss.t` past an hour."""
    tenths = max(0, ms) // 100
    seconds, tenth = divmod(tenths, 10)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    if hours:
        return f"{hours}:{minute:02d}:{second:02d}.{tenth}"
    return f"{minute:02d}:{second:02d}.{tenth}"


def time_range(start_ms: int, end_ms: int) -> str:
    """`00:01.2-00:04.0`; a single sample is just its time."""
    return clock(start_ms) if clock(start_ms) == clock(end_ms) else f"{clock(start_ms)}-{clock(end_ms)}"


def sampling_step(timestamps: Iterable[int]) -> int | None:
    """The most common distance between consecutive sample times (the service's sampling step), or None."""
    distinct = sorted(set(timestamps))
    steps = Counter(b - a for a, b in pairwise(distinct))
    return min(steps, key=lambda step: (-steps[step], step)) if steps else None


def merge_gap(timestamps: Iterable[int], minimum_ms: int = DEFAULT_GAP_MS) -> int:
    """How far apart two samples may be and still belong to one range."""
    step = sampling_step(timestamps)
    return max(minimum_ms, round(1.5 * step)) if step else minimum_ms


def ranges(timestamps: Iterable[int], gap_ms: int) -> list[tuple[int, int]]:
    """(first, last) of each run of samples at most `gap_ms` apart, in time order."""
    found: list[tuple[int, int]] = []
    for t in sorted(set(timestamps)):
        if found and t - found[-1][1] <= gap_ms:
            found[-1] = (found[-1][0], t)
        else:
            found.append((t, t))
    return found


def ranges_text(spans: Sequence[tuple[int, int]]) -> str:
    return ", ".join(time_range(start, end) for start, end in spans)


# --- GetFaceSearch ----------------------------------------------------------------------------------------


@dataclass
class Person:
    index: int
    timestamps: list[int] = field(default_factory=list)
    best: dict[str, Any] | None = None  # the FaceMatch of highest Similarity over all its samples

    def seen(self, item: Mapping[str, Any]) -> None:
        self.timestamps.append(int(item["Timestamp"]))
        for match in item.get("FaceMatches") or ():
            if self.best is None or match["Similarity"] > self.best["Similarity"]:
                self.best = match


def people(items: Iterable[Mapping[str, Any]]) -> list[Person]:
    """GetFaceSearch's Persons grouped by person Index (in Index order, whatever the pages' SortBy)."""
    found: dict[int, Person] = {}
    for item in items:
        index = int(item["Person"]["Index"])
        found.setdefault(index, Person(index)).seen(item)
    return [found[index] for index in sorted(found)]


PEOPLE_HEADER = ("person", "on screen", "samples", "best match", "Similarity", "FaceId")


def people_rows(persons: Sequence[Person], gap_ms: int) -> list[list[object]]:
    rows: list[list[object]] = []
    for person in persons:
        spans = ranges_text(ranges(person.timestamps, gap_ms))
        if person.best is None:
            rows.append([person.index, spans, len(person.timestamps), NO_MATCH, "", ""])
        else:
            face = person.best["Face"]
            rows.append([person.index, spans, len(person.timestamps), face.get("ExternalImageId") or face["FaceId"],
                         f"{person.best['Similarity']:.2f}", face["FaceId"]])
    return rows


# --- GetFaceDetection ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaceCount:
    start: int
    end: int
    faces: int  # in each sample of the range
    samples: int


def face_counts(items: Iterable[Mapping[str, Any]], gap_ms: int) -> list[FaceCount]:
    """Runs of samples (at most `gap_ms` apart) showing the same number of faces. GetFaceDetection lists
    faces only, so a time without any face is not in a range."""
    per_sample = sorted(Counter(int(item["Timestamp"]) for item in items).items())
    found: list[FaceCount] = []
    for t, faces in per_sample:
        last = found[-1] if found else None
        if last is not None and last.faces == faces and t - last.end <= gap_ms:
            found[-1] = FaceCount(last.start, t, faces, last.samples + 1)
        else:
            found.append(FaceCount(t, t, faces, 1))
    return found


FACES_HEADER = ("time", "faces", "samples")


def face_count_rows(counts: Sequence[FaceCount]) -> list[list[object]]:
    return [[time_range(count.start, count.end), count.faces, count.samples] for count in counts]


# --- both -------------------------------------------------------------------------------------------------


def video_line(page: Mapping[str, Any]) -> str:
    """`s3://bucket/key: 10.0 s, 640x360, 25 fps, h264` from a Get* page's Video and VideoMetadata."""
    s3_object = page.get("Video", {}).get("S3Object", {})
    name = f"s3://{s3_object.get('Bucket', '?')}/{s3_object.get('Name', '?')}"
    metadata = page.get("VideoMetadata") or {}
    if not metadata:
        return name
    parts = [f"{metadata.get('DurationMillis', 0) / 1000:.1f} s"]
    if metadata.get("FrameWidth") and metadata.get("FrameHeight"):
        parts.append(f"{metadata['FrameWidth']}x{metadata['FrameHeight']}")
    if metadata.get("FrameRate"):
        parts.append(f"{metadata['FrameRate']:g} fps")
    if metadata.get("Codec"):
        parts.append(str(metadata["Codec"]))
    return f"{name}: {', '.join(parts)}"
