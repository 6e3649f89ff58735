"""Strangers probe: do people who are *not* in a collection match at the default threshold?

    .venv/bin/python -m bench.strangers                   # 800-face gallery, 300 outsiders, API + direct
    .venv/bin/python -m bench.strangers --api-mates 300   # how many mate photos to search through the API
    .venv/bin/python -m bench.strangers --gallery 50 --outsiders 20 --api-mates 20 --compare-pairs 10  # quick

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
2. Directly, from the same pipeline's cached outputs (bench/common/embeddings.py): every mate photo (~3.3k),
   gallery = the API's indexed centre faces' photos, probe = the photo's largest face (what
   SearchFacesByImage searches). The API sample's per-probe decisions are compared with it.
Also `--compare-pairs` LFW pairs.txt pairs go through CompareFaces (SimilarityThreshold default 80) and are
checked against the direct computation. Needs ../shared; exits 0 with a SKIP line without it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import cli, embeddings, progress, server, sets, timing
from bench.common.embeddings import PhotoFaces
from bench.common.sets import Person
from bench.search_api.gallery import build_gallery
from facesearch.vision.similarity import to_cosine

COLLECTION = "strangers"
PREVIOUS_COSINE_80 = 0.34  # Similarity 80 before issue 13's calibration (bench/calibration.py PREVIOUS_KNOTS)


@dataclass(frozen=True)
class Cohort:
    gallery: tuple[Person, ...]  # photos[0] is indexed
    outsiders: tuple[Path, ...]  # one photo each, people not in the gallery
    mates: tuple[tuple[str, Path], ...]  # (gallery person, another photo of them)


def cohort(lfw: Path, gallery_people: int, outsiders: int) -> Cohort:
    gallery = tuple(sets.lfw_people(lfw)[:gallery_people])
    strangers = [p for p in sets.lfw_single_photo_people(lfw) if p.parent.name not in sets.LFW_LABEL_ERROR_NAMES]
    mates = tuple((p.name, photo) for p in gallery for photo in p.photos[1:])
    return Cohort(gallery, tuple(strangers[:outsiders]), mates)


def api_search(client: Any, path: Path) -> list[str]:
    """ExternalImageIds of every match at the default threshold, best first; [] when no face."""
    try:
        response = client.search_faces_by_image(CollectionId=COLLECTION, Image={"Bytes": path.read_bytes()},
                                                MaxFaces=100)
    except client.exceptions.InvalidParameterException:
        return []
    return [m["Face"].get("ExternalImageId", "") for m in response["FaceMatches"]]


def summarise(label: str, outsider_hits: list[list[str]], mate_hits: list[list[str]], mates: list[str]) -> None:
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


@dataclass(frozen=True)
class Direct:
    """The same searches computed from the cached pipeline outputs: gallery = the API's indexed people."""

    faces: PhotoFaces
    largest: np.ndarray  # faces.largest_face()
    index: dict[Path, int]  # photo -> row of faces.paths
    people: list[str]
    rows: np.ndarray  # the gallery photos' centre faces

    def hits(self, path: Path, cosine: float) -> list[str]:
        """The gallery people whose face the photo's largest face matches at `cosine`, best first."""
        row = self.largest[self.index[path]]
        if row < 0:
            return []
        scores = self.faces.embedding[self.rows] @ self.faces.embedding[row]
        return [self.people[k] for k in np.argsort(-scores) if scores[k] >= cosine]

    def compare(self, a: int, b: int, cosine: float) -> bool:
        """CompareFaces' decision: the source's largest face against any target face."""
        source, targets = self.largest[a], np.nonzero(self.faces.photo == b)[0]
        return bool(source >= 0 and len(targets) and
                    float(np.max(self.faces.embedding[targets] @ self.faces.embedding[source])) >= cosine)


@dataclass(frozen=True)
class ApiRun:
    indexed: set[str]  # people whose gallery face is in the collection
    outsiders: list[list[str]]
    sample: list[int]  # the mates searched through the API
    mates: list[list[str]]
    compare_pairs: list[tuple[int, int, bool]]  # (photo, photo, CompareFaces matched)


