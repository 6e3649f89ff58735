"""Rekognition's documented behaviours, each checked through a real boto3 client against the sentence of
botocore's model documentation (quoted in the test's docstring) that promises it."""

from __future__ import annotations

import io

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.conftest import ANNA, ANNA_SMILING, BEN, CAT, FIXTURES, HandlerTransport, photo


def code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def message(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Message"]


@pytest.fixture
def people(rekognition):
    rekognition.create_collection(CollectionId="people")
    return rekognition


def face_ids(client, collection_id: str = "people") -> list[str]:
    pages = client.get_paginator("list_faces").paginate(CollectionId=collection_id)
    return [face["FaceId"] for page in pages for face in page["Faces"]]


def index(client, name: str, **extra) -> dict:
    return client.index_faces(CollectionId="people", Image={"Bytes": photo(name)}, **extra)


def blurred_big_and_sharp_small() -> bytes:
    """A photo with a large but blurred face (passes LOW, fails MEDIUM sharpness) and a small sharp one."""
    from PIL import Image, ImageFilter

    def part(name: str, height: int) -> Image.Image:
        image = Image.open(FIXTURES / name).convert("RGB")
        return image.resize((round(image.width * height / image.height), height))

    big = part(ANNA, 600).filter(ImageFilter.GaussianBlur(3))
    small = part(BEN, 300)
    canvas = Image.new("RGB", (big.width + small.width, 600), "white")
    canvas.paste(big, (0, 0))
    canvas.paste(small, (big.width, 300))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=92)
    return out.getvalue()


# --- IndexFaces --------------------------------------------------------------------------------------


def test_the_same_image_and_external_id_indexed_again_saves_no_duplicate_face_metadata(people):
    """"If you provide the same image, specify the same collection, and use the same external ID in the
    IndexFaces operation, Amazon Rekognition doesn't save duplicate face metadata." """
    first = index(people, ANNA, ExternalImageId="anna")
    again = index(people, ANNA, ExternalImageId="anna")
    assert [r["Face"]["FaceId"] for r in again["FaceRecords"]] == [r["Face"]["FaceId"] for r in first["FaceRecords"]]
    assert again["FaceRecords"][0]["Face"]["ImageId"] == first["FaceRecords"][0]["Face"]["ImageId"]
    assert people.describe_collection(CollectionId="people")["FaceCount"] == 1
    other = index(people, ANNA, ExternalImageId="anna-again")  # another external id is another indexing
    assert other["FaceRecords"][0]["Face"]["FaceId"] != first["FaceRecords"][0]["Face"]["FaceId"]
    assert people.describe_collection(CollectionId="people")["FaceCount"] == 2


def test_an_image_whose_faces_were_deleted_is_indexed_anew(people):
    first = index(people, ANNA, ExternalImageId="anna")["FaceRecords"][0]["Face"]["FaceId"]
    people.delete_faces(CollectionId="people", FaceIds=[first])
    again = index(people, ANNA, ExternalImageId="anna")["FaceRecords"][0]["Face"]["FaceId"]
    assert again != first and face_ids(people) == [again]


def test_a_retried_index_faces_whose_answer_was_lost_returns_the_faces_the_first_attempt_stored(people):
    """botocore retries a request whose answer never arrived (a read timeout): the retry must not store a
    second copy of the face; the caller gets the FaceId the first attempt stored."""
    import boto3

    from tests.conftest import ACCESS_KEY_ID, ENDPOINT, REGION, SECRET_ACCESS_KEY

    deliver = HandlerTransport()
    attempts: list[int] = []

    def lose_the_first_answer(request, **kwargs):
        response = deliver(request, **kwargs)  # the service did the work...
        attempts.append(response.status_code)
        if len(attempts) == 1:
            raise ReadTimeoutError(endpoint_url=request.url)  # ...but its answer never reached the client
        return response

    client = boto3.client("rekognition", region_name=REGION, endpoint_url=ENDPOINT, aws_access_key_id=ACCESS_KEY_ID,
                          aws_secret_access_key=SECRET_ACCESS_KEY,
                          config=Config(retries={"total_max_attempts": 3, "mode": "standard"}))
    client.meta.events.register("before-send.rekognition", lose_the_first_answer)
    response = client.index_faces(CollectionId="people", Image={"Bytes": photo(BEN)})
    assert attempts == [200, 200]  # the first answer was lost, botocore retried once
    assert face_ids(people) == [response["FaceRecords"][0]["Face"]["FaceId"]]
    assert people.describe_collection(CollectionId="people")["FaceCount"] == 1


