"""DetectFaces and CompareFaces through boto3, and every bad image answered with Rekognition's error."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from tests.conftest import ANNA, ANNA_SMILING, BEN, CAT, photo, side_by_side


def code_of(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def png_bomb(width: int = 60000, height: int = 60000) -> bytes:
    """A tiny PNG that declares a huge canvas: decoding it would need gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def test_detect_faces_describes_each_face(rekognition):
    response = rekognition.detect_faces(Image={"Bytes": photo(ANNA)})
    [face] = response["FaceDetails"]
    assert face["Confidence"] > 90
    assert {landmark["Type"] for landmark in face["Landmarks"]} == {
        "eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"}
    eye_left = next(lm for lm in face["Landmarks"] if lm["Type"] == "eyeLeft")
    eye_right = next(lm for lm in face["Landmarks"] if lm["Type"] == "eyeRight")
    assert eye_left["X"] < eye_right["X"]  # eyeLeft is on the left of the image
    box = face["BoundingBox"]
    assert box["Left"] < eye_left["X"] < box["Left"] + box["Width"]
    assert set(face["Pose"]) == {"Roll", "Yaw", "Pitch"}
    assert set(face["Quality"]) == {"Brightness", "Sharpness"}


def test_detect_faces_finds_no_face_in_a_cat(rekognition):
    assert rekognition.detect_faces(Image={"Bytes": photo(CAT)})["FaceDetails"] == []


def test_detect_faces_orders_faces_largest_first(rekognition):
    canvas = Image.new("RGB", (800, 400), "white")
    canvas.paste(Image.open(io.BytesIO(photo(BEN))).convert("RGB").resize((200, 200)), (0, 100))
    canvas.paste(Image.open(io.BytesIO(photo(ANNA))).convert("RGB").resize((400, 400)), (300, 0))
    faces = rekognition.detect_faces(Image={"Bytes": encoded(canvas, "JPEG")})["FaceDetails"]
    assert len(faces) == 2
    assert faces[0]["BoundingBox"]["Left"] > 0.3  # Anna, the larger face, comes first
    areas = [face["BoundingBox"]["Width"] * face["BoundingBox"]["Height"] for face in faces]
    assert areas == sorted(areas, reverse=True)


def test_detect_faces_reads_png_and_s3_objects(rekognition, aws, environment):
    png = encoded(Image.open(io.BytesIO(photo(ANNA))), "PNG")
    assert len(rekognition.detect_faces(Image={"Bytes": png})["FaceDetails"]) == 1
    aws["s3"].put_object(Bucket=environment["INPUT_BUCKETS"], Key="anna.png", Body=png)
    s3_image = {"S3Object": {"Bucket": environment["INPUT_BUCKETS"], "Name": "anna.png"}}
    assert len(rekognition.detect_faces(Image=s3_image)["FaceDetails"]) == 1


def test_boxes_refer_to_the_exif_rotated_image(rekognition):
    upright = Image.open(io.BytesIO(photo(ANNA)))
    sideways = upright.transpose(Image.Transpose.ROTATE_90)  # stored on its side...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with the EXIF tag that says "rotate 90 degrees clockwise to view"
    tagged = encoded(sideways, "JPEG", exif=exif.tobytes())
    expected = rekognition.detect_faces(Image={"Bytes": photo(ANNA)})["FaceDetails"][0]["BoundingBox"]
    got = rekognition.detect_faces(Image={"Bytes": tagged})["FaceDetails"][0]["BoundingBox"]
    for key in ("Left", "Top", "Width", "Height"):
        assert got[key] == pytest.approx(expected[key], abs=0.03)


def test_compare_faces_matches_the_same_person_only(rekognition):
    target = side_by_side(BEN, ANNA_SMILING)
    response = rekognition.compare_faces(SourceImage={"Bytes": photo(ANNA)}, TargetImage={"Bytes": target})
    [match] = response["FaceMatches"]
    assert match["Similarity"] >= 80
    assert match["Face"]["BoundingBox"]["Left"] > 0.4  # Anna is on the right of the target
    [unmatched] = response["UnmatchedFaces"]
    assert unmatched["BoundingBox"]["Left"] < 0.5
    assert response["SourceImageFace"]["Confidence"] > 90


def test_compare_faces_threshold_moves_faces_between_lists(rekognition):
    response = rekognition.compare_faces(SourceImage={"Bytes": photo(ANNA)}, TargetImage={"Bytes": photo(BEN)},
                                         SimilarityThreshold=0)
    assert len(response["FaceMatches"]) == 1 and response["UnmatchedFaces"] == []
    assert response["FaceMatches"][0]["Similarity"] < 80


def test_compare_faces_without_a_source_face_is_invalid_parameter(rekognition):
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.compare_faces(SourceImage={"Bytes": photo(CAT)}, TargetImage={"Bytes": photo(ANNA)})


BAD_IMAGES = {
    "random bytes": (b"\x13\x37" * 500, "InvalidImageFormatException"),
    "text": (b"definitely not an image" * 10, "InvalidImageFormatException"),
    "gif": (encoded(Image.new("RGB", (200, 200)), "GIF"), "InvalidImageFormatException"),
    "bmp": (encoded(Image.new("RGB", (200, 200)), "BMP"), "InvalidImageFormatException"),
    "webp": (encoded(Image.new("RGB", (200, 200)), "WEBP"), "InvalidImageFormatException"),
    "truncated jpeg": (photo(ANNA)[: len(photo(ANNA)) // 2], "InvalidImageFormatException"),
    "jpeg header only": (photo(ANNA)[:20], "InvalidImageFormatException"),
    "tiny image": (encoded(Image.new("RGB", (50, 50)), "JPEG"), "InvalidParameterException"),
    "decompression bomb": (png_bomb(), "ImageTooLargeException"),
}


@pytest.mark.parametrize("case", sorted(BAD_IMAGES))
def test_bad_images_get_the_rekognition_error(rekognition, case):
    data, expected = BAD_IMAGES[case]
    with pytest.raises(ClientError) as excinfo:
        rekognition.detect_faces(Image={"Bytes": data})
    assert code_of(excinfo) == expected
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_s3_objects_that_are_missing_forbidden_or_too_large_are_refused(rekognition, aws, environment):
    inputs = environment["INPUT_BUCKETS"]
    aws["s3"].put_object(Bucket=inputs, Key="huge.jpg", Body=b"\xff\xd8\xff" + b"\x00" * (15 * 1024 * 1024))
    aws["s3"].create_bucket(Bucket="someone-elses-bucket")
    aws["s3"].put_object(Bucket="someone-elses-bucket", Key="anna.jpg", Body=photo(ANNA))
    cases = [
        ({"Bucket": inputs, "Name": "nothing-here.jpg"}, "InvalidS3ObjectException"),
        ({"Bucket": "no-such-bucket", "Name": "anna.jpg"}, "InvalidS3ObjectException"),
        ({"Bucket": "someone-elses-bucket", "Name": "anna.jpg"}, "InvalidS3ObjectException"),
        ({"Bucket": inputs, "Name": "huge.jpg"}, "ImageTooLargeException"),
    ]
    for s3_object, expected in cases:
        with pytest.raises(ClientError) as excinfo:
            rekognition.detect_faces(Image={"S3Object": s3_object})
        assert code_of(excinfo) == expected, s3_object


def test_an_image_needs_bytes_or_an_s3_object(raw_rekognition):
    with pytest.raises(ClientError) as excinfo:
        raw_rekognition.detect_faces(Image={})
    assert code_of(excinfo) == "InvalidParameterException"
