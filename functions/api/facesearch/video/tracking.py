"""Following faces through a video's samples: which sightings are the same person (Rekognition's
PersonDetail.Index, "identifier for the person detected ... within a video").

Samples come 200 ms apart, so a face moves little between two of them: a sighting continues a track its box
overlaps (IoU) or whose face it resembles (cosine of SFace embeddings), the best pairs first. A face that
leaves and comes back gets its earlier index again when it clearly is the same face (the re-identification
threshold sits above Similarity 80's cosine): a person is one index for the whole video, which is what
searching a collection once per person needs. Everything here is pure maths on boxes and unit vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

MAX_GAP_MS = 1000  # a track not seen for longer has ended (a later face may re-identify with it)
MIN_IOU = 0.3  # boxes overlapping this much in consecutive samples are one face ...
MIN_COSINE_ON_OVERLAP = 0.25  # ... unless their faces are clearly two people (two crossing faces)
SAME_FACE_COSINE = 0.5  # a face this similar to an active track is it, wherever it moved
REIDENTIFY_COSINE = 0.6  # a face this similar to an ended track is that person again


@dataclass(frozen=True)
class Sighting:
    """One face in one sample."""

    timestamp: int  # ms from the start of the video
    box: tuple[float, float, float, float]  # left, top, width, height (ratios of the frame)
    embedding: np.ndarray | None = None  # (128,) unit vector; None: position alone decides


@dataclass
class _Track:
    index: int
    box: tuple[float, float, float, float]
    last_seen: int
    embedding_sum: np.ndarray | None = None
    sightings: list[int] = field(default_factory=list)

    def mean(self) -> np.ndarray | None:
        if self.embedding_sum is None:
            return None
        norm = float(np.linalg.norm(self.embedding_sum))
        return self.embedding_sum / norm if norm > 0 else None

    def add(self, position: int, sighting: Sighting) -> None:
        self.box, self.last_seen = sighting.box, sighting.timestamp
        self.sightings.append(position)
        if sighting.embedding is not None:
            vector = np.asarray(sighting.embedding, np.float64)
            self.embedding_sum = vector if self.embedding_sum is None else self.embedding_sum + vector


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """IoU of two (left, top, width, height) boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0.0, width) * max(0.0, height)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _cosine(track: _Track, sighting: Sighting) -> float | None:
    mean = track.mean()
    if mean is None or sighting.embedding is None:
        return None
    return float(mean @ np.asarray(sighting.embedding, np.float64))


def _pair_score(track: _Track, sighting: Sighting) -> float | None:
    """How well a sighting continues an active track (higher is better), or None if it cannot."""
    overlap = box_iou(track.box, sighting.box)
    cosine = _cosine(track, sighting)
    if overlap >= MIN_IOU and (cosine is None or cosine >= MIN_COSINE_ON_OVERLAP):
        return overlap + (cosine or 0.0)
    if cosine is not None and cosine >= SAME_FACE_COSINE:
        return cosine
    return None


def assign_indexes(sightings: Sequence[Sighting]) -> list[int]:
    """The person index of each sighting (numbered 0, 1, ... by first appearance), for sightings in time
    order (several may share a timestamp: the faces of one sample)."""
    tracks: list[_Track] = []
    indexes = [-1] * len(sightings)
    position = 0
    while position < len(sightings):
        timestamp = sightings[position].timestamp
        end = position
        while end < len(sightings) and sightings[end].timestamp == timestamp:
            end += 1
        _assign_sample(tracks, sightings, range(position, end), indexes)
        position = end
    return indexes


def _assign_sample(tracks: list[_Track], sightings: Sequence[Sighting], sample: range, indexes: list[int]) -> None:
    timestamp = sightings[sample.start].timestamp
    active = [track for track in tracks if timestamp - track.last_seen <= MAX_GAP_MS and track.last_seen < timestamp]
    pairs = sorted(
        ((score, track.index, position) for track in active for position in sample
         if (score := _pair_score(track, sightings[position])) is not None),
        key=lambda pair: -pair[0],
    )  # fmt: skip
    taken_tracks: set[int] = set()
    for _, index, position in pairs:
        if index in taken_tracks or indexes[position] >= 0:
            continue
        taken_tracks.add(index)
        indexes[position] = index
        tracks[index].add(position, sightings[position])
    for position in sample:
        if indexes[position] < 0:
            track = _reidentify(tracks, sightings[position], taken_tracks, timestamp)
            if track is None:
                track = _Track(len(tracks), sightings[position].box, timestamp)
                tracks.append(track)
            taken_tracks.add(track.index)
            indexes[position] = track.index
            track.add(position, sightings[position])


def _reidentify(tracks: Sequence[_Track], sighting: Sighting, taken: set[int], timestamp: int) -> _Track | None:
    """The ended (or momentarily lost) track this face most resembles, if it clearly is the same person."""
    best, best_cosine = None, REIDENTIFY_COSINE
    for track in tracks:
        if track.index in taken or track.last_seen >= timestamp:
            continue
        cosine = _cosine(track, sighting)
        if cosine is not None and cosine >= best_cosine:
            best, best_cosine = track, cosine
    return best