def test_max_faces_filters_the_lowest_quality_faces_first(people):
    """"If IndexFaces detects more faces than the value of MaxFaces, the faces with the lowest quality are
    filtered out first. If there are still more faces than the value of MaxFaces, the faces with the smallest
    bounding boxes are filtered out." """
    response = people.index_faces(CollectionId="people", Image={"Bytes": blurred_big_and_sharp_small()}, MaxFaces=1)
    kept = response["FaceRecords"]
    assert len(kept) == 1
    assert kept[0]["FaceDetail"]["Quality"]["Sharpness"] > 50  # the small sharp face, not the big blurred one
    assert [u["Reasons"] for u in response["UnindexedFaces"]] == [["EXCEEDS_MAX_FACES"]]
    two = people.index_faces(CollectionId="people", Image={"Bytes": photo(ANNA)}, MaxFaces=1)
    assert len(two["FaceRecords"]) == 1


# --- searches and comparisons ----------------------------------------------------------------------------


def test_search_users_by_image_with_no_face_answers_empty_user_matches_and_no_searched_face(people):
    """"If no valid face is detected in the image, the response will contain an empty UserMatches list and no
    SearchedFace object." """
    response = people.search_users_by_image(CollectionId="people", Image={"Bytes": photo(CAT)})
    assert response["UserMatches"] == []
    assert "SearchedFace" not in response


def test_unsearched_faces_say_why_they_were_not_searched(people):
    response = people.search_users_by_image(CollectionId="people", Image={"Bytes": blurred_big_and_sharp_small()},
                                            QualityFilter="MEDIUM")
    assert response["SearchedFace"]["FaceDetail"]["Quality"]["Sharpness"] > 50  # the sharp face is searched
    assert [face["Reasons"] for face in response["UnsearchedFaces"]] == [["LOW_SHARPNESS"]]
    unfiltered = people.search_users_by_image(CollectionId="people", Image={"Bytes": blurred_big_and_sharp_small()})
    assert [face["Reasons"] for face in unfiltered["UnsearchedFaces"]] == [["FACE_NOT_LARGEST"]]


def test_compare_faces_with_no_face_in_the_target_is_invalid_parameter(rekognition):
    """"If no faces are detected in the source or target images, CompareFaces returns an
    InvalidParameterException error." """
    with pytest.raises(ClientError) as target:
        rekognition.compare_faces(SourceImage={"Bytes": photo(ANNA)}, TargetImage={"Bytes": photo(CAT)})
    assert code(target) == "InvalidParameterException"
    with pytest.raises(ClientError) as source:
        rekognition.compare_faces(SourceImage={"Bytes": photo(CAT)}, TargetImage={"Bytes": photo(ANNA)})
    assert code(source) == "InvalidParameterException"
    assert message(source) == "Request has Invalid Parameters"  # what the real service answers


def test_search_faces_with_an_unknown_face_id_says_so_as_rekognition_does(people):
    with pytest.raises(ClientError) as excinfo:
        people.search_faces(CollectionId="people", FaceId="11111111-2222-3333-4444-555555555555")
    assert code(excinfo) == "InvalidParameterException"
    assert message(excinfo) == "faceId was not found in the collection."


def test_an_image_with_neither_bytes_nor_an_s3_object_is_refused_with_rekognitions_message(raw_rekognition):
    with pytest.raises(ClientError) as excinfo:
        raw_rekognition.detect_faces(Image={})
    assert code(excinfo) == "InvalidParameterException"
    assert message(excinfo) == "Requested image should either contain bytes or s3 object."


