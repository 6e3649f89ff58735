"""Collections through a real boto3 client: what a Rekognition user's code sees."""

from __future__ import annotations

import datetime

import pytest
from botocore.exceptions import ClientError


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_create_collection_answers_status_arn_and_model_version(rekognition):
    response = rekognition.create_collection(CollectionId="family")
    assert response["StatusCode"] == 200
    assert response["CollectionArn"] == "aws:rekognition:us-east-1:123456789012:collection/family"
    assert response["FaceModelVersion"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["ResponseMetadata"]["RequestId"]


def test_creating_a_collection_twice_is_resource_already_exists(rekognition):
    rekognition.create_collection(CollectionId="family")
    with pytest.raises(rekognition.exceptions.ResourceAlreadyExistsException):
        rekognition.create_collection(CollectionId="family")


def test_describe_collection_reports_counts_arn_and_creation_time(rekognition):
    before = datetime.datetime.now(datetime.UTC)
    rekognition.create_collection(CollectionId="family")
    described = rekognition.describe_collection(CollectionId="family")
    assert described["FaceCount"] == 0
    assert described["UserCount"] == 0
    assert described["CollectionARN"] == "arn:aws:rekognition:us-east-1:123456789012:collection/family"
    assert described["FaceModelVersion"]
    assert abs(described["CreationTimestamp"] - before) < datetime.timedelta(seconds=5)


def test_unknown_collection_is_resource_not_found(rekognition):
    for call in (rekognition.describe_collection, rekognition.delete_collection):
        with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
            call(CollectionId="nobody")


def test_list_collections_paginator_walks_every_page(rekognition):
    names = [f"c-{i:03d}" for i in range(23)]
    for name in names:
        rekognition.create_collection(CollectionId=name)
    first = rekognition.list_collections(MaxResults=10)
    assert len(first["CollectionIds"]) == 10
    assert len(first["FaceModelVersions"]) == 10
    assert "NextToken" in first
    pages = list(rekognition.get_paginator("list_collections").paginate(PaginationConfig={"PageSize": 5}))
    assert len(pages) == 5
    listed = [cid for page in pages for cid in page["CollectionIds"]]
    assert listed == names


def test_list_collections_rejects_a_token_that_is_not_one(raw_rekognition):
    with pytest.raises(ClientError) as excinfo:
        raw_rekognition.list_collections(NextToken="not a token!")
    assert error_code(excinfo) == "InvalidPaginationTokenException"


def test_delete_collection_removes_it_from_every_listing(rekognition):
    rekognition.create_collection(CollectionId="gone")
    assert rekognition.delete_collection(CollectionId="gone")["StatusCode"] == 200
    assert "gone" not in rekognition.list_collections()["CollectionIds"]
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.describe_collection(CollectionId="gone")
    rekognition.create_collection(CollectionId="gone")  # the id is free again
    assert rekognition.describe_collection(CollectionId="gone")["FaceCount"] == 0


def test_tags_can_be_set_at_creation_added_listed_and_removed(rekognition):
    arn = "arn:" + rekognition.create_collection(CollectionId="tagged", Tags={"team": "a"})["CollectionArn"]
    assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "a"}
    rekognition.tag_resource(ResourceArn=arn, Tags={"env": "prod", "team": "b"})
    assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "b", "env": "prod"}
    rekognition.untag_resource(ResourceArn=arn, TagKeys=["team", "absent"])
    assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"env": "prod"}


def test_tags_on_an_unknown_resource_are_resource_not_found(rekognition):
    arn = "arn:aws:rekognition:us-east-1:123456789012:collection/nobody"
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.list_tags_for_resource(ResourceArn=arn)
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.tag_resource(ResourceArn=arn, Tags={"a": "b"})


def test_more_than_fifty_tags_exceed_the_quota(rekognition):
    arn = "arn:" + rekognition.create_collection(CollectionId="many")["CollectionArn"]
    rekognition.tag_resource(ResourceArn=arn, Tags={f"k{i}": "v" for i in range(50)})
    with pytest.raises(rekognition.exceptions.ServiceQuotaExceededException):
        rekognition.tag_resource(ResourceArn=arn, Tags={"one-more": "v"})
