"""QualityFilter: which detected faces IndexFaces / search operations leave out, and why.

Rekognition documents the reasons, not its bars, so these are ours, measured with the same
tools that report FaceDetail (detector confidence, face box in pixels, Quality and Pose from
`face_attributes`). Each level is a set of bars; a face failing any bar gets that reason:

| level  | box side (px) | confidence | sharpness | brightness | abs(yaw) / abs(pitch) | in the picture |
|--------|---------------|------------|-----------|------------|-----------------------|----------------|
| LOW    | < 20          | < 90       | < 5       | < 5 or > 98  | > 80 / > 70         | < 35 %         |
| MEDIUM | < 40          | < 93       | < 12      | < 12 or > 95 | > 65 / > 50         | < 60 %         |
| HIGH   | < 60          | < 96       | < 25      | < 20 or > 90 | > 45 / > 35         | < 80 %         |

AUTO is LOW (Rekognition's AUTO keeps all but clearly unusable faces), NONE filters nothing.
LOW_FACE_QUALITY is given when sharpness and brightness both sit within 20 % above their bars:
each alone passes, together the face is poor. It is also the reason for a face the frame cuts so that
less of its box than the level's share is in the picture, or no eye: found, but too little of it to
search with (a London face cut to 30 % matched its own photo at Similarity >= 80 in 35 % of the cuts, at
40 % in 73 %, at 60 % in 98 %, with the landmarks of the whole photo; cut below its eyes, at 34-64 even
with half of it in the picture).

`quality_rank` orders faces for IndexFaces' MaxFaces ("the faces with the lowest quality are filtered out
first ... then the faces with the smallest bounding boxes"): a face failing more of the MEDIUM bars, then
more of the HIGH bars, is of lower quality; among faces of equal quality the larger box wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from facesearch.vision.pipeline import AnalyzedFace


@dataclass(frozen=True)
class Bars:
    min_side_px: float
    min_confidence: float
    min_sharpness: float
    brightness_range: tuple[float, float]
    max_yaw: float
    max_pitch: float
    min_visible: float  # share of the face box in the picture


LEVELS: dict[str, Bars] = {
    "LOW": Bars(20, 90.0, 5.0, (5.0, 98.0), 80.0, 70.0, 0.35),
    "MEDIUM": Bars(40, 93.0, 12.0, (12.0, 95.0), 65.0, 50.0, 0.6),
    "HIGH": Bars(60, 96.0, 25.0, (20.0, 90.0), 45.0, 35.0, 0.8),
}
LEVELS["AUTO"] = LEVELS["LOW"]


def rejection_reasons(face: AnalyzedFace, image_width: int, image_height: int, level: str) -> list[str]:
    """The Rekognition reasons `face` (a pipeline.AnalyzedFace) fails `level`; empty if it passes."""
    bars = LEVELS.get(level)
    if bars is None:
        return []
    reasons = []
    box = face.bounding_box
    if min(box.width * image_width, box.height * image_height) < bars.min_side_px:
        reasons.append("SMALL_BOUNDING_BOX")
    if face.confidence < bars.min_confidence:
        reasons.append("LOW_CONFIDENCE")
    sharpness, brightness = face.quality.sharpness, face.quality.brightness
    low, high = bars.brightness_range
    if sharpness < bars.min_sharpness:
        reasons.append("LOW_SHARPNESS")
    if not low <= brightness <= high:
        reasons.append("LOW_BRIGHTNESS")
    if abs(face.pose.yaw) > bars.max_yaw or abs(face.pose.pitch) > bars.max_pitch:
        reasons.append("EXTREME_POSE")
    poor = not reasons and sharpness < bars.min_sharpness * 1.2 and brightness < low * 1.2
    if poor or face.visible < bars.min_visible or face.eyes_seen == 0:
        reasons.append("LOW_FACE_QUALITY")
    return reasons


def quality_rank(face: AnalyzedFace, image_width: int, image_height: int) -> tuple[int, int, float]:
    """Sort key, best first: (MEDIUM bars failed, HIGH bars failed, -box area in pixels)."""
    box = face.bounding_box
    area = box.width * image_width * box.height * image_height
    return (len(rejection_reasons(face, image_width, image_height, "MEDIUM")),
            len(rejection_reasons(face, image_width, image_height, "HIGH")), -area)
