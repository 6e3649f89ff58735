"""Peak memory of decoding hostile-but-legal images, today's decoder next to the previous one (same run).

    .venv/bin/python -m bench.decode_memory            # ~1 min

Each case runs in a fresh process and reports its peak resident set (ru_maxrss) and the decode's wall time,
next to a process that reads the same file and imports the same modules but decodes nothing. The previous
decoder (reproduced here as it was) converted 16-bit greys through a float64 copy and always decoded at
full size. A benchmark: it prints
numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.common import cli

CHILD = r"""
import json, resource, sys, time, warnings
import numpy as np
from PIL import Image, ImageOps
path, mode = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
from facesearch.vision import image_decoder
start = time.perf_counter()
if mode == "nothing":
    shape = (0, 0)
elif mode == "current":
    shape = image_decoder.decode_image(data).pixels.shape
else:  # the decoder as it was before the memory budget
    image = Image.open(__import__("io").BytesIO(data))
    image.load()
    image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I"):
        grey = np.asarray(image).astype(np.float64)
        grey = np.clip((grey / 257.0).round(), 0, 255).astype(np.uint8)
        pixels = np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    else:
        pixels = np.asarray(image.convert("RGB"))
    shape = pixels.shape
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"mb": peak / 1024, "seconds": seconds, "shape": list(shape)}))
"""


def cases(workdir: Path) -> dict[str, Path]:
    """The images: written once into workdir (they are large)."""
    made: dict[str, Path] = {}
    rng = np.random.default_rng(0)
    grey = (np.add.outer(np.arange(8944), np.arange(8944)) * 3).astype(np.uint16)  # smooth: compresses well
    path = workdir / "grey16_8944.png"
    Image.fromarray(grey).save(path, optimize=False)
    made["16-bit grey PNG 8944 x 8944 (80 MP)"] = path
    photo = Image.fromarray(rng.integers(0, 255, (1000, 1000, 3), dtype=np.uint8)).resize((8944, 8944))
    path = workdir / "rgb_8944.jpg"
    photo.save(path, quality=85)
    made["RGB JPEG 8944 x 8944 (80 MP)"] = path
    small = workdir / "rgb_1024.jpg"
    photo.resize((1024, 1024)).save(small, quality=90)
    made["RGB JPEG 1024 x 1024 (a common photo)"] = small
    return made


def run(path: Path, mode: str) -> dict[str, Any]:
    """The child's {"mb": peak RSS, "seconds": decode time, "shape": pixels' shape}."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)  # the child that writes the images
    args = parser.parse_args(argv)
    if args.make:
        print(json.dumps({label: str(path) for label, path in cases(args.make).items()}))
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        # written by another process: on Linux a child's ru_maxrss starts from its parent's at fork time
        made = subprocess.run([sys.executable, "-m", "bench.decode_memory", "--make", scratch], capture_output=True,
                              text=True, check=True)
        images = {label: Path(path) for label, path in json.loads(made.stdout).items()}
        print(f"{'image':40} {'decoder':14} {'peak RSS MB':>11} {'+ decode':>9} {'seconds':>8} {'pixels':>10}")
        for label, path in images.items():
            base, old, new = run(path, "nothing"), run(path, "previous"), run(path, "current")
            for name, result in (("no decode", base), ("previous", old), ("current", new)):
                shape = "x".join(str(v) for v in result["shape"][:2])
                print(f"{label:40} {name:14} {result['mb']:11.0f} {result['mb'] - base['mb']:9.0f} "
                      f"{result['seconds']:8.2f} {shape:>10}")
            ratio = (new["mb"] - base["mb"]) / max(old["mb"] - base["mb"], 1e-9)
            print(f"{'':40} file {path.stat().st_size / 1e6:.1f} MB; decode memory current/previous {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
