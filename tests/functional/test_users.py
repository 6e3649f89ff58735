"""Users through a real boto3 client: create, associate, search, disassociate, delete."""

from __future__ import annotations

import pytest

from tests.conftest import ANNA, ANNA_SMILING, BEN, photo


@pytest.fixture
def faces(rekognition):
    rekognition.create_collection(CollectionId="people")

    def index(name: str) -> str:
        response = rekognition.index_faces(CollectionId="people", Image={"Bytes": photo(name)})
        return response["FaceRecords"][0]["Face"]["FaceId"]

    return {"anna": index(ANNA), "anna_smiling": index(ANNA_SMILING), "ben": index(BEN)}


def test_create_user_is_idempotent_with_the_same_token(rekognition, faces):
    rekognition.create_user(CollectionId="people", UserId="anna", ClientRequestToken="token-1")
    rekognition.create_user(CollectionId="people", UserId="anna", ClientRequestToken="token-1")
    assert rekognition.list_users(CollectionId="people")["Users"] == [{"UserId": "anna", "UserStatus": "CREATED"}]
    assert rekognition.describe_collection(CollectionId="people")["UserCount"] == 1
    with pytest.raises(rekognition.exceptions.ConflictException):
        rekognition.create_user(CollectionId="people", UserId="anna")


def test_associate_faces_makes_the_user_active_and_checks_new_faces_against_it(rekognition, faces):
    rekognition.create_user(CollectionId="people", UserId="anna")
    first = rekognition.associate_faces(CollectionId="people", UserId="anna", FaceIds=[faces["anna"]])
    assert first["AssociatedFaces"] == [{"FaceId": faces["anna"]}]
    assert first["UserStatus"] == "ACTIVE"
    second = rekognition.associate_faces(
        CollectionId="people", UserId="anna", FaceIds=[faces["anna_smiling"], faces["ben"]]
    )
    assert second["AssociatedFaces"] == [{"FaceId": faces["anna_smiling"]}]
    [refused] = second["UnsuccessfulFaceAssociations"]
    assert refused["FaceId"] == faces["ben"]
    assert refused["Reasons"] == ["LOW_MATCH_CONFIDENCE"]
    assert refused["Confidence"] < 75
    listed = rekognition.list_faces(CollectionId="people", UserId="anna")["Faces"]
    assert sorted(face["FaceId"] for face in listed) == sorted([faces["anna"], faces["anna_smiling"]])
    assert all(face["UserId"] == "anna" for face in listed)


def test_a_face_of_another_user_or_none_is_refused(rekognition, faces):
    rekognition.create_user(CollectionId="people", UserId="ben")
    rekognition.create_user(CollectionId="people", UserId="other")
    rekognition.associate_faces(CollectionId="people", UserId="ben", FaceIds=[faces["ben"]])
    missing = "11111111-1111-1111-1111-111111111111"
    response = rekognition.associate_faces(CollectionId="people", UserId="other", FaceIds=[faces["ben"], missing])
    reasons = {item["FaceId"]: item["Reasons"] for item in response["UnsuccessfulFaceAssociations"]}
    assert reasons == {faces["ben"]: ["ASSOCIATED_TO_A_DIFFERENT_USER"], missing: ["FACE_NOT_FOUND"]}
    assert response["UserStatus"] == "CREATED"


def test_a_face_of_a_user_cannot_be_deleted_until_disassociated(rekognition, faces):
    rekognition.create_user(CollectionId="people", UserId="anna")
    rekognition.associate_faces(CollectionId="people", UserId="anna", FaceIds=[faces["anna"]])
    refused = rekognition.delete_faces(CollectionId="people", FaceIds=[faces["anna"]])
    assert refused["DeletedFaces"] == []
    assert refused["UnsuccessfulFaceDeletions"] == [
        {"FaceId": faces["anna"], "UserId": "anna", "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]}
    ]
    released = rekognition.disassociate_faces(CollectionId="people", UserId="anna", FaceIds=[faces["anna"]])
    assert released["DisassociatedFaces"] == [{"FaceId": faces["anna"]}]
    assert released["UserStatus"] == "CREATED"
    assert rekognition.delete_faces(CollectionId="people", FaceIds=[faces["anna"]])["DeletedFaces"] == [faces["anna"]]


def test_search_users_by_face_id_user_id_and_image(rekognition, faces):
    rekognition.create_user(CollectionId="people", UserId="anna")
    rekognition.associate_faces(CollectionId="people", UserId="anna", FaceIds=[faces["anna"]])
    by_face = rekognition.search_users(CollectionId="people", FaceId=faces["anna_smiling"])
    assert by_face["SearchedFace"] == {"FaceId": faces["anna_smiling"]}
    assert [match["User"]["UserId"] for match in by_face["UserMatches"]] == ["anna"]
    assert by_face["UserMatches"][0]["User"]["UserStatus"] == "ACTIVE"
    assert rekognition.search_users(CollectionId="people", FaceId=faces["ben"])["UserMatches"] == []
    by_user = rekognition.search_users(CollectionId="people", UserId="anna")
    assert by_user["SearchedUser"] == {"UserId": "anna"}
    assert by_user["UserMatches"] == []  # the user's own faces are the query
    by_image = rekognition.search_users_by_image(CollectionId="people", Image={"Bytes": photo(ANNA_SMILING)})
    assert [match["User"]["UserId"] for match in by_image["UserMatches"]] == ["anna"]
    assert by_image["UserMatches"][0]["Similarity"] >= 80
    assert "FaceDetail" in by_image["SearchedFace"]


def test_search_users_needs_exactly_one_of_user_or_face(rekognition, faces):
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.search_users(CollectionId="people")


def test_delete_user_releases_its_faces(rekognition, faces):
    rekognition.create_user(CollectionId="people", UserId="anna")
    rekognition.associate_faces(CollectionId="people", UserId="anna", FaceIds=[faces["anna"]])
    rekognition.delete_user(CollectionId="people", UserId="anna")
    assert rekognition.list_users(CollectionId="people")["Users"] == []
    assert rekognition.describe_collection(CollectionId="people")["UserCount"] == 0
    [face] = rekognition.list_faces(CollectionId="people", FaceIds=[faces["anna"]])["Faces"]
    assert "UserId" not in face
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.delete_user(CollectionId="people", UserId="anna")


def test_list_users_pages(rekognition, faces):
    for i in range(5):
        rekognition.create_user(CollectionId="people", UserId=f"user-{i}")
    pages = rekognition.get_paginator("list_users").paginate(CollectionId="people", PaginationConfig={"PageSize": 2})
    assert [user["UserId"] for page in pages for user in page["Users"]] == [f"user-{i}" for i in range(5)]
