"""Following faces from sample to sample: one index per person, kept across gaps when the face is clearly
the same, never shared by two people on screen together."""

from __future__ import annotations

import numpy as np

from facesearch.video.tracking import Sighting, assign_indexes, box_iou


def face(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(128)
    return vector / np.linalg.norm(vector)


def noisy(vector: np.ndarray, seed: int, amount: float = 1.0) -> np.ndarray:
    moved = vector + amount * face(1000 + seed) / np.sqrt(2)
    return moved / np.linalg.norm(moved)


def test_box_iou():
    assert box_iou((0, 0, 1, 1), (0, 0, 1, 1)) == 1.0
    assert box_iou((0, 0, 0.5, 0.5), (0.5, 0.5, 0.5, 0.5)) == 0.0
    assert abs(box_iou((0, 0, 0.2, 0.2), (0.1, 0, 0.2, 0.2)) - 1 / 3) < 1e-9


def test_a_face_moving_a_little_between_samples_keeps_its_index_without_embeddings():
    sightings = [Sighting(t * 200, (0.1 + 0.01 * t, 0.2, 0.2, 0.3)) for t in range(20)]
    assert set(assign_indexes(sightings)) == {0}


def test_two_people_side_by_side_get_two_indexes_numbered_by_first_appearance():
    anna, ben = face(1), face(2)
    sightings = []
    for t in range(10):
        sightings.append(Sighting(t * 200, (0.1, 0.2, 0.2, 0.3), noisy(anna, t)))
        if t >= 3:
            sightings.append(Sighting(t * 200, (0.6, 0.2, 0.2, 0.3), noisy(ben, t)))
    indexes = assign_indexes(sightings)
    anna_indexes = {i for s, i in zip(sightings, indexes, strict=True) if s.box[0] == 0.1}
    ben_indexes = {i for s, i in zip(sightings, indexes, strict=True) if s.box[0] == 0.6}
    assert anna_indexes == {0} and ben_indexes == {1}


def test_a_person_who_leaves_and_comes_back_gets_the_same_index_a_new_person_a_new_one():
    anna, carl = face(1), face(3)
    sightings = [Sighting(t * 200, (0.1, 0.2, 0.2, 0.3), noisy(anna, t)) for t in range(5)]
    sightings += [Sighting(3000 + t * 200, (0.7, 0.3, 0.2, 0.3), noisy(anna, 10 + t)) for t in range(5)]
    sightings += [Sighting(6000 + t * 200, (0.7, 0.3, 0.2, 0.3), noisy(carl, t)) for t in range(5)]
    assert assign_indexes(sightings) == [0] * 10 + [1] * 5


def test_two_faces_crossing_keep_their_own_indexes():
    anna, ben = face(1), face(2)
    sightings = []
    for t in range(11):
        x = 0.1 + 0.06 * t  # Anna goes right, Ben goes left: they overlap around t = 5
        sightings.append(Sighting(t * 200, (x, 0.2, 0.2, 0.3), noisy(anna, t)))
        sightings.append(Sighting(t * 200, (0.7 - 0.06 * t, 0.2, 0.2, 0.3), noisy(ben, t)))
    indexes = assign_indexes(sightings)
    assert indexes[0::2] == [0] * 11 and indexes[1::2] == [1] * 11
