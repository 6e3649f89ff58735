"""How every image-taking operation reads its `Image` and picks the faces it acts on.

Image.Bytes or Image.S3Object -> checked bytes (Rekognition's limits) -> the decoded image and its faces.
Each operation embeds only the faces it compares or stores (`FacePipeline.embedded`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from facesearch.errors import (
    ImageTooLargeException,
    InvalidParameterException,
    InvalidS3ObjectException,
)
from facesearch.operations.registry import Request
from facesearch.services import Services
from facesearch.storage.input_objects import InputObjects, ObjectRef, ObjectTooLarge, ObjectUnavailable
from facesearch.vision import quality_filter
from facesearch.vision.image_decoder import TOO_LARGE_MESSAGE, DecodedImage, decode_image
from facesearch.vision.pipeline import AnalyzedFace

MAX_BYTES = 5 * 1024 * 1024  # Image.Bytes, decoded from base64
MAX_S3_BYTES = 15 * 1024 * 1024  # Image.S3Object
S3_MESSAGE = "Unable to get object metadata from S3. Check object key, region and/or access permissions."
NO_IMAGE_MESSAGE = "Requested image should either contain bytes or s3 object."
NO_FACE_MESSAGE = "There are no faces in the image. Should be at least 1."


def image_bytes(image: Mapping[str, Any], inputs: InputObjects) -> bytes:
    """Image.Bytes (already base64-decoded), or Image.S3Object from a bucket the deployment may read.

    Neither or both -> InvalidParameterException; over the limit -> ImageTooLargeException; an object that
    is missing, unreadable or in a bucket not allowed -> InvalidS3ObjectException, the same for all.
    """
    has_bytes = image.get("Bytes") is not None
    has_s3 = image.get("S3Object") is not None
    if has_bytes == has_s3:
        raise InvalidParameterException(NO_IMAGE_MESSAGE)
    if has_bytes:
        data = bytes(image["Bytes"])
        if len(data) > MAX_BYTES:
            raise ImageTooLargeException(TOO_LARGE_MESSAGE)
        return data
    try:
        return inputs.read(ObjectRef.from_request(image["S3Object"]), MAX_S3_BYTES)
    except ObjectUnavailable as error:
        raise InvalidS3ObjectException(S3_MESSAGE) from error
    except ObjectTooLarge as error:
        raise ImageTooLargeException(TOO_LARGE_MESSAGE) from error


def analyze_bytes(services: Services, raw: bytes) -> tuple[DecodedImage, list[AnalyzedFace]]:
    """The decoded image and its faces, not yet embedded."""
    decoded = decode_image(raw)
    return decoded, services.pipeline().analyze(decoded, with_embeddings=False)


def analyze(services: Services, image: dict[str, Any]) -> tuple[DecodedImage, list[AnalyzedFace]]:
    return analyze_bytes(services, image_bytes(image, services.inputs))


def passes(face: AnalyzedFace, image: DecodedImage, level: str) -> bool:
    return not quality_filter.rejection_reasons(face, image.width, image.height, level)


def searchable_faces(services: Services, request: Request
                     ) -> tuple[DecodedImage, AnalyzedFace | None, list[AnalyzedFace]]:
    """The image, its largest face that passes QualityFilter (default NONE) if any, and all its faces.
    Only the searched face is embedded (in a group photo the others would cost ~45 ms each for nothing)."""
    image, faces = analyze(services, request["Image"])
    level = request.get("QualityFilter", "NONE")
    chosen = next((i for i, face in enumerate(faces) if passes(face, image, level)), None)
    if chosen is None:
        return image, None, faces
    faces[chosen] = services.pipeline().embedded([faces[chosen]])[0]
    return image, faces[chosen], faces


def largest_searchable_face(services: Services, request: Request
                            ) -> tuple[DecodedImage, AnalyzedFace, list[AnalyzedFace]]:
    """The image's largest face that passes QualityFilter (default NONE), or InvalidParameterException."""
    image, face, faces = searchable_faces(services, request)
    if face is None:
        raise InvalidParameterException(NO_FACE_MESSAGE)
    return image, face, faces
