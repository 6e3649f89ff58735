"""Faces at every scale through a real boto3 client (issue 8): a close-up that fills the frame, a face cut
by the frame, a rolled face, faces too small for one letterbox, and a photo with no face."""

from __future__ import annotations

import io

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from tests.conftest import ANNA, BEN, CAT, FIXTURES, photo

CLOSE_UP = "london_021_closeup.jpg"  # ANNA's photo cut to its face box, 800 px tall
CUT_LEFT = "london_022_cut_left.jpg"  # BEN's photo, the left edge through the face (60 % visible)


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=90)
    return out.getvalue()


def resized(name: str, width: int, height: int) -> bytes:
    return jpeg(Image.open(FIXTURES / name).resize((width, height), Image.Resampling.BILINEAR))


def one_face(rekognition, image: bytes) -> dict:  # type: ignore[no-untyped-def, type-arg]
    faces = rekognition.detect_faces(Image={"Bytes": image})["FaceDetails"]
    assert len(faces) == 1
    return faces[0]


@pytest.mark.parametrize(
    ("width", "height"),
    [(622, 800), (800, 800), (112, 144), (1555, 2000)],
    ids=["as saved", "stretched to 800 x 800 as in issue 8", "112 px", "2000 px"],
)
def test_a_close_up_that_fills_the_frame_is_one_face(rekognition, width, height):
    face = one_face(rekognition, resized(CLOSE_UP, width, height))
    box = face["BoundingBox"]
    assert box["Width"] > 0.8 and box["Height"] > 0.8  # the face is the whole picture
    assert face["Confidence"] >= 90
    for landmark in face["Landmarks"]:
        assert 0 < landmark["X"] < 1 and 0 < landmark["Y"] < 1


def test_a_close_up_matches_the_photo_it_was_cut_from(rekognition):
    rekognition.create_collection(CollectionId="people")
    indexed = rekognition.index_faces(CollectionId="people", Image={"Bytes": photo(ANNA)})
    anna = indexed["FaceRecords"][0]["Face"]["FaceId"]
    rekognition.index_faces(CollectionId="people", Image={"Bytes": photo(BEN)})
    close_up = {"Bytes": resized(CLOSE_UP, 800, 800)}

    found = rekognition.search_faces_by_image(CollectionId="people", Image=close_up)
    assert [match["Face"]["FaceId"] for match in found["FaceMatches"]] == [anna]
    assert found["FaceMatches"][0]["Similarity"] >= 99  # the same photo, re-cropped
    assert found["SearchedFaceBoundingBox"]["Width"] > 0.8

    compared = rekognition.compare_faces(SourceImage=close_up, TargetImage={"Bytes": photo(ANNA)})
    assert [match["Similarity"] >= 99 for match in compared["FaceMatches"]] == [True]
    assert (
        rekognition.compare_faces(SourceImage=close_up, TargetImage={"Bytes": photo(BEN)})["FaceMatches"]
        == []
    )

    rekognition.create_user(CollectionId="people", UserId="anna")
    rekognition.associate_faces(CollectionId="people", UserId="anna", FaceIds=[anna])
    users = rekognition.search_users_by_image(CollectionId="people", Image=close_up)
    assert [(m["User"]["UserId"], m["Similarity"] >= 99) for m in users["UserMatches"]] == [("anna", True)]


def test_a_face_cut_by_the_frame_is_found_and_its_box_runs_past_the_edge(rekognition):
    face = one_face(rekognition, photo(CUT_LEFT))
    box = face["BoundingBox"]
    # Rekognition's boxes may start outside the image for a face the frame cuts
    assert box["Left"] < 0 < box["Left"] + box["Width"]
    eye_right = next(lm for lm in face["Landmarks"] if lm["Type"] == "eyeRight")
    assert 0 < eye_right["X"] < 1  # the eye still in the picture is where it is
    rekognition.create_collection(CollectionId="people")
    rekognition.index_faces(CollectionId="people", Image={"Bytes": photo(BEN)})
    matches = rekognition.search_faces_by_image(CollectionId="people", Image={"Bytes": photo(CUT_LEFT)})
    assert matches["FaceMatches"] and matches["FaceMatches"][0]["Similarity"] >= 80


