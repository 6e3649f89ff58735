"""One segment of a video: its sampled frames, every face in each, described as the results will show it.

A sample is `{"t": ms, "faces": [{"box": [left, top, width, height], "detail": FaceDetail, "q": quality,
"e": base64 float32 embedding (face search only)}]}`: the merge needs no model, only these. FaceDetail is
rendered here, with the attributes StartFaceDetection asked for (ALL runs the attribute models on every
face; GetFaceDetection documents EyeDirection and FaceOccluded as always null, so they are left out).
GetFaceSearch "only returns the default facial attributes".
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from facesearch.operations import attributes, render
from facesearch.operations.video.jobs import SEARCH
from facesearch.services import Services
from facesearch.storage.video_jobs import VideoJob
from facesearch.video.plan import Segment
from facesearch.vision.image_decoder import DecodedImage
from facesearch.vision.pipeline import AnalyzedFace
from facesearch.vision.video_decoder import sample_frames

# GetFaceDetection: "the returned values for FaceOccluded and EyeDirection will always be null"
NOT_IN_VIDEO = frozenset({"EYE_DIRECTION"})


def wanted_attributes(job: VideoJob) -> frozenset[str]:
    if job.api == SEARCH or job.face_attributes != "ALL":
        return frozenset()
    return attributes.requested(["ALL"]) - NOT_IN_VIDEO


def sample_segment(services: Services, job: VideoJob, url: str, segment: Segment, step_ms: int
                   ) -> list[dict[str, Any]]:
    """The samples of `segment`, in time order."""
    pipeline = services.pipeline()
    embed = job.api == SEARCH
    wanted = wanted_attributes(job)
    samples: list[dict[str, Any]] = []
    for timestamp, pixels in sample_frames(url, segment.start_ms, segment.end_ms, step_ms):
        height, width = pixels.shape[:2]
        image = DecodedImage(pixels=pixels, width=width, height=height, format="VIDEO")
        faces = pipeline.analyze(image, with_embeddings=embed)
        found = attributes.measure(services, image, faces, wanted)
        samples.append({"t": int(timestamp),
                        "faces": [face_record(face, extra) for face, extra in zip(faces, found, strict=True)]})
    return samples


def face_record(face: AnalyzedFace, extra: Any) -> dict[str, Any]:
    box = face.bounding_box
    record: dict[str, Any] = {
        "box": [box.left, box.top, box.width, box.height],
        "detail": render.face_detail(face, extra),
        "q": representativeness(face),
    }
    if face.embedding is not None:
        record["e"] = base64.b64encode(np.asarray(face.embedding, "<f4").tobytes()).decode("ascii")
    return record


def representativeness(face: AnalyzedFace) -> float:
    """How well this sighting shows the face (sharp and turned to the camera): the best ones of a person
    are the queries its collection search uses."""
    frontal = max(0.0, 1.0 - abs(face.pose.yaw) / 90.0) * max(0.0, 1.0 - abs(face.pose.pitch) / 90.0)
    return float(face.quality.sharpness * frontal * face.confidence / 100.0)


def embedding_of(record: dict[str, Any]) -> np.ndarray | None:
    raw = record.get("e")
    return None if raw is None else np.frombuffer(base64.b64decode(raw), dtype="<f4").astype(np.float32)
