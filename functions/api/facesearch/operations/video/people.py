"""The merge's results: every face by time (GetFaceDetection), or every person at every sample with the
collection's faces that match it (GetFaceSearch).

A face search follows each person through the video (video/tracking.py) and searches the collection once
per person, not once per frame: its QUERIES best-shown sightings and their mean are the queries, and the
faces they find (down to CANDIDATE_MARGIN below the threshold's cosine) are the candidates every sighting of
that person is then scored against, exactly, with the image operations' Similarity. A sighting's
FaceMatches are the candidates at or above FaceMatchThreshold, best first; a person matching nobody is
listed without FaceMatches, as in Rekognition's examples. Person.BoundingBox is the face's box: there is no
body detector.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from facesearch.errors import ResourceNotFoundException
from facesearch.operations import render
from facesearch.operations.video.sampling import embedding_of
from facesearch.services import Services
from facesearch.storage.records import FaceRecord
from facesearch.storage.video_jobs import VideoJob
from facesearch.video.tracking import Sighting, assign_indexes
from facesearch.vision.similarity import to_cosine, to_similarity

QUERIES = 4  # a person's best-shown sightings searched (plus their mean)
CANDIDATES_PER_QUERY = 64
CANDIDATE_MARGIN = 0.1  # cosine below the threshold's that a candidate may score on a person's queries

Sample = dict[str, Any]


def detection_items(samples: Sequence[Sample]) -> list[dict[str, Any]]:
    """GetFaceDetection's Faces: sorted by time, the faces of one sample left to right."""
    return [{"Timestamp": sample["t"], "Face": face["detail"]}
            for sample in samples for face in sorted(sample["faces"], key=lambda face: face["box"][0])]


def search_items(services: Services, job: VideoJob, samples: Sequence[Sample]
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """GetFaceSearch's Persons, sorted by timestamp and by person index."""
    faces = [(sample["t"], face) for sample in samples for face in sample["faces"]]
    sightings = [Sighting(t, (*face["box"],), embedding_of(face)) for t, face in faces]
    indexes = assign_indexes(sightings)
    matches = person_matches(services, job, sightings, indexes, [face["q"] for _, face in faces])
    items = []
    for (timestamp, face), index, found in zip(faces, indexes, matches, strict=True):
        item: dict[str, Any] = {"Timestamp": timestamp, "Person": {
            "Index": index, "BoundingBox": face["detail"]["BoundingBox"], "Face": face["detail"]}}
        if found:
            item["FaceMatches"] = [{"Similarity": similarity, "Face": render.face(record)}
                                   for record, similarity in found]
        items.append(item)
    by_timestamp = sorted(items, key=lambda item: (item["Timestamp"], item["Person"]["Index"]))
    by_index = sorted(items, key=lambda item: (item["Person"]["Index"], item["Timestamp"]))
    return by_timestamp, by_index


def person_matches(services: Services, job: VideoJob, sightings: Sequence[Sighting], indexes: Sequence[int],
                   quality: Sequence[float]) -> list[list[tuple[FaceRecord, float]]]:
    """Each sighting's matching collection faces with their Similarity, best first."""
    found: list[list[tuple[FaceRecord, float]]] = [[] for _ in sightings]
    if not sightings:
        return found
    try:
        collection = services.storage.collections.get(str(job.collection_id))
    except ResourceNotFoundException:
        return found  # deleted since the job started: nothing to match against
    if collection.uid != job.collection_uid or not collection.face_count:
        return found  # deleted and created again: not the collection the job was started on
    threshold = float(job.threshold if job.threshold is not None else 80.0)
    people: dict[int, list[int]] = defaultdict(list)
    for position, index in enumerate(indexes):
        if sightings[position].embedding is not None:
            people[index].append(position)
    queries, owner = [], []
    for index, positions in people.items():
        for query in person_queries([sightings[p].embedding for p in positions],  # type: ignore[misc]
                                    [quality[p] for p in positions]):
            queries.append(query)
            owner.append(index)
    floor = max(-1.0, float(to_cosine(threshold)) - CANDIDATE_MARGIN)
    results = services.index.search_many(collection, queries, CANDIDATES_PER_QUERY, floor)
    candidates: dict[int, dict[str, FaceRecord]] = defaultdict(dict)
    for index, matches in zip(owner, results, strict=True):
        candidates[index].update({match.face.face_id: match.face for match in matches})
    for index, positions in people.items():
        records = list(candidates[index].values())
        if not records:
            continue
        matrix = np.stack([record.vector for record in records])
        for position in positions:
            similarities = to_similarity(matrix @ np.asarray(sightings[position].embedding, np.float32))
            order = np.argsort(-similarities, kind="stable")
            found[position] = [(records[i], float(similarities[i])) for i in order if similarities[i] >= threshold]
    return found


def person_queries(embeddings: Sequence[np.ndarray], quality: Sequence[float]) -> list[np.ndarray]:
    """A person's best-shown embeddings and the mean of them all (unit vectors)."""
    best = np.argsort(-np.asarray(quality), kind="stable")[:QUERIES]
    queries = [np.asarray(embeddings[i], np.float32) for i in best]
    mean = np.mean(np.stack(embeddings), axis=0)
    norm = float(np.linalg.norm(mean))
    if norm > 0 and len(embeddings) > 1:
        queries.append((mean / norm).astype(np.float32))
    return queries
