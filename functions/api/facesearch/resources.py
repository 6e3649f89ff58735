"""What a warm function keeps between requests beyond clients: the face pipeline and shard cache."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from facesearch.operations import Services
    from facesearch.store import Collection


class Resources:
    """Lazily built, shared by every request of a warm function (and by threads in local mode)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pipeline: Any = None

    def pipeline(self) -> Any:
        """The detector + embedder, loaded on first use so collection calls never pay for it."""
        with self._lock:
            if self._pipeline is None:
                from facesearch.pipeline import get_pipeline

                self._pipeline = get_pipeline()
            return self._pipeline

    def forget_collection(self, services: Services, collection: Collection) -> None:
        """Remove what a deleted collection left behind: its faces, users and S3 objects."""
        from facesearch import segments

        for prefix in ("F#", "U#"):
            services.table.delete_partition(prefix + collection.uid)
        segments.delete_collection_objects(services.s3, services.settings.bucket_name, collection.uid)
