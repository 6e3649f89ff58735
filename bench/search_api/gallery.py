"""The LFW gallery: each person's first photo through IndexFaces, keeping the face LFW labels (the centre one)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bench.common.progress import log
from bench.common.server import Rekognition, Response
from bench.common.sets import Person
from bench.common.timing import ms, timed

CENTRE_TOLERANCE = 0.10  # a face box centre further than this (fraction of the photo side) is "off-centre"


def box_centre_distance(box: Mapping[str, float]) -> float:
    """How far a BoundingBox's centre is from the photo's, in fractions of its sides."""
    cx, cy = box["Left"] + box["Width"] / 2, box["Top"] + box["Height"] / 2
    return float(np.hypot(cx - 0.5, cy - 0.5))


@dataclass
class GalleryStats:
    photos: int = 0
    indexed: int = 0  # people whose centre face is in the collection
    index_latency: list[float] = field(default_factory=list)
    multi_face: int = 0  # gallery photos with more than one face indexed
    largest_not_centre: int = 0  # ...where the largest face is not the centre one (MaxFaces=1 would be wrong)
    centre_filtered: int = 0  # the centre face was only in UnindexedFaces (QualityFilter AUTO)
    no_face: int = 0
    deleted: int = 0
    unindexed_reasons: dict[str, int] = field(default_factory=dict)


def _count_unindexed(response: Response, stats: GalleryStats) -> None:
    for unindexed in response.get("UnindexedFaces", []):
        for reason in unindexed["Reasons"]:
            stats.unindexed_reasons[reason] = stats.unindexed_reasons.get(reason, 0) + 1


def _centre_record(response: Response, stats: GalleryStats) -> int:
    """The index of the FaceRecord nearest the photo centre; counts a centre face QualityFilter dropped."""
    distances = [box_centre_distance(r["Face"]["BoundingBox"]) for r in response["FaceRecords"]]
    centre = int(np.argmin(distances))
    unindexed = [box_centre_distance(u["FaceDetail"]["BoundingBox"]) for u in response.get("UnindexedFaces", [])]
    if unindexed and min(unindexed) < distances[centre] and distances[centre] > CENTRE_TOLERANCE:
        stats.centre_filtered += 1  # the labelled face was filtered out; an off-centre face got indexed
    return centre


def index_centre_face(client: Rekognition, collection_id: str, person: Person, stats: GalleryStats) -> str | None:
    """IndexFaces the person's first photo; keep its centre face, delete the others. Returns the FaceId."""
    response, seconds = timed(client.index_faces, CollectionId=collection_id,
                              Image={"Bytes": person.photos[0].read_bytes()}, ExternalImageId=person.name)
    stats.photos += 1
    stats.index_latency.append(seconds)
    _count_unindexed(response, stats)
    records = response["FaceRecords"]
    if not records:
        if response.get("UnindexedFaces"):
            stats.centre_filtered += 1
        else:
            stats.no_face += 1
        return None
    centre = _centre_record(response, stats)
    if len(records) > 1:
        stats.multi_face += 1
        if centre != 0:  # FaceRecords come largest first
            stats.largest_not_centre += 1
        others = [r["Face"]["FaceId"] for i, r in enumerate(records) if i != centre]
        client.delete_faces(CollectionId=collection_id, FaceIds=others)
        stats.deleted += len(others)
    stats.indexed += 1
    return str(records[centre]["Face"]["FaceId"])


def build_gallery(client: Rekognition, collection_id: str, people: Sequence[Person], label: str) -> GalleryStats:
    stats = GalleryStats()
    started = time.monotonic()
    for i, person in enumerate(people, 1):
        index_centre_face(client, collection_id, person, stats)
        if i % 100 == 0 or i == len(people):
            log(f"{label}: indexed {i}/{len(people)} ({time.monotonic() - started:.0f} s, "
                f"p50 {ms(stats.index_latency, 50)} ms)")
    return stats