def through_the_api(client: Any, group: Cohort, lfw_set: sets.FaceSet, api_mates: int, pairs: list[sets.Pair]
                    ) -> ApiRun:
    client.create_collection(CollectionId=COLLECTION)
    stats = build_gallery(client, COLLECTION, group.gallery, "gallery")
    listed = [face["ExternalImageId"] for page in client.get_paginator("list_faces").paginate(CollectionId=COLLECTION)
              for face in page["Faces"]]
    print(f"indexed {len(listed)} faces of {len(set(listed))} people (p50 IndexFaces "
          f"{timing.ms(stats.index_latency, 50)} ms; {stats.no_face} without a face, "
          f"{stats.centre_filtered} centre face filtered)")
    outsiders = [api_search(client, path) for path in progress.bar(group.outsiders, "outsiders")]
    sample = sorted(np.random.default_rng(0).choice(len(group.mates), size=min(api_mates, len(group.mates)),
                                                    replace=False).tolist())
    mates = [api_search(client, group.mates[k][1]) for k in progress.bar(sample, "mates")]
    return ApiRun(set(listed), outsiders, sample, mates, compare_faces(client, lfw_set, pairs))


def compare_faces(client: Any, lfw_set: sets.FaceSet, pairs: list[sets.Pair]) -> list[tuple[int, int, bool]]:
    """CompareFaces (default SimilarityThreshold) on the pairs."""
    stems = {p.stem: i for i, p in enumerate(lfw_set.paths)}
    out = []
    for pair in progress.bar(pairs, "CompareFaces"):
        a, b = stems[pair.left], stems[pair.right]
        try:
            matched = bool(client.compare_faces(SourceImage={"Bytes": lfw_set.paths[a].read_bytes()},
                                                TargetImage={"Bytes": lfw_set.paths[b].read_bytes()})["FaceMatches"])
        except client.exceptions.InvalidParameterException:
            matched = False
        out.append((a, b, matched))
    return out


def report(group: Cohort, api: ApiRun, direct: Direct, cosine: float) -> None:
    sample_people = [group.mates[k][0] for k in api.sample]
    summarise(f"API ({len(api.sample)} sampled mates)", api.outsiders, api.mates, sample_people)
    outsiders = [direct.hits(path, cosine) for path in group.outsiders]
    mates = [direct.hits(path, cosine) for _, path in group.mates]
    summarise("direct, sampled mates", outsiders, [mates[k] for k in api.sample], sample_people)
    summarise(f"direct, all {len(group.mates)} mates", outsiders, mates, [m[0] for m in group.mates])
    agree_out = sum(set(a) == set(d) for a, d in zip(api.outsiders, outsiders, strict=True))
    agree_mates = sum(set(api.mates[i]) == set(mates[k]) for i, k in enumerate(api.sample))
    agree_pairs = sum(matched == direct.compare(a, b, cosine) for a, b, matched in api.compare_pairs)
    print(f"API vs direct, same set of matched people: outsiders {agree_out}/{len(api.outsiders)}, "
          f"mates {agree_mates}/{len(api.sample)}; CompareFaces match decision {agree_pairs}/{len(api.compare_pairs)}")
    previous = PREVIOUS_COSINE_80
    summarise(f"baseline: direct, all mates, previous curve (80 = cosine {previous})",
              [direct.hits(path, previous) for path in group.outsiders],
              [direct.hits(path, previous) for _, path in group.mates], [m[0] for m in group.mates])


def main() -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--gallery", type=int, default=800, help="LFW people indexed (people.txt order)")
    parser.add_argument("--outsiders", type=int, default=300, help="single-photo LFW people searched")
    parser.add_argument("--api-mates", type=int, default=300, help="mate photos searched through the API")
    parser.add_argument("--compare-pairs", type=int, default=100, help="pairs.txt pairs through CompareFaces")
    args = parser.parse_args()
    if (shared := sets.shared_or_skip("faces/lfw/pairs.txt", "the strangers probe")) is None:
        return 0
    lfw_dir = shared / "faces" / "lfw"
    group = cohort(lfw_dir, args.gallery, args.outsiders)
    cosine = float(to_cosine(80.0))
    print(f"gallery {len(group.gallery)} people, {len(group.outsiders)} outsiders, {len(group.mates)} mate "
          f"photos; default threshold Similarity 80 = cosine {cosine:.4f}")
    lfw_set = sets.lfw(shared)
    faces = embeddings.embed_photos("lfw", lfw_set.paths)
    pairs = sets.lfw_pairs(lfw_dir)
    picks = np.random.default_rng(1).choice(len(pairs), size=min(args.compare_pairs, len(pairs)), replace=False)
    endpoint = server.start_server(startup_timeout=120)
    try:
        api = through_the_api(server.rekognition(endpoint), group, lfw_set, args.api_mates, [pairs[k] for k in picks])
    finally:
        endpoint.stop()
    print()
    index = {path: i for i, path in enumerate(lfw_set.paths)}
    indexed = [p for p in group.gallery if p.name in api.indexed]
    rows = faces.centre_face()[[index[p.photos[0]] for p in indexed]]
    report(group, api, Direct(faces, faces.largest_face(), index, [p.name for p in indexed], rows), cosine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
