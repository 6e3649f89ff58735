"""The embedding index: the one seam operations use to add, find and drop faces' vectors.

- `add` writes a new immutable segment to S3, then commits it with its face items and the count in one
  DynamoDB transaction (99 faces a transaction), then compacts: a face is visible exactly when its item is.
- `search` (one query; `search_many` for several, their face items read in one batch) scans the collection's
  compact shards (here, or fanned out across invocations when the collection is big) for a shortlist of
  candidates, then reads their face items: a face deleted since its shard was written has no item and is
  never returned, and the others are re-scored with their exact float32 embeddings, so the answer is an exact
  scan's. It widens the shortlist while deleted candidates might hide a better live face.
- `bulk_load` writes many faces without one IndexFaces each (benchmarks, imports, tests).
- `drop` removes a deleted collection's objects.

Every write and query checks the collection's FaceModelVersion against the pipeline's: vectors of two
models are never mixed.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from facesearch.errors import FaceModelVersionMismatchException, InternalServerError
from facesearch.index import fanout, quantized, shards
from facesearch.index.compaction import Compactor
from facesearch.index.quantized import Shortlist
from facesearch.index.scan import scan
from facesearch.index.shards import ShardCache
from facesearch.storage import IndexedImage, Storage
from facesearch.storage.faces import FACES_PER_TRANSACTION
from facesearch.storage.records import Collection, FaceRecord, SegmentRef
from facesearch.storage.segments import new_segment_id, segment_key

WIDEN = 4  # a search that lost candidates to deletions scans again for this many times as many


@dataclass(frozen=True)
class Match:
    face: FaceRecord
    cosine: float


class EmbeddingIndex:
    def __init__(self, storage: Storage, cache: ShardCache, model_version: str, fanout_rows: int,
                 invoker: Callable[[], fanout.Invoker]) -> None:
        self.storage = storage
        self.cache = cache
        self.model_version = model_version
        self.fanout_rows = fanout_rows
        self._invoker = invoker
        self.compactor = Compactor(storage.collections, storage.faces, cache, storage.segments)

    def check_model(self, collection: Collection, version: str | None = None) -> None:
        """A collection's vectors (and `version`'s, when given: imported faces) must come from the face model
        this deployment runs. Rekognition's operations answer a mismatch as InvalidParameterException, the
        extension operations with their own FaceModelVersionMismatchException (errors.ServiceError.code_in)."""
        running = self.model_version
        if collection.face_model_version != running:
            raise FaceModelVersionMismatchException(
                f"Collection {collection.collection_id} holds faces of FaceModelVersion "
                f"{collection.face_model_version}; this deployment indexes and searches with {running}.")
        if version is not None and version != running:
            raise FaceModelVersionMismatchException(
                f"The faces are of FaceModelVersion {version}; collection {collection.collection_id} holds "
                f"FaceModelVersion {running}, and embeddings of two face models cannot be compared. Re-index the "
                "photos instead.")

    # --- writes ------------------------------------------------------------------------------------------

    def add(self, collection: Collection, faces: Sequence[FaceRecord], image: IndexedImage | None = None
            ) -> list[FaceRecord]:
        """Make `faces` (with embeddings) durable and searchable; returns them as stored.

        With `image`, its record commits with the first faces (DuplicateImage if a twin request won).
        """
        self.check_model(collection)
        added: list[SegmentRef] = []
        stored: list[FaceRecord] = []
        for start in range(0, len(faces), FACES_PER_TRANSACTION):
            chunk, ref = self._write_segment(collection, faces[start : start + FACES_PER_TRANSACTION], level=0)
            record = self.storage.indexed_images.put_action(collection.uid, image) if image and not start else None
            self.storage.faces.add(collection, ref, chunk, record)
            added.append(ref)
            stored.extend(chunk)
        if added:
            self.compactor.after_write(dataclasses.replace(collection, segments=collection.segments + tuple(added)))
        return stored

    def _write_segment(self, collection: Collection, faces: Sequence[FaceRecord], level: int
                       ) -> tuple[list[FaceRecord], SegmentRef]:
        segment_id = new_segment_id()
        ref = SegmentRef(segment_id, segment_key(collection.uid, segment_id, level), len(faces), level)
        now = time.time()
        chunk = [dataclasses.replace(face, segment_id=segment_id, indexed_at=face.indexed_at or now)
                 for face in faces]
        vectors = np.stack([face.vector for face in chunk]) if chunk else np.empty((0, shards.EMBEDDING_DIM))
        self.cache.put(ref.key, shards.make_segment([face.face_id for face in chunk], vectors))
        return chunk, ref

    def bulk_load(self, collection: Collection, faces: Sequence[FaceRecord],
                  progress: Callable[[int], None] | None = None) -> int:
        """Load many faces at once: shards of up to MAX_SHARD_ROWS, batched item writes, one META update.

        Not atomic as a whole: meant for an empty collection being set up (benchmarks, tests, imports). The
        shards are written first (orphans if cut short), the items next, the META update last, so a load cut
        short leaves faces that are listed but neither counted nor searchable; delete the collection and
        load again. Returns the number of BatchWriteItem calls.
        """
        self.check_model(collection)
        refs: list[SegmentRef] = []
        stored: list[FaceRecord] = []
        start = 0
        for rows in shards.bulk_layout(len(faces)):
            chunk, ref = self._write_segment(collection, faces[start : start + rows], shards.level_for(rows))
            refs.append(ref)
            stored.extend(chunk)
            start += rows
        calls = 0
        for batch_start in range(0, len(stored), 2500):
            calls += self.storage.faces.load(collection, stored[batch_start : batch_start + 2500])
            if progress is not None:
                progress(min(batch_start + 2500, len(stored)))
        for ref_start in range(0, len(refs), 50):
            part = refs[ref_start : ref_start + 50]
            self.storage.collections.add_segments(collection, part, sum(ref.count for ref in part))
        return calls

    def drop(self, collection: Collection) -> int:
        """Delete a deleted collection's segment objects; returns how many."""
        return self.storage.segments.delete(key for key, _ in self.storage.segments.list(collection.uid))

    # --- reads -------------------------------------------------------------------------------------------

    def shortlist(self, collection: Collection, query: np.ndarray, k: int, min_cosine: float) -> Shortlist:
        """The faces that may be among the exact k best at or above min_cosine: scanned here when the
        collection is small, across invocations (slices of about fanout_rows rows) when it is big."""
        groups = fanout.slices(collection.segments, self.fanout_rows)
        if len(groups) <= 1:
            return scan(self.cache, [ref.key for ref in collection.segments], query, k, min_cosine)
        requests = [fanout.SliceRequest(tuple(ref.key for ref in group), query, k, min_cosine) for group in groups]
        try:
            answers = self._invoker().run_all([request.to_event() for request in requests])
            parts = [fanout.shortlist_from_payload(answer) for answer in answers]
        except (fanout.SliceFailed, ValueError) as error:
            raise InternalServerError("The search could not be completed; retry.") from error
        return quantized.merge(parts, k, min_cosine)

    def search(self, collection: Collection, query: np.ndarray, max_faces: int, min_cosine: float,
               exclude: frozenset[str] = frozenset()) -> list[Match]:
        """Up to max_faces live faces at or above min_cosine, best first, by exact cosine."""
        self.check_model(collection)
        rows = sum(ref.count for ref in collection.segments)
        want = max_faces + len(exclude)
        while True:
            candidates = self.shortlist(collection, query, want, min_cosine)
            faces = self.storage.faces.get_many(collection, list(candidates.face_ids))
            exact = {face_id: face.vector for face_id, face in faces.items() if face_id not in exclude}
            result = quantized.rescore(candidates, exact, query, max_faces, min_cosine)
            if result.complete or want >= rows:
                return [Match(faces[face_id], cosine) for face_id, cosine in result.matches]
            want *= WIDEN

    def search_many(self, collection: Collection, queries: Sequence[np.ndarray], max_faces: int, min_cosine: float
                    ) -> list[list[Match]]:
        """`search` for each query (no exclusions), the shortlisted faces' items read in one batch for all."""
        self.check_model(collection)
        rows = sum(ref.count for ref in collection.segments)
        want = [max_faces] * len(queries)
        results: list[list[Match] | None] = [None] * len(queries)
        while any(result is None for result in results):
            pending = [i for i, result in enumerate(results) if result is None]
            shortlists = {i: self.shortlist(collection, queries[i], want[i], min_cosine) for i in pending}
            faces = self.storage.faces.get_many(collection, [face_id for i in pending
                                                             for face_id in shortlists[i].face_ids])
            exact = {face_id: face.vector for face_id, face in faces.items()}
            for i in pending:
                rescored = quantized.rescore(shortlists[i], exact, queries[i], max_faces, min_cosine)
                if rescored.complete or want[i] >= rows:
                    results[i] = [Match(faces[face_id], cosine) for face_id, cosine in rescored.matches]
                else:
                    want[i] *= WIDEN
        return [result or [] for result in results]

    def run_slice(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """One slice of a fanned-out search (the invoked side)."""
        request = fanout.SliceRequest.from_event(event)
        found = scan(self.cache, request.keys, request.query, request.k, request.min_cosine)
        return fanout.shortlist_payload(found)
