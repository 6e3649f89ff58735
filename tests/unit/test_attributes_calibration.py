"""Scores -> Rekognition values: the logistic maps, AgeRange from the mean age, and their fitting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facesearch.vision.attributes import calibration
from facesearch.vision.attributes.calibration import Platt


def test_platt_is_a_logistic_with_its_midpoint_at_the_threshold() -> None:
    platt = Platt(slope=2.0, intercept=-1.0)
    assert platt.threshold() == pytest.approx(0.5)
    assert platt.probability(0.5) == pytest.approx(0.5)
    assert platt.probability(3.0) == pytest.approx(1 / (1 + math.exp(-5.0)))
    assert platt.probability(-10) < 0.01
    assert platt.probability(10) > 0.99


def test_decide_names_the_likelier_value_with_its_probability_as_confidence() -> None:
    platt = Platt(slope=1.0, intercept=0.0)
    high, low = calibration.decide(platt, 2.0), calibration.decide(platt, -2.0)
    assert high.value is True and low.value is False
    assert high.confidence == pytest.approx(100 / (1 + math.exp(-2.0)))
    assert low.confidence == pytest.approx(high.confidence)  # symmetric map, symmetric certainty
    assert calibration.decide(platt, 0.0).confidence == pytest.approx(50.0)


def test_features_are_monotonic_in_their_blendshapes() -> None:
    assert calibration.smile_feature(0.9, 0.8) > calibration.smile_feature(0.1, 0.2)
    assert calibration.eyes_closed_feature(0.7, 0.7) > calibration.eyes_closed_feature(0.1, 0.1)
    assert calibration.mouth_open_feature(0.5, 0.0) > calibration.mouth_open_feature(0.5, 0.3)
    assert math.isfinite(calibration.logit(0.0)) and math.isfinite(calibration.logit(1.0))


@pytest.mark.parametrize("mean", [0.25, 3.0, 24.6, 48.2, 79.9])
def test_age_range_holds_the_mean_in_whole_years_and_widens_with_age(mean: float) -> None:
    low, high = calibration.age_range(mean, 0.2)
    assert isinstance(low, int) and isinstance(high, int)
    assert 0 <= low <= mean <= high
    assert high - low >= 0.4 * mean - 1e-9


def test_age_range_width_grows_with_the_age() -> None:
    young, old = calibration.age_range(20, 0.24), calibration.age_range(60, 0.24)
    assert old[1] - old[0] > young[1] - young[0]


def test_the_shipped_constants_are_fitted_not_placeholders() -> None:
    for platt in (calibration.SMILE, calibration.EYES_CLOSED, calibration.MOUTH_OPEN):
        assert platt.slope > 0  # a higher score must mean "more smiling / closed / open"
    assert 0.05 < calibration.AGE_RELATIVE_HALF_WIDTH < 0.5
    assert calibration.GAZE_ZERO_PITCH != 0.0


def test_fit_platt_recovers_a_known_logistic() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=20000)
    y = rng.random(20000) < 1 / (1 + np.exp(-(3.0 * x - 1.5)))
    fit = calibration.fit_platt(x, y)
    assert fit.slope == pytest.approx(3.0, rel=0.1)
    assert fit.intercept == pytest.approx(-1.5, rel=0.1)


def test_fit_platt_stays_finite_on_separable_labels() -> None:
    fit = calibration.fit_platt(np.array([-2.0, -1.0, 1.0, 2.0]), np.array([0, 0, 1, 1]))
    assert math.isfinite(fit.slope) and fit.slope > 0 and abs(fit.threshold()) < 1


def test_fit_age_half_width_reaches_the_coverage_and_no_more_than_needed() -> None:
    rng = np.random.default_rng(1)
    truth = rng.uniform(18, 60, 400)
    means = truth * (1 + rng.normal(0, 0.1, 400))
    half = calibration.fit_age_half_width(means, truth, coverage=0.8)
    covered = lambda k: np.mean([lo <= t <= hi for t, (lo, hi) in  # noqa: E731
                                 zip(truth, (calibration.age_range(m, k) for m in means), strict=True)])  # fmt: skip
    assert covered(half) >= 0.8
    assert covered(half - 0.01) < 0.8
