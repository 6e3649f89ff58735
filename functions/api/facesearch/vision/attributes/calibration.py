"""Model scores -> Rekognition values and confidences, with the constants fitted by bench/attributes.py.

Each boolean attribute has one score from the blendshape model and a logistic (Platt) map
P(true) = sigmoid(a * feature + b) fitted on labelled photos; Value = P >= 0.5 and Confidence =
100 x P(Value), so Confidence says how often a call this sure was right on those photos. Where the
labelled photos came from, how many, and the cross-validated accuracy are in docs/attributes.md; rerun
`python bench/attributes.py --fit` to refit (it prints these constants).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_EPS = 1e-4


@dataclass(frozen=True)
class Platt:
    """P(true) = sigmoid(slope * feature + intercept)."""

    slope: float
    intercept: float

    def probability(self, feature: float) -> float:
        return 1.0 / (1.0 + math.exp(-(self.slope * feature + self.intercept)))

    def threshold(self) -> float:
        """The feature value where P = 0.5 (nan for a flat map)."""
        return -self.intercept / self.slope if self.slope else math.nan


def logit(score: float) -> float:
    """log-odds of a [0, 1] score, clipped so 0 and 1 stay finite."""
    p = min(max(float(score), _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


# --- the features, one per attribute -----------------------------------------------------------------


def smile_feature(smile_left: float, smile_right: float) -> float:
    """logit of the mean of mouthSmileLeft/Right."""
    return logit((smile_left + smile_right) / 2)


def eyes_closed_feature(blink_left: float, blink_right: float) -> float:
    """logit of the mean of eyeBlinkLeft/Right (the mean separated the labelled photos better than the
    max: AUC 0.93 vs 0.89, docs/attributes.md)."""
    return logit((blink_left + blink_right) / 2)


def mouth_open_feature(jaw_open: float, mouth_close: float) -> float:
    """jawOpen - mouthClose (mouthClose rises when lips touch while the jaw is open: AUC 0.98 vs 0.94 for
    jawOpen alone on the labelled photos)."""
    return float(jaw_open - mouth_close)


# --- shipped constants (bench/attributes.py --fit) -----------------------------------------------------

# London smiling vs neutral photos, 204 (P = 0.5 at a mean smile score of 0.066)
SMILE = Platt(slope=0.8128, intercept=2.1525)
# P(eyes closed); 49 LFW photos labelled by eye, 18 closed (P = 0.5 at a mean blink score of 0.505)
EYES_CLOSED = Platt(slope=1.8017, intercept=-0.0325)
# 66 LFW photos labelled by eye, 44 open (P = 0.5 at jawOpen - mouthClose = 0.063)
MOUTH_OPEN = Platt(slope=35.5139, intercept=-2.2527)
# AgeRange = [mean * (1 - k), mean * (1 + k)] rounded outwards, k fitted so 85 % of London's true ages
# (200 photos with a known age) fall inside; 2-fold cross-validated 84.0 % inside, 14.9 y wide on average
AGE_RELATIVE_HALF_WIDTH = 0.227
# Iris offset (in eyeball radii) of camera-directed gaze, subtracted before the angle is taken: on London's
# studio photos (everyone looks into the camera) the raw geometry reads +12.0 degrees pitch, +1.3 yaw.
GAZE_ZERO_YAW = 0.0235
GAZE_ZERO_PITCH = 0.2077


@dataclass(frozen=True)
class BoolAttribute:
    value: bool
    confidence: float  # 0-100


def decide(platt: Platt, feature: float) -> BoolAttribute:
    p = platt.probability(feature)
    return BoolAttribute(value=p >= 0.5, confidence=100.0 * max(p, 1.0 - p))


def age_range(mean_age: float, half_width: float = AGE_RELATIVE_HALF_WIDTH) -> tuple[int, int]:
    """(Low, High) in whole years around the estimated mean age, never below 0."""
    low = max(0, math.floor(mean_age * (1.0 - half_width)))
    high = max(low, math.ceil(mean_age * (1.0 + half_width)))
    return low, high


# --- fitting (used by bench/attributes.py; pure) ---------------------------------------------------------


def fit_platt(features: np.ndarray, labels: np.ndarray, l2: float = 1e-3, iterations: int = 50) -> Platt:
    """Logistic regression of labels (0/1) on one feature by Newton's method, lightly L2-regularised so
    a perfectly separable set still gives a finite slope."""
    x = np.column_stack([np.asarray(features, dtype=np.float64), np.ones(len(features))])
    y = np.asarray(labels, dtype=np.float64)
    w = np.zeros(2)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (p - y) + l2 * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(2)
        w -= np.linalg.solve(hessian, gradient)
    return Platt(slope=float(w[0]), intercept=float(w[1]))


def fit_age_half_width(mean_ages: np.ndarray, true_ages: np.ndarray, coverage: float = 0.85) -> float:
    """The smallest relative half-width whose rounded ranges hold `coverage` of the true ages."""
    means = np.asarray(mean_ages, dtype=np.float64)
    truth = np.asarray(true_ages, dtype=np.float64)
    for k in np.arange(0.0, 1.0, 0.001):
        ranges = np.array([age_range(m, float(k)) for m in means])
        if np.mean((truth >= ranges[:, 0]) & (truth <= ranges[:, 1])) >= coverage:
            return float(round(k, 3))
    return 1.0
