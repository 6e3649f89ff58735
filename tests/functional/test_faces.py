"""Indexing and searching faces through a real boto3 client, on moto's S3 and DynamoDB."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ANNA, ANNA_SMILING, BEN, CAT, photo, side_by_side


@pytest.fixture
def collection(rekognition):
    rekognition.create_collection(CollectionId="people")
    return "people"


def index(rekognition, name: str, external: str | None = None, **extra):
    params = {"CollectionId": "people", "Image": {"Bytes": photo(name)}, **extra}
    if external:
        params["ExternalImageId"] = external
    return rekognition.index_faces(**params)


def test_index_faces_returns_a_face_record_per_face(rekognition, collection):
    response = index(rekognition, ANNA, external="anna")
    assert response["FaceModelVersion"]
    assert response["UnindexedFaces"] == []
    [record] = response["FaceRecords"]
    face = record["Face"]
    assert face["ExternalImageId"] == "anna"
    assert face["Confidence"] > 90
    assert {"FaceId", "ImageId", "BoundingBox", "IndexFacesModelVersion"} <= face.keys()
    assert 0 < face["BoundingBox"]["Width"] < 1
    assert {"BoundingBox", "Landmarks", "Pose", "Quality", "Confidence"} <= record["FaceDetail"].keys()
    assert rekognition.describe_collection(CollectionId="people")["FaceCount"] == 1


def test_an_image_without_faces_indexes_nothing(rekognition, collection):
    response = index(rekognition, CAT)
    assert response["FaceRecords"] == []
    assert rekognition.describe_collection(CollectionId="people")["FaceCount"] == 0


def test_max_faces_keeps_the_largest_and_reports_the_rest(rekognition, collection):
    image = side_by_side(ANNA, BEN)
    response = rekognition.index_faces(CollectionId="people", Image={"Bytes": image}, MaxFaces=1)
    assert len(response["FaceRecords"]) == 1
    [unindexed] = response["UnindexedFaces"]
    assert unindexed["Reasons"] == ["EXCEEDS_MAX_FACES"]
    kept = response["FaceRecords"][0]["FaceDetail"]["BoundingBox"]
    skipped = unindexed["FaceDetail"]["BoundingBox"]
    assert kept["Width"] * kept["Height"] >= skipped["Width"] * skipped["Height"]


def test_index_faces_into_an_unknown_collection_is_resource_not_found(rekognition):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.index_faces(CollectionId="nobody", Image={"Bytes": photo(ANNA)})


def test_search_faces_by_image_finds_the_same_person(rekognition, collection):
    anna = index(rekognition, ANNA, external="anna")["FaceRecords"][0]["Face"]["FaceId"]
    index(rekognition, BEN, external="ben")
    response = rekognition.search_faces_by_image(CollectionId="people", Image={"Bytes": photo(ANNA_SMILING)})
    assert [match["Face"]["FaceId"] for match in response["FaceMatches"]] == [anna]
    match = response["FaceMatches"][0]
    assert match["Similarity"] >= 80
    assert match["Face"]["ExternalImageId"] == "anna"
    assert {"BoundingBox", "Confidence", "ImageId", "IndexFacesModelVersion"} <= match["Face"].keys()
    assert response["SearchedFaceConfidence"] > 90
    assert response["SearchedFaceBoundingBox"]["Width"] > 0
    assert response["FaceModelVersion"]


def test_search_faces_by_image_without_a_face_is_invalid_parameter(rekognition, collection):
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.search_faces_by_image(CollectionId="people", Image={"Bytes": photo(CAT)})


def test_search_faces_by_face_id_excludes_the_face_itself(rekognition, collection):
    first = index(rekognition, ANNA)["FaceRecords"][0]["Face"]["FaceId"]
    second = index(rekognition, ANNA_SMILING)["FaceRecords"][0]["Face"]["FaceId"]
    index(rekognition, BEN)
    response = rekognition.search_faces(CollectionId="people", FaceId=first)
    assert response["SearchedFaceId"] == first
    assert [match["Face"]["FaceId"] for match in response["FaceMatches"]] == [second]


def test_search_faces_with_an_unknown_face_id_is_invalid_parameter(rekognition, collection):
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.search_faces(CollectionId="people", FaceId="11111111-1111-1111-1111-111111111111")


def test_threshold_and_max_faces_bound_the_matches(rekognition, collection):
    index(rekognition, ANNA)
    index(rekognition, ANNA_SMILING)
    response = rekognition.search_faces_by_image(
        CollectionId="people", Image={"Bytes": photo(ANNA)}, MaxFaces=1, FaceMatchThreshold=0
    )
    assert len(response["FaceMatches"]) == 1
    assert response["FaceMatches"][0]["Similarity"] >= 99  # the same photo
    strict = rekognition.search_faces_by_image(
        CollectionId="people", Image={"Bytes": photo(BEN)}, FaceMatchThreshold=80
    )
    assert strict["FaceMatches"] == []


def test_list_faces_pages_through_every_face(rekognition, collection):
    ids = {index(rekognition, name)["FaceRecords"][0]["Face"]["FaceId"] for name in (ANNA, ANNA_SMILING, BEN)}
    first = rekognition.list_faces(CollectionId="people", MaxResults=2)
    assert len(first["Faces"]) == 2 and "NextToken" in first
    pages = rekognition.get_paginator("list_faces").paginate(CollectionId="people", PaginationConfig={"PageSize": 1})
    listed = [face["FaceId"] for page in pages for face in page["Faces"]]
    assert sorted(listed) == sorted(ids)
    some = sorted(ids)[:2]
    assert sorted(f["FaceId"] for f in rekognition.list_faces(CollectionId="people", FaceIds=some)["Faces"]) == some


def test_delete_faces_reports_what_it_deleted_and_what_it_did_not(rekognition, collection):
    anna = index(rekognition, ANNA)["FaceRecords"][0]["Face"]["FaceId"]
    missing = "11111111-1111-1111-1111-111111111111"
    response = rekognition.delete_faces(CollectionId="people", FaceIds=[anna, missing])
    assert response["DeletedFaces"] == [anna]
    assert response["UnsuccessfulFaceDeletions"] == [{"FaceId": missing, "Reasons": ["FACE_NOT_FOUND"]}]
    assert rekognition.describe_collection(CollectionId="people")["FaceCount"] == 0
    assert rekognition.list_faces(CollectionId="people")["Faces"] == []
    found = rekognition.search_faces_by_image(CollectionId="people", Image={"Bytes": photo(ANNA_SMILING)})
    assert found["FaceMatches"] == []  # the warm shard cache still holds the row; the item decides


def test_delete_collection_removes_its_objects_and_items(rekognition, collection, aws, environment):
    index(rekognition, ANNA)
    rekognition.delete_collection(CollectionId="people")
    s3 = aws["s3"]
    assert s3.list_objects_v2(Bucket=environment["BUCKET_NAME"]).get("KeyCount", 0) == 0
    items = aws["dynamodb"].scan(TableName=environment["TABLE_NAME"])["Items"]
    assert items == []


def test_s3_object_images_are_read_from_allowed_buckets(rekognition, collection, aws, environment):
    aws["s3"].put_object(Bucket=environment["INPUT_BUCKETS"], Key="photos/anna.jpg", Body=photo(ANNA))
    response = rekognition.index_faces(
        CollectionId="people", Image={"S3Object": {"Bucket": environment["INPUT_BUCKETS"], "Name": "photos/anna.jpg"}}
    )
    assert len(response["FaceRecords"]) == 1
    with pytest.raises(ClientError) as excinfo:
        rekognition.index_faces(CollectionId="people", Image={"S3Object": {"Bucket": environment["INPUT_BUCKETS"],
                                                                           "Name": "photos/missing.jpg"}})
    assert excinfo.value.response["Error"]["Code"] == "InvalidS3ObjectException"


def test_an_image_with_a_hundred_faces_commits_them_all_in_two_transactions(rekognition, collection):
    from facesearch import services
    from tests.conftest import face_grid

    response = rekognition.index_faces(CollectionId="people", Image={"Bytes": face_grid()}, MaxFaces=100,
                                       QualityFilter="NONE")
    assert len(response["FaceRecords"]) == 100  # Rekognition's cap: the 100 largest faces
    assert rekognition.describe_collection(CollectionId="people")["FaceCount"] == 100
    segments = services.services().storage.collections.get("people").segments
    assert sorted(ref.count for ref in segments) == [2, 98]  # 98 faces + the image record + META a transaction
    listed = rekognition.get_paginator("list_faces").paginate(CollectionId="people")
    assert len({face["FaceId"] for page in listed for face in page["Faces"]}) == 100


def test_big_collections_fan_the_scan_out_and_merge_the_same_answer(rekognition, collection, monkeypatch):
    from facesearch import services

    for copy, name in enumerate((ANNA, ANNA_SMILING, BEN, ANNA, BEN)):
        index(rekognition, name, external=f"copy-{copy}")  # five faces: repeats under their own external ids
    probe = {"CollectionId": "people", "Image": {"Bytes": photo(ANNA_SMILING)}, "FaceMatchThreshold": 0}
    local = rekognition.search_faces_by_image(**probe)["FaceMatches"]
    slices_run = []
    embedding_index = services.services().index
    original = embedding_index.run_slice

    def counting(event):
        slices_run.append(len(event["keys"]))
        return original(event)

    monkeypatch.setattr(embedding_index, "fanout_rows", 2)
    monkeypatch.setattr(embedding_index, "run_slice", counting)
    fanned = rekognition.search_faces_by_image(**probe)["FaceMatches"]
    assert len(slices_run) == 3  # five one-face segments, at most two rows a slice
    assert [(m["Face"]["FaceId"], round(m["Similarity"], 4)) for m in fanned] == [
        (m["Face"]["FaceId"], round(m["Similarity"], 4)) for m in local]
