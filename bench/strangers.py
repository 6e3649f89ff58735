"""Strangers probe: do people who are *not* in a collection match at the default threshold?

    .venv/bin/python -m bench.strangers                   # 800-face gallery, 300 outsiders, API + direct
    .venv/bin/python -m bench.strangers --api-mates 300   # how many mate photos to search through the API

A user's first test of a face search: index 800 people (the first photo of each of the first 800 shared-LFW
people with >= 2 photos, people.txt order), then search with photos of 300 other people (the first 300
single-photo people of people.txt; none of LFW's double-named people) at Rekognition's default
FaceMatchThreshold (80, not passed, so the service's default applies). Reported next to each other:
- outsiders with any match (target <= 1 %) and the wrong faces they got;
- mated TAR at the same threshold: other photos of gallery people whose own gallery face is among the
  matches (and how often the top match is the right person, or somebody else).

Two ways, both printed:
1. Through the real service: boto3's rekognition client against `python -m local.serve` (HTTP, SigV4,
   the handler, embedded moto), started by this script on free loopback ports. Gallery photos are indexed
   one real photo per IndexFaces (the centre face kept, others deleted, as bench/search_api does);
   all 300 outsiders and `--api-mates` mate photos are searched.
2. Directly, from the same pipeline's cached outputs (bench/face_embeddings.py): every mate photo (~3.3k),
   gallery = the API's indexed centre faces' photos, probe = the photo's largest face (what
   SearchFacesByImage searches). The API sample's per-probe decisions are compared with it.
Also `--compare-pairs` LFW pairs.txt pairs go through CompareFaces (SimilarityThreshold default 80) and are
checked against the direct computation. Needs ../shared; exits 0 with a SKIP line without it.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench import face_embeddings, face_sets
from bench.common import report, server
from bench.common.data import Person, lfw_people
from bench.search_api.gallery import build_gallery
from facesearch.vision.similarity import to_cosine

GALLERY_PEOPLE = 800
OUTSIDERS = 300
COLLECTION = "strangers"
PREVIOUS_COSINE_80 = 0.34  # Similarity 80 before issue 13's calibration (bench/calibration.py PREVIOUS_KNOTS)


@dataclass(frozen=True)
class Cohort:
    gallery: tuple[Person, ...]  # photos[0] is indexed
    outsiders: tuple[Path, ...]  # one photo each, people not in the gallery
    mates: tuple[tuple[str, Path], ...]  # (gallery person, another photo of them)


def cohort(lfw: Path) -> Cohort:
    gallery = tuple(lfw_people(lfw)[:GALLERY_PEOPLE])
    doubles = set(face_sets.LFW_SAME_PERSON) | set(face_sets.LFW_SAME_PERSON.values())
    doubles |= {stem.rsplit("_", 1)[0] for stem, _ in face_sets.LFW_MISFILED}
    doubles |= {who for _, who in face_sets.LFW_MISFILED}
    outsiders = []
    for line in (lfw / "people.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == "1" and parts[0] not in doubles:
            outsiders.append(lfw / "images" / parts[0] / f"{parts[0]}_0001.jpg")
    mates = tuple((p.name, photo) for p in gallery for photo in p.photos[1:])
    return Cohort(gallery, tuple(outsiders[:OUTSIDERS]), mates)


def api_search(client: Any, path: Path) -> list[tuple[str, float]]:
    """(ExternalImageId, Similarity) of every match at the default threshold; [] when no face."""
    try:
        response = client.search_faces_by_image(CollectionId=COLLECTION, Image={"Bytes": path.read_bytes()},
                                                MaxFaces=100)
    except client.exceptions.InvalidParameterException:
        return []
    return [(m["Face"].get("ExternalImageId", ""), float(m["Similarity"])) for m in response["FaceMatches"]]


def summarise(label: str, outsider_hits: list[list[str]], mate_hits: list[list[str]],
              mates: list[str]) -> dict[str, float]:
    n_out = len(outsider_hits)
    matched = sum(bool(h) for h in outsider_hits)
    wrong = sum(len(h) for h in outsider_hits)
    tar = sum(person in h for person, h in zip(mates, mate_hits, strict=True))
    top_right = sum(bool(h) and h[0] == person for person, h in zip(mates, mate_hits, strict=True))
    top_wrong = sum(bool(h) and h[0] != person for person, h in zip(mates, mate_hits, strict=True))
    print(f"{label}: outsiders with any match {matched}/{n_out} = {100 * matched / n_out:.2f} % "
          f"({wrong} wrong faces, {wrong / n_out:.3f} per search); mated TAR {tar}/{len(mates)} = "
          f"{100 * tar / len(mates):.2f} % (top match right {100 * top_right / len(mates):.2f} %, "
          f"top match somebody else {100 * top_wrong / len(mates):.2f} %)")
    return {"outsider_rate": matched / n_out, "tar": tar / len(mates)}


def direct_hits(faces: face_embeddings.PhotoFaces, largest: np.ndarray, gallery_people: list[str],
                gallery_rows: np.ndarray, photo: int, cosine: float) -> list[str]:
    """The gallery people whose face the photo's largest face matches at `cosine`, best first."""
    row = largest[photo]
    if row < 0:
        return []
    scores = faces.embedding[gallery_rows] @ faces.embedding[row]
    order = np.argsort(-scores)
    return [gallery_people[k] for k in order if scores[k] >= cosine]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api-mates", type=int, default=300, help="mate photos searched through the API")
    parser.add_argument("--compare-pairs", type=int, default=100, help="pairs.txt pairs through CompareFaces")
    args = parser.parse_args()
    shared = face_sets.shared_dir()
    if shared is None:
        print("SKIP: ../shared/faces (or $FACESEARCH_SHARED) not found; the strangers probe needs LFW")
        return 0
    lfw_dir = shared / "faces" / "lfw"
    group = cohort(lfw_dir)
    cosine = float(to_cosine(80.0))
    print(f"gallery {len(group.gallery)} people, {len(group.outsiders)} outsiders, {len(group.mates)} mate "
          f"photos; default threshold Similarity 80 = cosine {cosine:.4f}")

    lfw_set = face_sets.lfw(shared)
    faces = face_embeddings.embed_photos("lfw", lfw_set.paths)
    index = {path: i for i, path in enumerate(lfw_set.paths)}

    endpoint = server.start_server(startup_timeout=120)
    try:
        client = server.rekognition(endpoint)
        client.create_collection(CollectionId=COLLECTION)
        stats = build_gallery(client, COLLECTION, group.gallery, "gallery")
        listed = []
        for page in client.get_paginator("list_faces").paginate(CollectionId=COLLECTION):
            listed += [face["ExternalImageId"] for face in page["Faces"]]
        indexed = set(listed)
        print(f"indexed {len(listed)} faces of {len(indexed)} people (p50 IndexFaces "
              f"{report.ms(stats.index_latency, 50)} ms; {stats.no_face} without a face, "
              f"{stats.centre_filtered} centre face filtered)")

        started = time.monotonic()
        api_outsiders = []
        for i, path in enumerate(group.outsiders, 1):
            api_outsiders.append([who for who, _ in api_search(client, path)])
            if i % 100 == 0:
                report.log(f"outsiders: searched {i}/{len(group.outsiders)} ({time.monotonic() - started:.0f} s)")
        rng = np.random.default_rng(0)
        sample = sorted(rng.choice(len(group.mates), size=min(args.api_mates, len(group.mates)), replace=False))
        api_mates = []
        for i, k in enumerate(sample, 1):
            api_mates.append([who for who, _ in api_search(client, group.mates[k][1])])
            if i % 100 == 0:
                report.log(f"mates: searched {i}/{len(sample)} ({time.monotonic() - started:.0f} s)")

        pairs = compare_pairs(client, lfw_dir, lfw_set, faces, cosine, args.compare_pairs)
    finally:
        endpoint.stop()

    print()
    sample_people = [group.mates[k][0] for k in sample]
    summarise(f"API ({len(sample)} sampled mates)", api_outsiders, api_mates, sample_people)

    people = [p.name for p in group.gallery if p.name in indexed]
    rows = faces.centre_face()[[index[p.photos[0]] for p in group.gallery if p.name in indexed]]
    largest = faces.largest_face()
    direct_out = [direct_hits(faces, largest, people, rows, index[path], cosine) for path in group.outsiders]
    direct_mates = [direct_hits(faces, largest, people, rows, index[path], cosine) for _, path in group.mates]
    summarise("direct, sampled mates", direct_out, [direct_mates[k] for k in sample], sample_people)
    summarise(f"direct, all {len(group.mates)} mates", direct_out, direct_mates, [m[0] for m in group.mates])
    agree_out = sum(set(a) == set(d) for a, d in zip(api_outsiders, direct_out, strict=True))
    agree_mates = sum(set(api_mates[i]) == set(direct_mates[k]) for i, k in enumerate(sample))
    print(f"API vs direct, same set of matched people: outsiders {agree_out}/{len(api_outsiders)}, "
          f"mates {agree_mates}/{len(sample)}; CompareFaces match decision {pairs[0]}/{pairs[1]}")
    previous = PREVIOUS_COSINE_80
    summarise(f"baseline: direct, all mates, previous curve (80 = cosine {previous})",
              [direct_hits(faces, largest, people, rows, index[path], previous) for path in group.outsiders],
              [direct_hits(faces, largest, people, rows, index[path], previous) for _, path in group.mates],
              [m[0] for m in group.mates])
    return 0


