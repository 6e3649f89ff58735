"""Image bytes -> an upright RGB pixel array, within Rekognition's limits and a memory budget.

Where the bytes come from (Image.Bytes, Image.S3Object) is the operations' business (operations/analysis.py);
this module only decodes. Error choices (Rekognition's documented limits, the closest modelled error for each):
- not JPEG/PNG by its magic bytes, or truncated/corrupt -> InvalidImageFormatException.
- more than MAX_PIXELS pixels (a "decompression bomb": a small file declaring a huge canvas) ->
  ImageTooLargeException. The file may well be valid, it is the size we refuse, and that is the error
  Rekognition documents for "image size or resolution exceeds the allowed limit". 80 MP is above
  any phone camera (48-64 MP at most) and keeps a decoded RGB frame under 240 MB.
- under 80 px on a side -> InvalidParameterException "Request has Invalid Parameters": Rekognition
  documents an 80 px minimum and answers smaller images with exactly that error and message
  (reported in boto/botocore#1366).
"""

from __future__ import annotations

import functools
import io
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from facesearch.errors import (
    ImageTooLargeException,
    InvalidImageFormatException,
    InvalidParameterException,
)

MIN_SIDE = 80
MAX_PIXELS = 80_000_000
MAX_WORKING_SIDE = 4096  # the long side images are analysed at (larger ones are shrunk while decoding)

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

INVALID_FORMAT_MESSAGE = "Request has invalid image format"
TOO_LARGE_MESSAGE = "Image size is too large."
INVALID_PARAMETERS_MESSAGE = "Request has Invalid Parameters"

# What Pillow raises on corrupt or truncated files (it has no single base class for them).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error)


@dataclass(frozen=True)
class DecodedImage:
    """An upright RGB image: `pixels` is HxWx3 uint8, EXIF orientation already applied."""

    pixels: np.ndarray
    width: int
    height: int
    format: str  # "JPEG" or "PNG": what the bytes were

    @functools.cached_property
    def picture(self) -> Image.Image:
        """The pixels as one Pillow image, made once for the detector, the aligner and the attribute models."""
        return Image.fromarray(self.pixels)


def sniff_format(data: bytes) -> str:
    """ "JPEG" or "PNG" from the magic bytes; the name or content type is never trusted."""
    if data.startswith(JPEG_MAGIC):
        return "JPEG"
    if data.startswith(PNG_MAGIC):
        return "PNG"
    raise InvalidImageFormatException(INVALID_FORMAT_MESSAGE)


def decode_image(data: bytes) -> DecodedImage:
    """Decode JPEG/PNG bytes fully (truncation is an error), upright and RGB, with Rekognition's limits.

    Within a memory budget: a JPEG much larger than the working size decodes at a reduced scale (the
    decoder's own DCT scaling), 16-bit greys convert to 8 bits in integer blocks, and the result is shrunk to
    at most MAX_WORKING_SIDE on its long side: Rekognition's smallest face is proportional to the image (40 px
    at 1920 x 1080), so nothing it promises to find is lost.
    """
    kind = sniff_format(data)
    with warnings.catch_warnings():
        # Pillow warns above its own limit and raises at twice it; both mean "too many pixels" here
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=["JPEG", "PNG"])
            original = image.size
            if original[0] * original[1] > MAX_PIXELS:
                raise ImageTooLargeException(TOO_LARGE_MESSAGE)
            if min(original) < MIN_SIDE:
                raise InvalidParameterException(INVALID_PARAMETERS_MESSAGE)
            if kind == "JPEG" and max(original) > 2 * MAX_WORKING_SIDE:
                image.draft("RGB", _fit(original, MAX_WORKING_SIDE))  # at least that size, fewer pixels decoded
            image.load()  # decode every byte now: a truncated file fails here, not later
            pixels = _working_pixels(_upright(image), MAX_WORKING_SIDE)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageTooLargeException(TOO_LARGE_MESSAGE) from error
        except _DECODE_ERRORS as error:
            raise InvalidImageFormatException(INVALID_FORMAT_MESSAGE) from error
    height, width = pixels.shape[:2]
    return DecodedImage(pixels=pixels, width=width, height=height, format=kind)


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    """`size` scaled so its long side is `side` (never enlarged)."""
    scale = min(1.0, side / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; unreadable EXIF is ignored (the pixels are fine, as for any viewer)."""
    try:
        return ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        return image


def _working_pixels(image: Image.Image, side: int) -> np.ndarray:
    """HxWx3 uint8 from any JPEG/PNG mode, at most `side` on the long side. 16-bit greys are scaled (Pillow's
    convert would clip them to white); alpha is dropped, keeping the stored colour under it. Colour is
    converted before shrinking (so transparent pixels keep their colour), grey stays one channel until the
    image is small: the peak stays near the decoder's own buffer."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        image = Image.fromarray(_grey16_to_grey8(image), "L")
    elif image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA").convert("RGB")
    elif image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    if max(image.size) > side:
        image = image.resize(_fit(image.size, side), Image.Resampling.BOX)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image)


def _grey16_to_grey8(image: Image.Image, rows: int = 256) -> np.ndarray:
    """16-bit greys (0-65535) -> 8 bits, round(v / 257), a block of rows at a time in integers: no full-size
    16-bit or float64 copy beside the decoder's own buffer."""
    width, height = image.size
    out = np.empty((height, width), dtype=np.uint8)
    scale = image.mode != "I"  # 16-bit modes span 0-65535; a 32-bit "I" image is scaled only if it leaves 0-255
    if not scale:
        extrema = image.getextrema()
        scale = isinstance(extrema[1], int | float) and extrema[1] > 255
    for top in range(0, height, rows):
        block = np.asarray(image.crop((0, top, width, min(height, top + rows)))).astype(np.int64)
        if scale:
            block = (block + 128) // 257
        out[top : top + rows] = np.clip(block, 0, 255)
    return out
