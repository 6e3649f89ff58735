"""Every Rekognition operation the service implements, registered by its model name on import."""

from __future__ import annotations

from facesearch.operations import collections, faces, images, index_faces, search, user_search, users
from facesearch.operations.registry import OPERATIONS, collection_of

__all__ = [
    "OPERATIONS", "collection_of", "collections", "faces", "images", "index_faces", "search", "user_search", "users",
]
