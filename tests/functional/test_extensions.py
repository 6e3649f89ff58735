"""The facesearch extension operations, through boto3's client built from the shipped model (AWS_DATA_PATH):
botocore's own validation, paginators and typed errors, and the service's validation and errors behind them."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from botocore.exceptions import ParamValidationError

from tests.conftest import ANNA, ANNA_SMILING, BEN, CAT, EXTENSION_MODELS, photo, side_by_side
from tests.functional.test_protocol import assert_error, send_raw


def index(rekognition, collection: str, name: str, external: str | None = None, image: bytes | None = None) -> str:
    params = {"CollectionId": collection, "Image": {"Bytes": image or photo(name)}}
    if external:
        params["ExternalImageId"] = external
    return rekognition.index_faces(**params)["FaceRecords"][0]["Face"]["FaceId"]


@pytest.fixture
def people(rekognition):
    """A collection with Anna (two photos: "party" and "anna-2") and Ben ("party")."""
    rekognition.create_collection(CollectionId="people")
    return {"anna": index(rekognition, "people", ANNA, "party"),
            "anna_smiling": index(rekognition, "people", ANNA_SMILING, "anna-2"),
            "ben": index(rekognition, "people", BEN, "party")}


# --- the shipped model --------------------------------------------------------------------------------------


def test_the_model_is_signed_as_rekognition_with_its_own_target_prefix(facesearch):
    model = facesearch.meta.service_model
    assert model.signing_name == "rekognition"  # the same SigV4 keys and scope as the Rekognition client
    assert model.metadata["targetPrefix"] == "FaceSearchExtensions"
    assert set(model.operation_names) == {"SearchAllFacesByImage", "ListFacesByExternalImageId",
                                          "DeleteFacesByExternalImageId", "ExportFaces", "ImportFaces"}
    assert (EXTENSION_MODELS / "facesearch" / "2026-12-01" / "paginators-1.json").is_file()


def test_a_rekognition_operation_is_unknown_under_the_extension_prefix(aws):
    assert_error(send_raw("{}", target="FaceSearchExtensions.ListCollections"), "UnknownOperationException")
    assert_error(send_raw("{}", target="RekognitionService.ExportFaces"), "UnknownOperationException")


# --- SearchAllFacesByImage ----------------------------------------------------------------------------------


def test_every_face_of_the_image_is_searched_with_its_own_matches(facesearch, people):
    found = facesearch.search_all_faces_by_image(CollectionId="people",
                                                 Image={"Bytes": side_by_side(ANNA_SMILING, BEN)})
    assert len(found["SearchedFaces"]) == 2 and found["UnsearchedFaces"] == [] and found["FaceModelVersion"]
    by_position = sorted(found["SearchedFaces"], key=lambda face: face["BoundingBox"]["Left"])
    left, right = ([match["Face"]["FaceId"] for match in face["FaceMatches"]] for face in by_position)
    assert set(left) == {people["anna"], people["anna_smiling"]}
    assert right == [people["ben"]]
    for face in found["SearchedFaces"]:
        assert face["FaceDetail"]["BoundingBox"] == face["BoundingBox"]
        assert all(match["Similarity"] >= 80 for match in face["FaceMatches"])


def test_searching_every_face_matches_what_search_faces_by_image_finds_for_that_face(rekognition, facesearch,
                                                                                      people):
    image = photo(ANNA_SMILING)
    single = rekognition.search_faces_by_image(CollectionId="people", Image={"Bytes": image}, MaxFaces=1)
    [every] = facesearch.search_all_faces_by_image(CollectionId="people", Image={"Bytes": image},
                                                   MaxFaces=1)["SearchedFaces"]
    assert every["FaceMatches"] == single["FaceMatches"]
    assert every["BoundingBox"] == single["SearchedFaceBoundingBox"]


def test_attributes_all_describes_every_searched_face_as_detect_faces_does(facesearch, rekognition, people):
    image = {"Bytes": side_by_side(ANNA_SMILING, BEN)}
    found = facesearch.search_all_faces_by_image(CollectionId="people", Image=image, Attributes=["ALL"])
    detected = rekognition.detect_faces(Image=image, Attributes=["ALL"])["FaceDetails"]
    assert [face["FaceDetail"] for face in found["SearchedFaces"]] == detected
    assert all("AgeRange" in face["FaceDetail"] and "Emotions" in face["FaceDetail"]
               for face in found["SearchedFaces"])
    default = facesearch.search_all_faces_by_image(CollectionId="people", Image=image)
    assert all("AgeRange" not in face["FaceDetail"] for face in default["SearchedFaces"])


def test_an_image_without_faces_answers_empty_lists(facesearch, people):
    found = facesearch.search_all_faces_by_image(CollectionId="people", Image={"Bytes": photo(CAT)})
    assert found["SearchedFaces"] == [] and found["UnsearchedFaces"] == []


def test_faces_failing_the_quality_filter_are_listed_with_their_reasons(facesearch, people):
    tiny = side_by_side(ANNA, height=90)  # a 90 px photo: its face is too small for HIGH
    found = facesearch.search_all_faces_by_image(CollectionId="people", Image={"Bytes": tiny}, QualityFilter="HIGH")
    assert found["SearchedFaces"] == []
    [unsearched] = found["UnsearchedFaces"]
    assert unsearched["Reasons"] and "BoundingBox" in unsearched["FaceDetails"]


def test_search_all_faces_errors_are_the_models(facesearch, raw_facesearch, people):
    with pytest.raises(facesearch.exceptions.ResourceNotFoundException):
        facesearch.search_all_faces_by_image(CollectionId="nobody", Image={"Bytes": photo(ANNA)})
    with pytest.raises(ParamValidationError):  # botocore checks the shipped model's minimum itself
        facesearch.search_all_faces_by_image(CollectionId="people", Image={"Bytes": photo(ANNA)}, MaxFaces=0)
    with pytest.raises(raw_facesearch.exceptions.InvalidParameterException, match="maxFaces"):
        raw_facesearch.search_all_faces_by_image(CollectionId="people", Image={"Bytes": photo(ANNA)}, MaxFaces=0)
    with pytest.raises(raw_facesearch.exceptions.InvalidParameterException, match="qualityFilter"):
        raw_facesearch.search_all_faces_by_image(CollectionId="people", Image={"Bytes": photo(ANNA)},
                                                 QualityFilter="SOMETIMES")
    with pytest.raises(facesearch.exceptions.InvalidImageFormatException):
        facesearch.search_all_faces_by_image(CollectionId="people", Image={"Bytes": b"GIF89a" + bytes(200)})


# --- faces by ExternalImageId -------------------------------------------------------------------------------


def test_faces_are_listed_by_external_image_id(facesearch, people):
    listed = facesearch.list_faces_by_external_image_id(CollectionId="people", ExternalImageId="party")
    assert sorted(face["FaceId"] for face in listed["Faces"]) == sorted([people["anna"], people["ben"]])
    assert {face["ExternalImageId"] for face in listed["Faces"]} == {"party"}
    assert "NextToken" not in listed and listed["FaceModelVersion"]
    none = facesearch.list_faces_by_external_image_id(CollectionId="people", ExternalImageId="nobody")
    assert none["Faces"] == []


def test_the_paginator_walks_faces_of_an_external_image_id_page_by_page(facesearch, people):
    paginator = facesearch.get_paginator("list_faces_by_external_image_id")
    pages = list(paginator.paginate(CollectionId="people", ExternalImageId="party",
                                    PaginationConfig={"PageSize": 1}))
    assert [len(page["Faces"]) for page in pages] == [1, 1]
    everything = paginator.paginate(CollectionId="people", ExternalImageId="party").build_full_result()
    assert sorted(face["FaceId"] for face in everything["Faces"]) == sorted([people["anna"], people["ben"]])


def test_a_token_of_another_external_image_id_is_refused(facesearch, people):
    first = facesearch.list_faces_by_external_image_id(CollectionId="people", ExternalImageId="party", MaxResults=1)
    with pytest.raises(facesearch.exceptions.InvalidPaginationTokenException):
        facesearch.list_faces_by_external_image_id(CollectionId="people", ExternalImageId="anna-2",
                                                   NextToken=first["NextToken"])


def test_faces_are_deleted_by_external_image_id(rekognition, facesearch, people):
    deleted = facesearch.delete_faces_by_external_image_id(CollectionId="people", ExternalImageId="party")
    assert sorted(deleted["DeletedFaces"]) == sorted([people["anna"], people["ben"]])
    assert deleted["UnsuccessfulFaceDeletions"] == []
    assert rekognition.describe_collection(CollectionId="people")["FaceCount"] == 1
    assert [face["FaceId"] for face in rekognition.list_faces(CollectionId="people")["Faces"]] == [
        people["anna_smiling"]]
    again = facesearch.delete_faces_by_external_image_id(CollectionId="people", ExternalImageId="party")
    assert again["DeletedFaces"] == []


def test_a_face_of_a_user_is_not_deleted_by_external_image_id(rekognition, facesearch, people):
    rekognition.create_user(CollectionId="people", UserId="ben")
    rekognition.associate_faces(CollectionId="people", UserId="ben", FaceIds=[people["ben"]])
    deleted = facesearch.delete_faces_by_external_image_id(CollectionId="people", ExternalImageId="party")
    assert deleted["DeletedFaces"] == [people["anna"]]
    assert deleted["UnsuccessfulFaceDeletions"] == [
        {"FaceId": people["ben"], "UserId": "ben", "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]}]


def test_delete_by_external_image_id_pages_with_its_paginator(facesearch, people):
    pages = list(facesearch.get_paginator("delete_faces_by_external_image_id").paginate(
        CollectionId="people", ExternalImageId="party", PaginationConfig={"PageSize": 1}))
    assert sorted(face for page in pages for face in page["DeletedFaces"]) == sorted([people["anna"], people["ben"]])


def test_an_external_image_id_outside_the_pattern_is_refused(raw_facesearch, people):
    with pytest.raises(raw_facesearch.exceptions.InvalidParameterException, match="externalImageId"):
        raw_facesearch.list_faces_by_external_image_id(CollectionId="people", ExternalImageId="a b/c")


# --- ExportFaces / ImportFaces ------------------------------------------------------------------------------


def exported(facesearch, collection: str) -> tuple[str, list[dict]]:
    full = facesearch.get_paginator("export_faces").paginate(
        CollectionId=collection, PaginationConfig={"PageSize": 2}).build_full_result()
    return full["FaceModelVersion"], full["Faces"]


def test_an_export_holds_every_face_with_its_embedding(facesearch, people):
    version, faces = exported(facesearch, "people")
    assert sorted(face["FaceId"] for face in faces) == sorted(people.values())
    for face in faces:
        vector = np.frombuffer(face["Embedding"], dtype="<f4")
        assert vector.shape == (128,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-5
        assert face["IndexFacesModelVersion"] == version


def test_an_import_keeps_ids_and_users_and_the_faces_are_searchable(rekognition, facesearch, people):
    rekognition.create_user(CollectionId="people", UserId="anna")
    rekognition.associate_faces(CollectionId="people", UserId="anna",
                                FaceIds=[people["anna"], people["anna_smiling"]])
    version, faces = exported(facesearch, "people")
    rekognition.create_collection(CollectionId="copy")
    done = facesearch.import_faces(CollectionId="copy", FaceModelVersion=version, Faces=faces)
    assert sorted(done["ImportedFaces"]) == sorted(people.values()) and done["ExistingFaces"] == []
    assert rekognition.describe_collection(CollectionId="copy")["FaceCount"] == 3
    original = {face["FaceId"]: face for face in rekognition.list_faces(CollectionId="people")["Faces"]}
    copied = {face["FaceId"]: face for face in rekognition.list_faces(CollectionId="copy")["Faces"]}
    assert copied == original  # FaceIds, ImageIds, ExternalImageIds, boxes, users
    assert rekognition.list_users(CollectionId="copy")["Users"] == [{"UserId": "anna", "UserStatus": "ACTIVE"}]
    match = rekognition.search_faces_by_image(CollectionId="copy", Image={"Bytes": photo(BEN)})["FaceMatches"][0]
    assert match["Face"]["FaceId"] == people["ben"] and match["Similarity"] > 99


def test_importing_twice_stores_nothing_new(rekognition, facesearch, people):
    version, faces = exported(facesearch, "people")
    rekognition.create_collection(CollectionId="copy")
    facesearch.import_faces(CollectionId="copy", FaceModelVersion=version, Faces=faces[:2])
    again = facesearch.import_faces(CollectionId="copy", FaceModelVersion=version, Faces=faces)  # resumed
    assert again["ImportedFaces"] == [faces[2]["FaceId"]]
    assert sorted(again["ExistingFaces"]) == sorted(face["FaceId"] for face in faces[:2])
    third = facesearch.import_faces(CollectionId="copy", FaceModelVersion=version, Faces=faces)
    assert third["ImportedFaces"] == []
    assert rekognition.describe_collection(CollectionId="copy")["FaceCount"] == 3
    assert len(rekognition.list_faces(CollectionId="copy")["Faces"]) == 3


def test_an_import_of_another_face_model_is_refused_with_its_own_error(rekognition, facesearch, people):
    _, faces = exported(facesearch, "people")
    rekognition.create_collection(CollectionId="copy")
    with pytest.raises(facesearch.exceptions.FaceModelVersionMismatchException, match="cannot be compared"):
        facesearch.import_faces(CollectionId="copy", FaceModelVersion="6.0", Faces=faces)
    version = faces[0]["IndexFacesModelVersion"]
    other = [{**faces[0], "IndexFacesModelVersion": "6.0"}]
    with pytest.raises(facesearch.exceptions.FaceModelVersionMismatchException):
        facesearch.import_faces(CollectionId="copy", FaceModelVersion=version, Faces=other)
    assert rekognition.describe_collection(CollectionId="copy")["FaceCount"] == 0


def test_an_embedding_that_is_not_a_unit_vector_is_refused(rekognition, facesearch, people):
    version, faces = exported(facesearch, "people")
    rekognition.create_collection(CollectionId="copy")
    with pytest.raises(facesearch.exceptions.InvalidParameterException, match="unit vector"):
        facesearch.import_faces(CollectionId="copy", FaceModelVersion=version,
                                Faces=[{**faces[0], "Embedding": bytes(512)}])
    nan = np.full(128, np.nan, dtype="<f4").tobytes()
    with pytest.raises(facesearch.exceptions.InvalidParameterException, match="unit vector"):
        facesearch.import_faces(CollectionId="copy", FaceModelVersion=version, Faces=[{**faces[0], "Embedding": nan}])
    # botocore does not check a blob's length itself: the service does, against the model's 512 bytes
    with pytest.raises(facesearch.exceptions.InvalidParameterException, match=r"faces\.1\.member\.embedding"):
        facesearch.import_faces(CollectionId="copy", FaceModelVersion=version,
                                Faces=[{**faces[0], "Embedding": bytes(100)}])
    assert rekognition.describe_collection(CollectionId="copy")["FaceCount"] == 0


def test_an_import_into_a_missing_collection_is_resource_not_found(facesearch, people):
    version, faces = exported(facesearch, "people")
    with pytest.raises(facesearch.exceptions.ResourceNotFoundException):
        facesearch.import_faces(CollectionId="nowhere", FaceModelVersion=version, Faces=faces)


def test_an_export_page_of_1000_faces_stays_far_under_lambdas_6_mb(facesearch, people):
    _, faces = exported(facesearch, "people")
    body = json.dumps({"Faces": [{**face, "Embedding": base64.b64encode(face["Embedding"]).decode()}
                                 for face in faces], "NextToken": "x" * 255})
    assert len(body) / len(faces) * 1000 < 1.5 * 2**20


def test_every_extension_operation_answers_in_its_output_shape(facesearch, people):
    from tests.conftest import CHECKED_OPERATIONS

    CHECKED_OPERATIONS.clear()
    facesearch.search_all_faces_by_image(CollectionId="people", Image={"Bytes": photo(ANNA)})
    facesearch.list_faces_by_external_image_id(CollectionId="people", ExternalImageId="party")
    version, faces = exported(facesearch, "people")
    facesearch.import_faces(CollectionId="people", FaceModelVersion=version, Faces=faces)
    facesearch.delete_faces_by_external_image_id(CollectionId="people", ExternalImageId="party")
    assert set(facesearch.meta.service_model.operation_names) == CHECKED_OPERATIONS
