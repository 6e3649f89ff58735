"""Decoding: every bad image maps to the Rekognition error it should, good ones decode upright RGB."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesearch.errors import (
    ImageTooLargeException,
    InvalidImageFormatException,
    InvalidParameterException,
)
from facesearch.vision.image_decoder import decode_image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def gradient(width: int = 160, height: int = 120) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, 1)
    return Image.fromarray(np.stack([x, y, np.full_like(x, 90)], axis=2))


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def bomb_png(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG that declares a huge canvas."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * 3 * 16
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(row * 16))
        + png_chunk(b"IEND", b"")
    )


# --- decode_image ----------------------------------------------------------------------------------


def test_jpeg_and_png_decode_to_rgb() -> None:
    for fmt in ("JPEG", "PNG"):
        decoded = decode_image(encode(gradient(), fmt))
        assert decoded.format == fmt
        assert (decoded.width, decoded.height) == (160, 120)
        assert decoded.pixels.shape == (120, 160, 3)
        assert decoded.pixels.dtype == np.uint8


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP", "TIFF"])
def test_other_formats_are_invalid_format(fmt: str) -> None:
    with pytest.raises(InvalidImageFormatException, match="Request has invalid image format"):
        decode_image(encode(gradient(), fmt))


def test_random_bytes_are_invalid_format() -> None:
    data = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    with pytest.raises(InvalidImageFormatException):
        decode_image(data)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_files_are_invalid_format(fmt: str) -> None:
    data = encode(gradient(400, 300), fmt)
    with pytest.raises(InvalidImageFormatException):
        decode_image(data[: len(data) // 2])


def test_magic_bytes_with_garbage_after_are_invalid_format() -> None:
    with pytest.raises(InvalidImageFormatException):
        decode_image(b"\xff\xd8\xff" + b"not really a jpeg" * 10)
    with pytest.raises(InvalidImageFormatException):
        decode_image(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)


def test_images_under_80_px_are_invalid_parameter() -> None:
    with pytest.raises(InvalidParameterException, match="Request has Invalid Parameters"):
        decode_image(encode(gradient(50, 50), "PNG"))
    with pytest.raises(InvalidParameterException):
        decode_image(encode(gradient(400, 79), "JPEG"))
    assert decode_image(encode(gradient(80, 80), "JPEG")).width == 80


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (9_000, 9_000)])
def test_decompression_bombs_are_too_large(width: int, height: int) -> None:
    data = bomb_png(width, height)
    assert len(data) < 200
    with pytest.raises(ImageTooLargeException):
        decode_image(data)


def test_exif_orientation_is_applied_first() -> None:
    upright = gradient(120, 200)  # portrait as the viewer should see it
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # stored sideways (200x120)...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with "rotate 90 CW to display"
    decoded = decode_image(encode(stored, "JPEG", exif=exif, quality=95))
    assert (decoded.width, decoded.height) == (120, 200)
    assert np.abs(decoded.pixels.astype(int) - np.asarray(upright, dtype=int)).mean() < 6


@pytest.mark.parametrize(
    "image",
    [
        gradient().convert("CMYK"),
        gradient().convert("L"),
        gradient().convert("LA"),
        gradient().convert("RGBA"),
        gradient().convert("P"),
        gradient().convert("1"),
    ],
    ids=lambda im: im.mode,
)
def test_every_mode_becomes_rgb(image: Image.Image) -> None:
    fmt = "JPEG" if image.mode in ("CMYK", "L") else "PNG"
    decoded = decode_image(encode(image, fmt))
    assert decoded.pixels.shape == (120, 160, 3)


def test_palette_png_with_transparency() -> None:
    image = gradient().convert("P")
    decoded = decode_image(encode(image, "PNG", transparency=0))
    assert decoded.pixels.shape == (120, 160, 3)


def test_16_bit_png_is_scaled_not_clipped() -> None:
    grey = (np.linspace(0, 65535, 160)[None, :].repeat(120, 0)).astype(np.uint16)
    image = Image.fromarray(grey)
    assert image.mode.startswith("I;16")
    decoded = decode_image(encode(image, "PNG"))
    row = decoded.pixels[0, :, 0]
    assert row[0] == 0 and row[-1] == 255
    assert 120 < row[80] < 136  # mid-grey, not white


def test_real_photo_fixture_decodes() -> None:
    decoded = decode_image((FIXTURES / "london_021_neutral.jpg").read_bytes())
    assert (decoded.width, decoded.height, decoded.format) == (400, 400, "JPEG")


def test_camera_mpo_jpeg_is_a_jpeg() -> None:
    image = gradient()
    buffer = io.BytesIO()
    image.save(buffer, format="MPO", save_all=True, append_images=[image])
    assert decode_image(buffer.getvalue()).format == "JPEG"


def test_big_images_are_analysed_at_the_working_size_with_their_proportions() -> None:
    from facesearch.vision.image_decoder import MAX_WORKING_SIDE

    for kind in ("JPEG", "PNG"):
        decoded = decode_image(encode(gradient(9000, 3000), kind))
        assert (decoded.width, decoded.height) == (MAX_WORKING_SIDE, MAX_WORKING_SIDE // 3)


def test_a_big_16_bit_png_keeps_its_grey_levels_when_shrunk() -> None:
    grey = np.full((600, 5000), 32896, dtype=np.uint16)  # 32896 / 257 = 128
    decoded = decode_image(encode(Image.fromarray(grey), "PNG"))
    assert decoded.width == 4096 and set(np.unique(decoded.pixels)) == {128}