def test_a_face_rolled_30_degrees_is_found_with_its_roll(rekognition):
    upright = Image.open(FIXTURES / ANNA).convert("RGB")
    tilted = upright.rotate(30, Image.Resampling.BILINEAR, fillcolor=(128, 128, 128))  # counter-clockwise
    face = one_face(rekognition, jpeg(tilted))
    assert -38 < face["Pose"]["Roll"] < -24  # about -30 (plus the photo's own tilt), negative this way round
    rekognition.create_collection(CollectionId="people")
    rekognition.index_faces(CollectionId="people", Image={"Bytes": photo(ANNA)})
    matches = rekognition.search_faces_by_image(CollectionId="people", Image={"Bytes": jpeg(tilted)})
    assert matches["FaceMatches"][0]["Similarity"] >= 99


def test_faces_of_40_px_in_a_1920_x_1080_photo_are_all_found(rekognition):
    """Rekognition's smallest face; one 640 px letterbox saw them at 13 px and found few."""
    scene = Image.new("RGB", (1920, 1080), (90, 110, 90))
    people = [Image.open(FIXTURES / name).convert("RGB") for name in (ANNA, BEN)]
    placed = []
    for k in range(8):
        person = people[k % 2]
        small = person.resize((round(person.width * 0.31), round(person.height * 0.31)))  # face ~40 px
        left, top = 120 + 220 * k, 300 + 80 * (k % 3)
        scene.paste(small, (left, top))
        placed.append((left + small.width / 2) / 1920)
    faces = rekognition.detect_faces(Image={"Bytes": jpeg(scene)})["FaceDetails"]
    assert len(faces) == 8
    centres = sorted(face["BoundingBox"]["Left"] + face["BoundingBox"]["Width"] / 2 for face in faces)
    assert all(abs(found - expected) < 0.02 for found, expected in zip(centres, placed, strict=True))
    assert all(30 <= face["BoundingBox"]["Width"] * 1920 <= 60 for face in faces)


def test_a_photo_with_no_face_stays_empty_at_every_scale(rekognition):
    cat = Image.open(FIXTURES / CAT)
    for width in (cat.width, 1600, 160):
        image = jpeg(cat.resize((width, round(cat.height * width / cat.width))))
        assert rekognition.detect_faces(Image={"Bytes": image})["FaceDetails"] == []
    rekognition.create_collection(CollectionId="people")
    with pytest.raises(ClientError) as excinfo:
        rekognition.search_faces_by_image(CollectionId="people", Image={"Bytes": photo(CAT)})
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"


PROFILE = "skimage_camera.jpg"  # the cameraman (CC0): a face turned about 65 degrees


def cut(name: str, side: str, visible: float) -> tuple[bytes, float]:
    """The fixture cut by the frame so that `visible` of its face box stays in the picture, from `side`;
    also where the cut edge lies, as a share of the cut picture's width or height."""
    image = Image.open(FIXTURES / name).convert("RGB")
    x1, y1, x2, y2 = FACE_BOXES[name]
    w, h = x2 - x1, y2 - y1
    box, edge = {
        "left": ((round(x2 - visible * w), 0, image.width, image.height), 0.0),
        "right": ((0, 0, round(x1 + visible * w), image.height), 1.0),
        "top": ((0, round(y2 - visible * h), image.width, image.height), 0.0),
        "bottom": ((0, 0, image.width, round(y1 + visible * h)), 1.0),
    }[side]
    return jpeg(image.crop(box)), edge


# the face boxes DetectFaces gives the whole fixtures (px of the 400 px photos), the cuts' reference
FACE_BOXES = {BEN: (140.0, 108.0, 257.0, 264.0), ANNA: (131.0, 96.0, 269.0, 268.0)}


