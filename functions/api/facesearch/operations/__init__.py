"""Every Rekognition operation the service implements, by its model name.

An operation is `fn(services, request) -> result`: `request` is the validated input (blobs already
bytes), `result` a dict shaped as the operation's output in botocore's model.
"""

from __future__ import annotations

from facesearch.operations import collections, faces, images, users
from facesearch.operations.registry import OPERATIONS, Services, collection_of

__all__ = ["OPERATIONS", "Services", "collection_of", "collections", "faces", "images", "users"]
