"""Every operation's response, checked member by member against botocore's output shape.

The test transport (tests/conftest.py) checks every successful response of the whole functional suite;
this module makes sure each of the 25 operations is called at least once, and that the check itself bites.
"""

from __future__ import annotations

import pytest

from facesearch.operations import OPERATIONS
from tests.conftest import ANNA, ANNA_SMILING, BEN, CHECKED_OPERATIONS, FIXTURES, ContractViolation, photo


def test_every_operation_answers_in_its_output_shape(rekognition, aws, tmp_path):
    from facesearch import services
    from tests.fixtures.video.synth import Appearance, make_video

    CHECKED_OPERATIONS.clear()
    arn = rekognition.create_collection(CollectionId="shapes", Tags={"team": "a"})["CollectionArn"]
    rekognition.describe_collection(CollectionId="shapes")
    rekognition.list_collections()
    rekognition.tag_resource(ResourceArn="arn:" + arn, Tags={"more": "b"})
    rekognition.list_tags_for_resource(ResourceArn="arn:" + arn)
    rekognition.untag_resource(ResourceArn="arn:" + arn, TagKeys=["more"])
    rekognition.detect_faces(Image={"Bytes": photo(ANNA)}, Attributes=["ALL"])
    rekognition.compare_faces(SourceImage={"Bytes": photo(ANNA)}, TargetImage={"Bytes": photo(ANNA_SMILING)})
    anna = rekognition.index_faces(CollectionId="shapes", Image={"Bytes": photo(ANNA)},
                                   ExternalImageId="anna")["FaceRecords"][0]["Face"]["FaceId"]
    smiling = rekognition.index_faces(CollectionId="shapes", Image={"Bytes": photo(ANNA_SMILING)}
                                      )["FaceRecords"][0]["Face"]["FaceId"]
    ben = rekognition.index_faces(CollectionId="shapes", Image={"Bytes": photo(BEN)}
                                  )["FaceRecords"][0]["Face"]["FaceId"]
    rekognition.list_faces(CollectionId="shapes")
    rekognition.search_faces(CollectionId="shapes", FaceId=anna)
    rekognition.search_faces_by_image(CollectionId="shapes", Image={"Bytes": photo(ANNA_SMILING)})
    rekognition.create_user(CollectionId="shapes", UserId="anna")
    rekognition.associate_faces(CollectionId="shapes", UserId="anna", FaceIds=[anna, smiling])
    rekognition.list_users(CollectionId="shapes")
    rekognition.search_users(CollectionId="shapes", FaceId=ben, UserMatchThreshold=0)
    rekognition.search_users_by_image(CollectionId="shapes", Image={"Bytes": photo(ANNA)})
    rekognition.disassociate_faces(CollectionId="shapes", UserId="anna", FaceIds=[smiling])
    rekognition.delete_user(CollectionId="shapes", UserId="anna")
    video = make_video(tmp_path / "v.mp4", [Appearance(FIXTURES / ANNA_SMILING, 0.0, 1.0, x=0.5)], 1.0)
    aws["s3"].upload_file(str(video), "facesearch-test-inputs", "v.mp4")
    s3_video = {"S3Object": {"Bucket": "facesearch-test-inputs", "Name": "v.mp4"}}
    detection = rekognition.start_face_detection(Video=s3_video, FaceAttributes="ALL")["JobId"]
    search = rekognition.start_face_search(Video=s3_video, CollectionId="shapes")["JobId"]
    assert services.services().launcher.wait_idle(120)
    assert rekognition.get_face_detection(JobId=detection)["Faces"]
    assert rekognition.get_face_search(JobId=search)["Persons"][0]["FaceMatches"]
    rekognition.delete_faces(CollectionId="shapes", FaceIds=[ben])
    rekognition.delete_collection(CollectionId="shapes")
    assert set(OPERATIONS) == CHECKED_OPERATIONS
    assert len(CHECKED_OPERATIONS) == 25


def test_a_response_with_a_member_the_model_does_not_have_fails_the_check(rekognition, monkeypatch):
    def misspelt(services, request):
        return {"CollectionIds": [], "FaceModelVersion": ["7.0"]}  # the model's member is FaceModelVersions

    monkeypatch.setitem(OPERATIONS, "ListCollections", misspelt)
    with pytest.raises(ContractViolation, match="FaceModelVersion: not a member"):
        rekognition.list_collections()
