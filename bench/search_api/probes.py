"""Probes: every other photo of the gallery's people, searched with SearchFacesByImage and scored."""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError
from PIL import Image

from bench.common.progress import log
from bench.common.server import Rekognition
from bench.common.timing import ms
from bench.search_api.gallery import CENTRE_TOLERANCE, box_centre_distance

THRESHOLD = 80.0  # Rekognition's default FaceMatchThreshold: what a caller who sets none sees


@dataclass(frozen=True)
class Probe:
    person: str
    path: Path


@dataclass(frozen=True)
class ProbeResult:
    probe: Probe
    seconds: float
    top: str | None  # ExternalImageId of the best match
    top_similarity: float
    mate_similarity: float | None  # the person's gallery face among the returned matches
    searched_box: dict[str, float] | None
    error: str | None = None

    @property
    def off_centre(self) -> bool:
        return self.searched_box is not None and box_centre_distance(self.searched_box) > CENTRE_TOLERANCE

    @property
    def correct(self) -> bool:
        return self.top == self.probe.person

    def correct_at(self, threshold: float) -> bool:
        return self.correct and self.top_similarity >= threshold

    def wrong_at(self, threshold: float) -> bool:
        """A false match a caller at `threshold` would act on."""
        return not self.correct and self.top is not None and self.top_similarity >= threshold


def search(client: Rekognition, collection_id: str, probe: Probe, image: bytes, max_faces: int = 5,
           threshold: float = 0.0) -> ProbeResult:
    """One SearchFacesByImage, timed; a photo with no face is a result with its error, not a failure."""
    start = time.perf_counter()
    try:
        response = client.search_faces_by_image(CollectionId=collection_id, Image={"Bytes": image},
                                                MaxFaces=max_faces, FaceMatchThreshold=threshold)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "InvalidParameterException":
            raise
        return ProbeResult(probe, time.perf_counter() - start, None, 0.0, None, None, str(error))
    seconds = time.perf_counter() - start
    matches = response["FaceMatches"]
    top = matches[0]["Face"].get("ExternalImageId") if matches else None
    mate = [m["Similarity"] for m in matches if m["Face"].get("ExternalImageId") == probe.person]
    return ProbeResult(probe, seconds, top, matches[0]["Similarity"] if matches else 0.0,
                       max(mate) if mate else None, response.get("SearchedFaceBoundingBox"))


def centre_crop(client: Rekognition, image: bytes) -> bytes | None:
    """The photo cut around its centre face (DetectFaces), so that face is the one searched."""
    faces = client.detect_faces(Image={"Bytes": image})["FaceDetails"]
    if not faces:
        return None
    box = min((f["BoundingBox"] for f in faces), key=box_centre_distance)
    picture = Image.open(io.BytesIO(image)).convert("RGB")
    w, h = picture.size
    cx, cy = (box["Left"] + box["Width"] / 2) * w, (box["Top"] + box["Height"] / 2) * h
    half = 0.9 * max(box["Width"] * w, box["Height"] * h)  # the face plus a margin: no neighbour larger
    crop = picture.crop((int(max(0, cx - half)), int(max(0, cy - half)), int(min(w, cx + half)),
                         int(min(h, cy + half))))
    out = io.BytesIO()
    crop.save(out, format="JPEG", quality=95)
    return out.getvalue()


@dataclass(frozen=True)
class ProbeStats:
    results: list[ProbeResult]
    recropped: dict[int, ProbeResult]  # index in results -> the search on the centre-face crop

    def summary(self, threshold: float = THRESHOLD) -> dict[str, int]:
        results = self.results
        final = [self.recropped.get(i, r) for i, r in enumerate(results)]
        return {
            "probes": len(results),
            "no_face": sum(r.error is not None for r in results),
            "off_centre": sum(r.off_centre for r in results),
            "rank1": sum(r.correct for r in results),
            "rank1_centre": sum(r.correct for r in final),
            "mate_in_top5": sum(r.mate_similarity is not None for r in results),
            "correct_at": sum(r.correct_at(threshold) for r in results),
            "wrong_at": sum(r.wrong_at(threshold) for r in results),
            "mate_at": sum(r.mate_similarity is not None and r.mate_similarity >= threshold for r in results),
            "correct_at_centre": sum(r.correct_at(threshold) for r in final),
            "wrong_at_centre": sum(r.wrong_at(threshold) for r in final),
        }


def run_probes(client: Rekognition, collection_id: str, probes: Sequence[Probe], label: str) -> ProbeStats:
    """Search every probe as it is, then again on a centre crop where the searched face was not the labelled one."""
    results: list[ProbeResult] = []
    started = time.monotonic()
    for i, probe in enumerate(probes, 1):
        results.append(search(client, collection_id, probe, probe.path.read_bytes()))
        if i % 500 == 0 or i == len(probes):
            log(f"{label}: searched {i}/{len(probes)} ({time.monotonic() - started:.0f} s, "
                f"p50 {ms([r.seconds for r in results], 50)} ms, rank-1 so far "
                f"{sum(r.correct for r in results) / len(results):.2%})")
    recropped: dict[int, ProbeResult] = {}
    for i, result in enumerate(results):
        if result.off_centre or result.error is not None:
            crop = centre_crop(client, result.probe.path.read_bytes())
            if crop is not None:
                recropped[i] = search(client, collection_id, result.probe, crop)
    return ProbeStats(results, recropped)
