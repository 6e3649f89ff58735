"""Check the built video layer: no GPL codec inside, and within its size budget.

The project is published under Apache-2.0, so the layers must not carry GPL binaries. FFmpeg is LGPL unless
it is configured with --enable-gpl (which libx264/libx265 need); the configuration is compiled into
libavcodec as a string, and the GPL encoders' own libraries would sit beside it. Standard library only.

Usage: ``python check.py <layer python dir> [--max-mb N]`` (run by ``make build-VideoLayer``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

GPL_LIBRARIES = re.compile(r"(x264|x265|libfdk|xvid|rubberband|vidstab|frei0r)", re.IGNORECASE)
GPL_FLAGS = (b"--enable-gpl", b"--enable-nonfree", b"--enable-libx264", b"--enable-libx265")
MB = 1024 * 1024


def problems(root: Path) -> list[str]:
    found = []
    libraries = [path for path in root.rglob("*.so*") if path.is_file()]
    found += [f"GPL codec library: {path.relative_to(root)}" for path in libraries if GPL_LIBRARIES.search(path.name)]
    codecs = [path for path in libraries if "avcodec" in path.name]
    if not codecs:
        found.append("no libavcodec found: is this the opencv-python-headless layer?")
    for path in codecs:
        data = path.read_bytes()
        found += [f"{path.name} was configured with {flag.decode()}" for flag in GPL_FLAGS if flag in data]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--max-mb", type=float, default=0)
    args = parser.parse_args(argv)
    size = sum(path.stat().st_size for path in args.root.rglob("*") if path.is_file() and not path.is_symlink())
    print(f"video layer: {size / MB:.1f} MiB unzipped")
    failures = problems(args.root)
    if args.max_mb and size > args.max_mb * MB:
        failures.append(f"{size / MB:.1f} MiB is over the budget of {args.max_mb:g} MiB")
    for failure in failures:
        print(f"video layer: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