@pytest.mark.parametrize("side", ["left", "right", "bottom"])
def test_a_face_cut_by_the_frame_to_40_percent_is_found_and_searchable(rekognition, side):
    image, edge = cut(BEN, side, 0.4)
    face = one_face(rekognition, image)
    box = face["BoundingBox"]
    start, size = (box["Left"], box["Width"]) if side in ("left", "right") else (box["Top"], box["Height"])
    assert start < edge < start + size  # the box runs past the cut edge, where the rest of the face is
    assert face["Confidence"] >= 90
    rekognition.create_collection(CollectionId="people")
    ben = rekognition.index_faces(CollectionId="people", Image={"Bytes": photo(BEN)})["FaceRecords"][0]
    rekognition.index_faces(CollectionId="people", Image={"Bytes": photo(ANNA)})
    # 40 % of a face matches its own photo at Similarity 75-99 here (bench.detection: 60 % of cut London
    # faces at >= 80), so the search asks for 50 (FMR 2e-3) and expects the right person first
    found = rekognition.search_faces_by_image(CollectionId="people", Image={"Bytes": image}, FaceMatchThreshold=50)
    assert found["FaceMatches"][0]["Face"]["FaceId"] == ben["Face"]["FaceId"]
    assert found["SearchedFaceBoundingBox"] == box


def test_a_face_cut_below_its_eyes_is_found_but_too_poor_to_index(rekognition):
    image, _ = cut(BEN, "top", 0.4)  # nose, mouth and chin in the picture
    face = one_face(rekognition, image)
    assert face["BoundingBox"]["Top"] < 0
    rekognition.create_collection(CollectionId="people")
    indexed = rekognition.index_faces(CollectionId="people", Image={"Bytes": image})  # QualityFilter AUTO
    assert indexed["FaceRecords"] == []
    assert indexed["UnindexedFaces"][0]["Reasons"] == ["LOW_FACE_QUALITY"]
    kept = rekognition.index_faces(CollectionId="people", Image={"Bytes": image}, QualityFilter="NONE")
    assert len(kept["FaceRecords"]) == 1


def test_a_face_in_profile_is_found_with_a_pose_that_says_so(rekognition):
    face = one_face(rekognition, photo(PROFILE))
    assert abs(face["Pose"]["Yaw"]) >= 50
    assert face["Confidence"] >= 90
    rekognition.create_collection(CollectionId="people")
    strict = rekognition.index_faces(CollectionId="people", Image={"Bytes": photo(PROFILE)}, QualityFilter="HIGH")
    assert strict["FaceRecords"] == [] and "EXTREME_POSE" in strict["UnindexedFaces"][0]["Reasons"]
    indexed = rekognition.index_faces(CollectionId="people", Image={"Bytes": photo(PROFILE)})
    assert len(indexed["FaceRecords"]) == 1
    found = rekognition.search_faces_by_image(CollectionId="people", Image={"Bytes": photo(PROFILE)})
    assert found["FaceMatches"][0]["Similarity"] >= 99


def test_a_crowded_photo_with_faces_cut_by_both_edges_has_each_face_once(rekognition):
    """Four people side by side, the outer two cut in half by the frame, as in a group selfie."""
    people = [Image.open(FIXTURES / name).convert("RGB").resize((300, 300)) for name in (BEN, ANNA, BEN, ANNA)]
    scene = Image.new("RGB", (900, 300), (120, 130, 120))
    for k, person in enumerate(people):
        scene.paste(person, (-150 + 300 * k, 0))  # the outer faces centred on the picture's edges
    faces = rekognition.detect_faces(Image={"Bytes": jpeg(scene)})["FaceDetails"]
    assert len(faces) == 4
    boxes = sorted((face["BoundingBox"]["Left"], face["BoundingBox"]["Width"]) for face in faces)
    assert boxes[0][0] < 0 and boxes[-1][0] + boxes[-1][1] > 1  # the cut ones run past the edges
    assert all(boxes[k][0] + boxes[k][1] <= boxes[k + 1][0] + 0.02 for k in range(3))  # side by side, once
