"""The extension operations' FaceModelVersion rule: vectors of two face models are never mixed.

Rekognition's own operations answer a mismatch with InvalidParameterException (the index's check); the
extension model has an error of its own for it, so a caller can tell it from a bad parameter.
"""

from __future__ import annotations

from facesearch.errors import FaceModelVersionMismatchException
from facesearch.services import Services
from facesearch.storage import Collection


def require_model(services: Services, collection: Collection, version: str | None = None) -> None:
    """The collection (and `version`, when given) must be the face model this deployment runs."""
    running = services.index.model_version
    if collection.face_model_version != running:
        raise FaceModelVersionMismatchException(
            f"Collection {collection.collection_id} holds faces of FaceModelVersion {collection.face_model_version}; "
            f"this deployment indexes and searches with {running}.")
    if version is not None and version != running:
        raise FaceModelVersionMismatchException(
            f"The faces are of FaceModelVersion {version}; collection {collection.collection_id} holds "
            f"FaceModelVersion {running}, and embeddings of two face models cannot be compared. Re-index the "
            "photos instead.")
