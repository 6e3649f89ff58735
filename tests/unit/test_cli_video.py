"""`facesearch video`'s pure parts: time ranges from sample timestamps, the tables, the job's token and upload
key, and the poll loop against a fake client."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from facesearch_cli import video
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


# --- the job's identity ------------------------------------------------------------------------------------


def test_the_token_names_the_video_and_the_parameters_and_fits_the_model():
    clip = video.VideoObject("b", "k.mp4", '"etag1"')
    token = video.request_token(video.SEARCH, clip, {"CollectionId": "c", "FaceMatchThreshold": 80.0})
    assert re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", token)  # ClientRequestToken's pattern and length
    assert token == video.request_token(video.SEARCH, clip, {"FaceMatchThreshold": 80.0, "CollectionId": "c"})
    others = [
        video.request_token(video.SEARCH, clip, {"CollectionId": "c", "FaceMatchThreshold": 90.0}),
        video.request_token(video.SEARCH, video.VideoObject("b", "k.mp4", '"etag2"'),
                            {"CollectionId": "c", "FaceMatchThreshold": 80.0}),  # the object was replaced
        video.request_token(video.DETECTION, clip, {"CollectionId": "c", "FaceMatchThreshold": 80.0}),
        video.request_token(video.SEARCH, clip, {"CollectionId": "c", "FaceMatchThreshold": 80.0}, nonce="x"),
    ]
    assert len({token, *others}) == 5


def test_uploads_are_keyed_by_content_and_a_matching_object_is_not_sent_again():
    digest = "ab" * 32
    assert video.upload_key("facesearch-video/", digest, "my clip.mp4") == "facesearch-video/" + "ab" * 8 + \
        "/my clip.mp4"
    assert video.upload_key("", digest, "v.mp4") == "ab" * 8 + "/v.mp4"
    assert video.holds({"ContentLength": 10, "Metadata": {"sha256": digest}}, 10, digest)
    assert video.holds({"ContentLength": 10, "Metadata": {}}, 10, digest)  # put there by other means
    assert not video.holds({"ContentLength": 10, "Metadata": {"sha256": "cd" * 32}}, 10, digest)
    assert not video.holds({"ContentLength": 9}, 10, digest)
    assert not video.holds(None, 10, digest)


@pytest.mark.parametrize("location", ["s3://bucket", "s3://bucket/", "s3:///key"])
def test_an_s3_video_needs_a_bucket_and_a_key(location):
    with pytest.raises(ValueError, match="s3://bucket/key"):
        video.parse_s3(location)


# --- waiting --------------------------------------------------------------------------------------------------


class FakeRekognition:
    """GetFaceSearch answering IN_PROGRESS a few times (throttled once), then SUCCEEDED in two pages."""

    def __init__(self, running: int) -> None:
        self.running = running
        self.calls: list[dict[str, Any]] = []
        self.throttled = False

    def get_face_search(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        if not self.throttled:
            self.throttled = True
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "GetFaceSearch")
        if self.running:
            self.running -= 1
            return {"JobStatus": "IN_PROGRESS", "Persons": [], "ResponseMetadata": {}}
        if request.get("NextToken") == "2":
            return {"JobStatus": "SUCCEEDED", "Persons": [{"Timestamp": 2}]}
        return {"JobStatus": "SUCCEEDED", "Persons": [{"Timestamp": 1}], "NextToken": "2"}


def test_wait_polls_with_growing_intervals_then_pages_sorted_by_index(monkeypatch):
    monkeypatch.setattr("facesearch_cli.bulk.random.uniform", lambda low, high: 0.0)
    client, slept, seen = FakeRekognition(running=4), [], []
    first = video.wait(client, video.SEARCH, "job", seen.append, slept.append)
    assert slept == [2.0, 3.0, 4.5, 5.0]  # every 2 s, growing to every 5 s
    assert [page["JobStatus"] for page in seen] == ["IN_PROGRESS"] * 4 + ["SUCCEEDED"]
    assert "ResponseMetadata" not in seen[0]
    assert all(call == {"JobId": "job", "MaxResults": 1000, "SortBy": "INDEX"} for call in client.calls)
    got = [item["Timestamp"] for page in video.pages(client, video.SEARCH, "job", first) for item in page["Persons"]]
    assert got == [1, 2] and client.calls[-1]["NextToken"] == "2"


def test_the_subcommands_map_to_their_start_operation_and_parameters():
    from facesearch_cli.main import build_parser
    from facesearch_cli.video_command import job_request

    parse = build_parser().parse_args
    assert job_request(parse(["video", "search", "v.mp4", "--collection", "c"])) == (
        video.SEARCH, {"CollectionId": "c", "FaceMatchThreshold": 80.0})
    assert job_request(parse(["video", "search", "v.mp4", "--collection", "c", "--threshold", "95"]))[1][
        "FaceMatchThreshold"] == 95.0
    assert job_request(parse(["video", "faces", "v.mp4"])) == (video.DETECTION, {"FaceAttributes": "DEFAULT"})
    assert job_request(parse(["video", "faces", "s3://b/v.mp4", "--attributes", "ALL"]))[1] == {
        "FaceAttributes": "ALL"}
    results = parse(["video", "results", "a" * 64, "--json"])
    assert results.job_id == "a" * 64 and results.json and results.gap == 1.0


class FakeS3:
    def __init__(self, code: str | None) -> None:
        self.code = code

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if self.code:
            raise ClientError({"Error": {"Code": self.code, "Message": "Forbidden"}}, "HeadObject")
        return {"ETag": '"abc"', "ContentLength": 3}


def test_an_s3_video_is_known_by_its_etag_and_by_bucket_and_key_when_it_cannot_be_read_here():
    assert video.s3_video(FakeS3(None), "b", "v.mp4") == video.VideoObject("b", "v.mp4", '"abc"')
    warnings: list[str] = []
    assert video.s3_video(FakeS3("403"), "b", "v.mp4", warnings.append) == video.VideoObject("b", "v.mp4")
    assert warnings == ["cannot read s3://b/v.mp4 with your S3 keys (403: Forbidden); the job is known by its "
                        "bucket and key only"]
    with pytest.raises(ValueError, match="no such object"):
        video.s3_video(FakeS3("404"), "b", "v.mp4")
