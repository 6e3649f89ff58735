"""DetectFaces: every face of an image with the attributes asked for."""

from __future__ import annotations

from typing import Any

from facesearch.operations import attributes, render
from facesearch.operations.analysis import analyze
from facesearch.operations.registry import Request, operation
from facesearch.services import Services


@operation("DetectFaces")
def detect_faces(services: Services, request: Request) -> dict[str, Any]:
    image, faces = analyze(services, request["Image"])
    found = attributes.measure(services, image, faces, attributes.requested(request.get("Attributes")))
    return {"FaceDetails": [render.face_detail(face, extra) for face, extra in zip(faces, found, strict=True)]}
