"""A detector pass's input picture: a region of the image resized (antialiased) into a canvas, and bordered.

Pure image work (Pillow and numpy), no model: pass_plan.py says where the region goes, detector.py runs the
canvas through YuNet.

Borders (`Placement.border`):
- "black": zeros, for crops whose surroundings are not part of the picture;
- "edge": the region's outer pixels repeated;
- "mirror": the region reflected at its edges. A face the frame cuts then continues into its own mirror
  image, which YuNet reads as a face: 40 % of a face left in the picture was found in 96 % of cut London
  photos by the main pass and overview with mirrored borders, 12-17 % with wide black or repeated edges
  (bench/detection.py "cut by the frame"; frame_edge.py turns such a mirrored face back into the face that
  was cut). The overview, border, and refine passes are mirrored; the main pass keeps repeated edges
  (pass_plan.py says why).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image

from facesearch.vision.pass_plan import Placement

_PAD_MODES: dict[str, Literal["edge", "symmetric"]] = {"edge": "edge", "mirror": "symmetric"}


def resample(image: Image.Image, region: tuple[int, int, int, int], size: tuple[int, int]) -> Image.Image:
    """`region` of `image` resized to `size`, antialiased: box-reduced by the integer part of the
    shrink, then box-filtered for the rest. Pillow 13 widens its bilinear filter with the shrink, so
    one bilinear resize from 1024 to 432 px took 4x as long (and bilinear after reduce() 1.4x)."""
    x0, y0, x1, y1 = region
    factor = int(min((x1 - x0) / size[0], (y1 - y0) / size[1]))
    if factor < 2:
        return image.resize(size, Image.Resampling.BOX, box=region)
    # reduce() averages factor x factor blocks from the region's corner; the last block may be partial
    reduced = image.reduce(factor, box=region)
    box = (0.0, 0.0, (x1 - x0) / factor, (y1 - y0) / factor)
    return reduced.resize(size, Image.Resampling.BOX, box=box)


def to_blob(canvas: np.ndarray) -> np.ndarray:
    """H x W x 3 RGB uint8 -> 1 x 3 x H x W BGR float32 (0-255), YuNet's input."""
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)[::-1][None], dtype=np.float32)


def frame(resized: Image.Image, placement: Placement) -> np.ndarray:
    """The placement's canvas (H x W x 3 RGB uint8) around its already resized region. A mirror wider
    than the region reflects again (numpy's symmetric padding), so any border width is valid."""
    pixels = np.asarray(resized if resized.mode == "RGB" else resized.convert("RGB"))
    (width, height), (left, top) = placement.canvas, placement.offset
    pad = ((top, height - top - pixels.shape[0]), (left, width - left - pixels.shape[1]), (0, 0))
    mode = _PAD_MODES.get(placement.border)
    return np.pad(pixels, pad, mode=mode) if mode else np.pad(pixels, pad, mode="constant")


def render(image: Image.Image, placement: Placement) -> np.ndarray:
    """The placement's canvas: its region of `image` resized (antialiased), then bordered."""
    return frame(resample(image, placement.region, placement.resized), placement)
