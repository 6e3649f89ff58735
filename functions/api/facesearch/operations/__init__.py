"""Every operation the service implements, registered by its model name on import: Rekognition's, and the
facesearch extension operations (all_faces, external_ids, transfer) of the model in wire/models/facesearch."""

from __future__ import annotations

from facesearch.operations import (
    all_faces,
    collections,
    compare_faces,
    detect_faces,
    external_ids,
    faces,
    index_faces,
    search,
    transfer,
    user_search,
    users,
    video,
)
from facesearch.operations.registry import EXTENSION_OPERATIONS, OPERATIONS, collection_of, operations_of

__all__ = [
    "EXTENSION_OPERATIONS", "OPERATIONS", "all_faces", "collection_of", "collections", "compare_faces",
    "detect_faces", "external_ids", "faces", "index_faces", "operations_of", "search", "transfer", "user_search",
    "users", "video",
]