def compare_pairs(client: Any, lfw_dir: Path, lfw_set: face_sets.FaceSet, faces: face_embeddings.PhotoFaces,
                  cosine: float, count: int) -> tuple[int, int]:
    """(agreements, pairs): CompareFaces' FaceMatches non-empty vs the direct largest-vs-any decision."""
    lines = [line.split("\t") for line in (lfw_dir / "pairs.txt").read_text().splitlines()[1:] if line.strip()]
    picks = np.random.default_rng(1).choice(len(lines), size=min(count, len(lines)), replace=False)
    largest = faces.largest_face()
    stems = {p.stem: i for i, p in enumerate(lfw_set.paths)}
    agree = 0
    for k in picks:
        row = lines[k]
        a_name, b_name = (row[0], row[0]) if len(row) == 3 else (row[0], row[2])
        a_num, b_num = (row[1], row[2]) if len(row) == 3 else (row[1], row[3])
        a, b = stems[f"{a_name}_{int(a_num):04d}"], stems[f"{b_name}_{int(b_num):04d}"]
        try:
            response = client.compare_faces(SourceImage={"Bytes": lfw_set.paths[a].read_bytes()},
                                            TargetImage={"Bytes": lfw_set.paths[b].read_bytes()})
            api = bool(response["FaceMatches"])
        except client.exceptions.InvalidParameterException:
            api = False
        targets = np.nonzero(faces.photo == b)[0]
        source = largest[a]
        direct = source >= 0 and len(targets) > 0 and float(
            np.max(faces.embedding[targets] @ faces.embedding[source])) >= cosine
        agree += api == direct
    return agree, len(picks)


if __name__ == "__main__":
    sys.exit(main())
