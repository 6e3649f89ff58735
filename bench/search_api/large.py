"""The 100k collection: real faces through the API, padded through the index seam, then timed against the 1k one.

Real faces go in before the padding because moto deep-copies the whole table once per action of every
TransactWriteItems: under `make serve` each IndexFaces slows down with the items in the table (seconds per
call at 100k), which is moto's cost, not the service's; the few IndexFaces timed after the padding show it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.common.progress import log
from bench.common.server import Rekognition
from bench.common.sets import Person
from bench.common.timing import timed
from bench.search_api.gallery import GalleryStats, build_gallery
from bench.search_api.padding import Padding, pad_collection
from bench.search_api.probes import Probe, ProbeResult, search
from facesearch.services import Services


@dataclass(frozen=True)
class LargeRun:
    gallery: GalleryStats  # the real faces indexed before the padding
    padding: Padding
    padded_faces: int  # FaceCount after the padding
    faces: int  # FaceCount at the end (after the late IndexFaces)
    cold: float  # the first search after the padding: its shards come from S3
    warm: list[float]  # the same photo again
    index_late: list[float]
    small: list[ProbeResult]  # MaxFaces 5, threshold 0, interleaved with `large`
    large: list[ProbeResult]
    default_small: list[float]  # the API's defaults (MaxFaces 80, threshold 80), interleaved
    default_large: list[float]
    transaction: tuple[int, float]  # moto's one-action transaction after the padding (items, seconds)


def interleaved(client: Rekognition, small_id: str, large_id: str, probes: Sequence[Probe]
                ) -> tuple[list[ProbeResult], list[ProbeResult]]:
    """Each probe against both collections in turn, so load changes hit both alike."""
    small, large = [], []
    for probe in probes:
        image = probe.path.read_bytes()
        small.append(search(client, small_id, probe, image))
        large.append(search(client, large_id, probe, image))
    return small, large


def interleaved_defaults(client: Rekognition, small_id: str, large_id: str, probes: Sequence[Probe]
                         ) -> tuple[list[float], list[float]]:
    """The same, with SearchFacesByImage's defaults (what a caller who passes only the image gets)."""
    small, large = [], []
    for probe in probes:
        image = probe.path.read_bytes()
        small.append(timed(client.search_faces_by_image, CollectionId=small_id, Image={"Bytes": image})[1])
        large.append(timed(client.search_faces_by_image, CollectionId=large_id, Image={"Bytes": image})[1])
    return small, large


def index_late(client: Rekognition, large_id: str, people: Sequence[Person], faces: int) -> list[float]:
    """IndexFaces (MaxFaces 1) of more people once the collection is padded."""
    seconds = []
    for person in people:
        log(f"IndexFaces at {faces:,} faces ({person.name})")
        seconds.append(timed(client.index_faces, CollectionId=large_id, MaxFaces=1, ExternalImageId=person.name,
                             Image={"Bytes": person.photos[0].read_bytes()})[1])
    return seconds


def run_large(client: Rekognition, services: Services, ids: tuple[str, str], people: tuple[Sequence[Person], ...],
              pad: int, probes: Sequence[Probe], transaction: Callable[[], tuple[int, float]]) -> LargeRun:
    """Fill the (created, empty) large collection to `pad` faces and time it beside the small one.

    `ids` = (small, large) collection ids; `people` = (indexed before the padding, indexed after it).
    """
    small_id, large_id = ids
    real, late = people
    gallery = build_gallery(client, large_id, real, "real faces for the large collection")
    log(f"padding {large_id} with {pad - gallery.indexed:,} synthetic faces (EmbeddingIndex.bulk_load)")
    padding = pad_collection(services, large_id, pad - gallery.indexed)
    log(f"padding done: {padding.seconds:.1f} s, {padding.batch_calls} BatchWriteItem calls")
    padded_faces = client.describe_collection(CollectionId=large_id)["FaceCount"]
    image = probes[0].path.read_bytes()
    cold = search(client, large_id, probes[0], image).seconds
    warm = [search(client, large_id, probes[0], image).seconds for _ in range(3)]
    cost = transaction()
    late_seconds = index_late(client, large_id, late, padded_faces)
    faces = client.describe_collection(CollectionId=large_id)["FaceCount"]
    log("interleaved searches, 1k and 100k")
    small, large = interleaved(client, small_id, large_id, probes)
    default_small, default_large = interleaved_defaults(client, small_id, large_id, probes)
    return LargeRun(gallery, padding, padded_faces, faces, cold, warm, late_seconds, small, large, default_small,
                    default_large, cost)
