"""`facesearch video`'s pure parts: time ranges from sample timestamps and the tables."""

from __future__ import annotations

from typing import Any

import pytest

from facesearch_cli.video_report import (
    clock,
    face_count_rows,
    face_counts,
    merge_gap,
    people,
    people_rows,
    ranges,
    ranges_text,
    sampling_step,
    time_range,
    video_line,
)


@pytest.mark.parametrize(("ms", "text"), [(0, "00:00.0"), (1299, "00:01.2"), (61_000, "01:01.0"),
                                          (3_599_999, "59:59.9"), (3_600_000, "1:00:00.0"), (-5, "00:00.0")])
def test_clock_shows_tenths_rounded_down_and_hours_only_past_an_hour(ms, text):
    assert clock(ms) == text


def test_a_range_is_first_to_last_sample_and_a_single_sample_is_its_time():
    assert time_range(1200, 4000) == "00:01.2-00:04.0"
    assert time_range(5600, 5600) == "00:05.6"
    assert time_range(5600, 5650) == "00:05.6"  # the same tenth


def test_samples_at_most_the_gap_apart_form_one_range():
    every_200 = list(range(0, 2001, 200))
    assert ranges([*every_200, 3000, 3200, 8000], gap_ms=1000) == [(0, 3200), (8000, 8000)]
    assert ranges([600, 0, 200, 200, 400], gap_ms=1000) == [(0, 600)]  # unsorted, repeated: one range
    assert ranges([], gap_ms=1000) == []
    assert ranges_text([(0, 3200), (8000, 8000)]) == "00:00.0-00:03.2, 00:08.0"


def test_the_gap_grows_with_a_sampling_step_longer_than_a_second():
    assert sampling_step([0, 200, 400, 1400, 1600]) == 200
    assert sampling_step([0]) is None and sampling_step([]) is None
    assert merge_gap([0, 200, 400]) == 1000
    assert merge_gap([0, 2000, 4000, 10_000]) == 3000  # 1.5 steps of 2 s
    assert merge_gap([0, 200], minimum_ms=500) == 500
    assert ranges([0, 2000, 4000, 10_000], merge_gap([0, 2000, 4000, 10_000])) == [(0, 4000), (10_000, 10_000)]


def search_item(t: int, index: int, *matches: tuple[str, float, str | None]) -> dict[str, Any]:
    item: dict[str, Any] = {"Timestamp": t, "Person": {"Index": index, "Face": {}}}
    if matches:
        item["FaceMatches"] = [{"Similarity": similarity, "Face": {"FaceId": face_id, **(
            {"ExternalImageId": external} if external else {})}} for face_id, similarity, external in matches]
    return item


def test_each_person_gets_its_time_ranges_and_its_best_match_over_every_sample():
    items = [
        search_item(0, 0, ("f-anna", 91.0, "anna")),
        search_item(200, 0, ("f-anna", 99.5, "anna"), ("f-ann", 85.0, "ann")),
        search_item(400, 0),  # a sample without a match
        search_item(8000, 0, ("f-anna", 97.0, "anna")),
        search_item(3000, 1, ("f-carl", 88.25, None)),  # no ExternalImageId: the FaceId stands in
        search_item(5600, 2),
        search_item(5800, 2),
    ]
    persons = people(reversed(items))  # any page order: grouped by Index, in Index order
    assert [person.index for person in persons] == [0, 1, 2]
    assert people_rows(persons, gap_ms=1000) == [
        [0, "00:00.0-00:00.4, 00:08.0", 4, "anna", "99.50", "f-anna"],
        [1, "00:03.0", 1, "f-carl", "88.25", "f-carl"],
        [2, "00:05.6-00:05.8", 2, "no match", "", ""],
    ]


def test_face_counts_are_runs_of_samples_with_the_same_number_of_faces():
    faces = [{"Timestamp": t} for t in (0, 200, 400, 400, 600, 600, 800, 5000)]
    counts = face_counts(faces, gap_ms=1000)
    assert face_count_rows(counts) == [["00:00.0-00:00.2", 1, 2], ["00:00.4-00:00.6", 2, 2],
                                       ["00:00.8", 1, 1], ["00:05.0", 1, 1]]  # 0.8 -> 5.0: a gap, not a run


def test_the_video_line_names_the_object_and_its_metadata():
    page = {"Video": {"S3Object": {"Bucket": "b", "Name": "k/v.mp4"}},
            "VideoMetadata": {"DurationMillis": 10_000, "FrameWidth": 640, "FrameHeight": 360, "FrameRate": 25.0,
                              "Codec": "h264"}}
    assert video_line(page) == "s3://b/k/v.mp4: 10.0 s, 640x360, 25 fps, h264"
    assert video_line({"Video": {"S3Object": {"Bucket": "b", "Name": "v.mp4"}}}) == "s3://b/v.mp4"
