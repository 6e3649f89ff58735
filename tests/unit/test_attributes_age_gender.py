"""Cydral age/gender post-processing: the age distribution and the gender call."""

from __future__ import annotations

import numpy as np
import pytest

from facesearch.vision.attributes.age_gender import AGE_CLASSES, GenderEstimate, age_from_probabilities


def test_age_is_the_expectation_over_the_81_classes() -> None:
    p = np.zeros(81)
    p[30], p[40] = 0.5, 0.5
    estimate = age_from_probabilities(p)
    assert len(AGE_CLASSES) == 81 and AGE_CLASSES[0] == 0.25 and AGE_CLASSES[-1] == 80
    assert estimate.mean == pytest.approx(35.0)
    assert estimate.quantile(0.25) == 30 and estimate.quantile(0.75) == 40


def test_age_probabilities_are_renormalised() -> None:
    p = np.zeros(81)
    p[20] = 2.0
    estimate = age_from_probabilities(p)
    assert estimate.mean == pytest.approx(20.0) and estimate.probabilities.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(("p_male", "value", "confidence"), [(0.9, "Male", 90.0), (0.2, "Female", 80.0),
                                                              (0.5, "Male", 50.0)])  # fmt: skip
def test_gender_value_and_confidence(p_male: float, value: str, confidence: float) -> None:
    estimate = GenderEstimate(p_male=p_male)
    assert estimate.value == value and estimate.confidence == pytest.approx(confidence)
