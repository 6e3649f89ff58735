"""QualityFilter bars: each reason is given exactly when its measurement fails the level."""

from __future__ import annotations

from dataclasses import dataclass

from facesearch.vision.quality_filter import rejection_reasons


@dataclass(frozen=True)
class Box:
    width: float
    height: float


@dataclass(frozen=True)
class Quality:
    brightness: float
    sharpness: float


@dataclass(frozen=True)
class Pose:
    yaw: float
    pitch: float


@dataclass(frozen=True)
class Face:
    bounding_box: Box = Box(0.2, 0.2)
    confidence: float = 99.9
    quality: Quality = Quality(60, 80)
    pose: Pose = Pose(0, 0)
    visible: float = 1.0
    eyes_seen: int = 2


def reasons(face: Face, level: str) -> list[str]:
    return rejection_reasons(face, 1000, 1000, level)


def test_a_good_face_passes_every_level():
    for level in ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH"):
        assert reasons(Face(), level) == []


def test_none_filters_nothing():
    assert reasons(Face(bounding_box=Box(0.001, 0.001), confidence=1, quality=Quality(0, 0)), "NONE") == []


def test_each_measurement_maps_to_its_reason():
    assert reasons(Face(bounding_box=Box(0.03, 0.5)), "MEDIUM") == ["SMALL_BOUNDING_BOX"]
    assert reasons(Face(confidence=94), "HIGH") == ["LOW_CONFIDENCE"]
    assert reasons(Face(quality=Quality(60, 10)), "MEDIUM") == ["LOW_SHARPNESS"]
    assert reasons(Face(quality=Quality(99, 80)), "LOW") == ["LOW_BRIGHTNESS"]
    assert reasons(Face(pose=Pose(70, 0)), "MEDIUM") == ["EXTREME_POSE"]


def test_higher_levels_are_stricter():
    face = Face(bounding_box=Box(0.05, 0.05))  # 50 px
    assert reasons(face, "MEDIUM") == []
    assert reasons(face, "HIGH") == ["SMALL_BOUNDING_BOX"]


def test_a_face_mostly_cut_off_by_the_frame_is_too_poor_to_search_at_each_level_s_share():
    assert reasons(Face(visible=0.3), "LOW") == ["LOW_FACE_QUALITY"]
    assert reasons(Face(visible=0.45), "LOW") == []
    assert reasons(Face(visible=0.45), "MEDIUM") == ["LOW_FACE_QUALITY"]
    assert reasons(Face(visible=0.7), "MEDIUM") == []
    assert reasons(Face(visible=0.7), "HIGH") == ["LOW_FACE_QUALITY"]
    assert reasons(Face(visible=0.9), "HIGH") == []


def test_a_face_cut_below_its_eyes_is_too_poor_to_search_at_every_level():
    assert reasons(Face(visible=0.5, eyes_seen=0), "LOW") == ["LOW_FACE_QUALITY"]
    assert reasons(Face(visible=0.5, eyes_seen=1), "LOW") == []
