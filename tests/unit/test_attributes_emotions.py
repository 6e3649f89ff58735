"""FER2013's seven classes -> Rekognition's EmotionName, and the grey input the model expects."""

from __future__ import annotations

import botocore.session
import numpy as np
import pytest

from facesearch.vision.attributes import emotions

REKOGNITION = botocore.session.get_session().get_service_model("rekognition")


def test_every_fer_class_maps_to_a_distinct_rekognition_emotion() -> None:
    names = set(REKOGNITION.shape_for("EmotionName").enum)
    assert set(emotions.REKOGNITION_TYPES) == set(emotions.FER_CLASSES)
    assert set(emotions.REKOGNITION_TYPES.values()) <= names
    assert len(set(emotions.REKOGNITION_TYPES.values())) == 7
    assert emotions.REKOGNITION_TYPES["neutral"] == "CALM"


def test_confused_is_the_one_rekognition_emotion_nothing_measures() -> None:
    names = set(REKOGNITION.shape_for("EmotionName").enum) - {"UNKNOWN"}
    assert names - set(emotions.REKOGNITION_TYPES.values()) == set(emotions.UNMEASURED) == {"CONFUSED"}


def test_rank_orders_by_probability_and_reports_percent() -> None:
    p = np.array([0.05, 0.01, 0.04, 0.6, 0.1, 0.05, 0.15])  # angry .. neutral
    ranked = emotions.rank(p)
    assert [e.type for e in ranked][:3] == ["HAPPY", "CALM", "SAD"]
    assert [e.confidence for e in ranked] == sorted((e.confidence for e in ranked), reverse=True)
    assert sum(e.confidence for e in ranked) == pytest.approx(100.0)
    assert len(ranked) == 7 and "CONFUSED" not in {e.type for e in ranked}


def test_gray_blob_is_luma_scaled_to_minus_one_one() -> None:
    crops = np.zeros((2, 64, 64, 3), np.uint8)
    crops[1] = (255, 255, 255)
    crops[0, 0, 0] = (255, 0, 0)
    blob = emotions.gray_blob(crops)
    assert blob.shape == (2, 64, 64, 1) and blob.dtype == np.float32
    assert blob[0, 1, 1, 0] == pytest.approx(-1.0) and blob[1, 5, 5, 0] == pytest.approx(1.0)
    assert blob[0, 0, 0, 0] == pytest.approx((round(0.299 * 255) / 255 - 0.5) * 2)
