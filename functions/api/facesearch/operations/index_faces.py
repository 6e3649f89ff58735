"""IndexFaces: which faces to store (QualityFilter, then MaxFaces), and storing an image only once.

"If you provide the same image, specify the same collection, and use the same external ID in the IndexFaces
operation, Amazon Rekognition doesn't save duplicate face metadata": an image (sha256 of its bytes) and its
ExternalImageId are recorded with the faces they gave, in the same transaction, so a repeat (a re-run, or a
retry whose first answer was lost) is answered with the faces already stored.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from facesearch.geometry import BoundingBox
from facesearch.operations import attributes, render
from facesearch.operations.analysis import analyze_bytes, image_bytes
from facesearch.operations.registry import Request, operation
from facesearch.services import Services
from facesearch.storage import Collection, FaceRecord, IndexedImage
from facesearch.storage.faces import DuplicateImage
from facesearch.vision import FACE_MODEL_VERSION, quality_filter
from facesearch.vision.image_decoder import DecodedImage
from facesearch.vision.pipeline import AnalyzedFace

DEFAULT_MAX_FACES = 100


def select_faces(image: DecodedImage, faces: list[AnalyzedFace], level: str, max_faces: int
                 ) -> tuple[list[AnalyzedFace], list[tuple[AnalyzedFace, list[str]]]]:
    """The faces to index (largest first) and the others with the reasons they are not indexed.

    Faces failing QualityFilter are left out with its reasons; if more than MaxFaces remain, the lowest
    quality ones go first, then the smallest (quality_filter.quality_rank), as EXCEEDS_MAX_FACES.
    """
    passing = [face for face in faces if not quality_filter.rejection_reasons(face, image.width, image.height, level)]
    ranked = sorted(passing, key=lambda face: quality_filter.quality_rank(face, image.width, image.height))
    chosen = {id(face) for face in ranked[:max_faces]}
    kept: list[AnalyzedFace] = []
    unindexed: list[tuple[AnalyzedFace, list[str]]] = []
    for face in faces:  # largest first, as IndexFaces returns them
        if id(face) in chosen:
            kept.append(face)
            continue
        reasons = quality_filter.rejection_reasons(face, image.width, image.height, level) or ["EXCEEDS_MAX_FACES"]
        unindexed.append((face, reasons))
    return kept, unindexed


def new_record(face: AnalyzedFace, image_id: str, external_image_id: str | None) -> FaceRecord:
    """The record of an embedded face (`FacePipeline.embedded`)."""
    return FaceRecord(face_id=str(uuid.uuid4()), image_id=image_id, bounding_box=face.bounding_box,
                      confidence=float(face.confidence), model_version=FACE_MODEL_VERSION,
                      external_image_id=external_image_id, embedding=face.vector.astype("float32").tobytes())


def overlap(a: BoundingBox, b: BoundingBox) -> float:
    """Intersection over union of two boxes."""
    width = max(0.0, min(a.left + a.width, b.left + b.width) - max(a.left, b.left))
    height = max(0.0, min(a.top + a.height, b.top + b.height) - max(a.top, b.top))
    inter = width * height
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


Details = Callable[[AnalyzedFace], dict[str, Any]]


def records(stored: Sequence[FaceRecord], faces: Sequence[AnalyzedFace], detail: Details) -> list[dict[str, Any]]:
    """FaceRecords: each stored face with the FaceDetail of the analysed face it came from."""
    rendered = []
    for record in stored:
        face = max(faces, key=lambda candidate: overlap(candidate.bounding_box, record.bounding_box))
        rendered.append({"Face": render.face(record), "FaceDetail": detail(face)})
    return rendered


def details(services: Services, image: DecodedImage, faces: Sequence[AnalyzedFace], request: Request) -> Details:
    """FaceDetail of each face, with the DetectionAttributes asked for (measured once for all faces)."""
    found = attributes.measure(services, image, faces, attributes.requested(request.get("DetectionAttributes")))
    by_face = {id(face): extra for face, extra in zip(faces, found, strict=True)}
    return lambda face: render.face_detail(face, by_face.get(id(face)))


def already_indexed(services: Services, collection: Collection, digest: str, external_image_id: str | None
                    ) -> list[FaceRecord] | None:
    """The faces a previous IndexFaces of this image stored, if any of them still exist."""
    image = services.storage.indexed_images.get(collection.uid, digest, external_image_id)
    if image is None:
        return None
    found = services.storage.faces.get_many(collection, list(image.face_ids), embeddings=False)
    faces = [found[face_id] for face_id in image.face_ids if face_id in found]
    if not faces:
        services.storage.indexed_images.forget(collection.uid, image)  # all deleted since: index it anew
        return None
    return faces


@operation("IndexFaces")
def index_faces(services: Services, request: Request) -> dict[str, Any]:
    collection = services.storage.collections.get(request["CollectionId"])
    services.index.check_model(collection)
    raw = image_bytes(request["Image"], services.inputs)
    image, faces = analyze_bytes(services, raw)  # only the faces it stores get embedded
    kept, unindexed = select_faces(image, faces, request.get("QualityFilter", "AUTO"),
                                   request.get("MaxFaces", DEFAULT_MAX_FACES))
    external_image_id = request.get("ExternalImageId")
    digest = hashlib.sha256(raw).hexdigest()
    stored = already_indexed(services, collection, digest, external_image_id) if kept else None
    if stored is None and kept:
        image_id = str(uuid.uuid4())
        new = [new_record(face, image_id, external_image_id) for face in services.pipeline().embedded(kept)]
        record = IndexedImage(digest, external_image_id, image_id, tuple(face.face_id for face in new))
        try:
            stored = services.index.add(collection, new, record)
        except DuplicateImage:  # a twin request committed this image first: answer with its faces
            stored = already_indexed(services, collection, digest, external_image_id) or []
    detail = details(services, image, faces, request)
    return {"FaceRecords": records(stored or [], kept, detail), "FaceModelVersion": FACE_MODEL_VERSION,
            "UnindexedFaces": [{"Reasons": reasons, "FaceDetail": detail(face)} for face, reasons in unindexed]}