# --- users --------------------------------------------------------------------------------------------


@pytest.fixture
def anna(people):
    people.create_user(CollectionId="people", UserId="anna")
    faces = [index(people, name)["FaceRecords"][0]["Face"]["FaceId"] for name in (ANNA, ANNA_SMILING)]
    people.associate_faces(CollectionId="people", UserId="anna", FaceIds=faces[:1])
    return faces


def test_an_already_associated_face_is_ignored_and_not_returned(people, anna):
    """"If a given face is already associated with the given UserID, it will be ignored and will not be returned
    in the response." """
    response = people.associate_faces(CollectionId="people", UserId="anna", FaceIds=anna)
    assert response["AssociatedFaces"] == [{"FaceId": anna[1]}]
    assert response["UnsuccessfulFaceAssociations"] == []


def test_an_already_disassociated_face_is_ignored_and_not_returned(people, anna):
    """"If a given face is already disassociated from the given UserID, it will be ignored and not be returned
    in the response." """
    response = people.disassociate_faces(CollectionId="people", UserId="anna", FaceIds=anna)
    assert response["DisassociatedFaces"] == [{"FaceId": anna[0]}]
    assert response["UnsuccessfulFaceDisassociations"] == []  # anna[1] never had a user


def test_a_repeated_client_request_token_gets_the_same_response(people, anna):
    """"If you use the same token with multiple DeleteUser requests, the same response is returned." """
    assert people.delete_user(CollectionId="people", UserId="anna", ClientRequestToken="delete-1")
    again = people.delete_user(CollectionId="people", UserId="anna", ClientRequestToken="delete-1")
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as excinfo:  # a new request for the deleted user
        people.delete_user(CollectionId="people", UserId="anna", ClientRequestToken="delete-2")
    assert code(excinfo) == "ResourceNotFoundException"


def test_a_retried_associate_faces_returns_the_first_answer(people, anna):
    first = people.associate_faces(CollectionId="people", UserId="anna", FaceIds=[anna[1]], ClientRequestToken="t1")
    again = people.associate_faces(CollectionId="people", UserId="anna", FaceIds=[anna[1]], ClientRequestToken="t1")
    assert first["AssociatedFaces"] == again["AssociatedFaces"] == [{"FaceId": anna[1]}]


def test_a_token_reused_with_other_parameters_is_an_idempotent_parameter_mismatch(people, anna):
    people.disassociate_faces(CollectionId="people", UserId="anna", FaceIds=[anna[0]], ClientRequestToken="t2")
    with pytest.raises(ClientError) as excinfo:
        people.disassociate_faces(CollectionId="people", UserId="anna", FaceIds=[anna[1]], ClientRequestToken="t2")
    assert code(excinfo) == "IdempotentParameterMismatchException"


# --- pagination ---------------------------------------------------------------------------------------


def test_pagination_tokens_are_bound_to_their_operation_and_collection(people):
    people.create_collection(CollectionId="other")
    for name in (ANNA, BEN):
        index(people, name)
    token = people.list_faces(CollectionId="people", MaxResults=1)["NextToken"]
    assert people.list_faces(CollectionId="people", MaxResults=1, NextToken=token)["Faces"]
    for call in (lambda: people.list_faces(CollectionId="other", NextToken=token),
                 lambda: people.list_users(CollectionId="people", NextToken=token),
                 lambda: people.list_faces(CollectionId="people", NextToken="not-a-token")):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert code(excinfo) == "InvalidPaginationTokenException"


def test_a_page_that_ends_at_the_last_item_hands_out_no_token(people):
    for name in (ANNA, BEN):
        index(people, name)
    assert "NextToken" not in people.list_faces(CollectionId="people", MaxResults=2)
    people.create_user(CollectionId="people", UserId="u1")
    assert "NextToken" not in people.list_users(CollectionId="people", MaxResults=1)
    listed = people.list_collections(MaxResults=1)
    assert listed["CollectionIds"] == ["people"] and "NextToken" not in listed
