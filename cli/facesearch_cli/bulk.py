"""`facesearch index`: many images into a collection with N concurrent workers, resumably.

Sources already in the local state are not sent again; the rest go to IndexFaces with their ExternalImageId,
which the service dedupes itself (same image + ExternalImageId stores nothing twice), so a re-run after a
crash or on a new machine indexes nothing new. Throttling that outlasts botocore's own retries is waited out
here with exponential backoff; any other failure is recorded with its file and the run goes on.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from facesearch_cli.sources import Source
from facesearch_cli.state import IndexState

THROTTLED = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException", "LimitExceededException"})
BACKOFF_ATTEMPTS = 6


@dataclass(frozen=True)
class Failure:
    name: str
    error: str


@dataclass
class Summary:
    sources: int = 0
    skipped: int = 0  # already in the local state
    indexed: int = 0
    faces: int = 0
    without_faces: int = 0
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0


def error_text(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', '')}"
    return f"{type(error).__name__}: {error}"


def with_backoff(call: Callable[[], Any], sleep: Callable[[float], None] = time.sleep) -> Any:
    """`call()`, waiting and trying again while the service throttles (full jitter, capped at 20 s)."""
    for attempt in range(BACKOFF_ATTEMPTS):
        try:
            return call()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in THROTTLED or attempt == BACKOFF_ATTEMPTS - 1:
                raise
            sleep(random.uniform(0, min(20.0, 0.5 * 2**attempt)))
    raise AssertionError("unreachable")


def index_one(client: Any, collection: str, source: Source) -> list[str]:
    """IndexFaces of one source; the FaceIds it stored (or had stored before)."""
    image = source.image()
    response = with_backoff(lambda: client.index_faces(CollectionId=collection, Image=image,
                                                       ExternalImageId=source.external_image_id))
    return [record["Face"]["FaceId"] for record in response["FaceRecords"]]


def index_all(client: Any, collection: str, sources: Sequence[Source], state: IndexState, workers: int,
              progress: Callable[[Summary], None] = lambda _: None) -> Summary:
    started = time.perf_counter()
    summary = Summary(sources=len(sources))
    todo = [source for source in sources if source.identity not in state]
    summary.skipped = len(sources) - len(todo)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(index_one, client, collection, source): source for source in todo}
        for future in as_completed(futures):
            source = futures[future]
            try:
                face_ids = future.result()
            except (ClientError, BotoCoreError, OSError, ValueError) as error:
                summary.failures.append(Failure(source.name, error_text(error)))
            else:
                state.record(source.identity, source.external_image_id, face_ids)
                summary.indexed += 1
                summary.faces += len(face_ids)
                summary.without_faces += not face_ids
            progress(summary)
    state.close()
    summary.seconds = time.perf_counter() - started
    return summary
