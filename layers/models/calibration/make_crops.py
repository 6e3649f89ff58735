"""Regenerate the committed calibration crops from ../shared/faces/london (maintainers only).

Not needed to build the models: build.py reads the committed crops and landmarks.json. Each photo's
largest face (found by the fp32 YuNet model) is cut out as a square of 1.6x the face box, resized to
160 px and saved as JPEG; its 5 landmarks, in crop pixels, go to landmarks.json so the build can align
SFace crops without running a detector.

    .venv/bin/python layers/models/calibration/make_crops.py --yunet .cache/models/yunet_fp32.onnx
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "functions" / "api"))

from facesearch.vision.detector import Detector  # noqa: E402

CROP = 160
MARGIN = 1.6
# 16 neutral + 14 smiling (other people) + 10 Canada set = 40 faces of 40 people
PICKS = {"neutral_front": (0, 16), "smiling_front": (16, 30), "canada": (0, 10)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--yunet", type=Path, required=True)
    args = parser.parse_args()
    detector = Detector(ort.InferenceSession(str(args.yunet), providers=["CPUExecutionProvider"]))
    landmarks: dict[str, list[list[float]]] = {}
    for old in HERE.glob("*.jpg"):
        old.unlink()
    for folder, (start, stop) in PICKS.items():
        photos = sorted((args.shared / "faces" / "london" / folder).glob("*.jpg"))[start:stop]
        for photo in photos:
            image = ImageOps.exif_transpose(Image.open(photo)).convert("RGB")
            faces = detector.detect(np.asarray(image))
            if not faces:
                raise SystemExit(f"no face in {photo}")
            face = faces[0]
            x1, y1, x2, y2 = face.box
            side = MARGIN * max(x2 - x1, y2 - y1)
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            left, top = cx - side / 2, cy - side / 2
            # crop() pads outside the photo with black; resize's box keeps the sub-pixel offset
            ileft, itop = int(np.floor(left)), int(np.floor(top))
            region = image.crop((ileft, itop, int(np.ceil(left + side)) + 1, int(np.ceil(top + side)) + 1))
            box = (left - ileft, top - itop, left - ileft + side, top - itop + side)
            crop = region.resize((CROP, CROP), Image.Resampling.LANCZOS, box=box)
            name = f"{folder}_{photo.stem}.jpg"
            crop.save(HERE / name, quality=88, optimize=True)
            points = (face.landmarks - [left, top]) * (CROP / side)
            landmarks[name] = [[round(float(x), 2), round(float(y), 2)] for x, y in points]
    (HERE / "landmarks.json").write_text(
        json.dumps(landmarks, sort_keys=True).replace("]], ", "]],\n ") + "\n"
    )
    print(f"wrote {len(landmarks)} crops to {HERE}")


if __name__ == "__main__":
    main()
