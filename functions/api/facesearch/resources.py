"""What a warm function keeps between requests beyond clients: the face pipeline and shard cache."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from facesearch.index.shards import SegmentStore

if TYPE_CHECKING:
    from facesearch.operations import Services
    from facesearch.index.search import Invoker
    from facesearch.storage.table import Collection


class Resources:
    """Built once per warm function and shared by its requests (and threads, in local mode)."""

    def __init__(self, segments: SegmentStore, invoker: Invoker | None = None) -> None:
        self._lock = threading.Lock()
        self._pipeline: Any = None
        self.segments = segments
        self._invoker = invoker

    def pipeline(self) -> Any:
        """The detector + embedder, loaded on first use so collection calls never pay for it."""
        with self._lock:
            if self._pipeline is None:
                from facesearch.vision.pipeline import get_pipeline

                self._pipeline = get_pipeline()
            return self._pipeline

    def invoker(self, services: Services) -> Invoker:
        """Lambda invocations of this function when deployed; threads in this process otherwise."""
        with self._lock:
            if self._invoker is None:
                from facesearch import internal
                from facesearch.index import search

                function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
                if function_name and not os.environ.get("FACESEARCH_LOCAL"):
                    import boto3

                    self._invoker = search.LambdaInvoker(boto3.client("lambda"), function_name)
                else:
                    self._invoker = search.ThreadInvoker(lambda event: internal.run(services, event))
            return self._invoker

    def forget_collection(self, services: Services, collection: Collection) -> None:
        """Remove what a deleted collection left behind: its faces, users and S3 objects."""
        for prefix in ("F#", "U#"):
            services.table.delete_partition(prefix + collection.uid)
        self.segments.delete(key for key, _ in self.segments.list_objects(collection.uid))
