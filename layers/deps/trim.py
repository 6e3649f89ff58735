"""Trim an installed dependencies tree to what the function imports, then report and cap its size.

Run by ``make build-DepsLayer`` on ``$(ARTIFACTS_DIR)/python`` (the layer's ``/opt/python``): for ``sam build``
on the arm64 / Python 3.12 wheels, and for ``make artifact-test`` on a host-platform twin that the function
then imports and runs under the Lambda Runtime Interface Emulator (tests/artifact/), so a trim that removes
something the function needs fails there. Standard library only: it runs under whatever ``python3`` drives
the build.

What goes, and why it is safe:

- ``tests``/``__pycache__`` dirs, ``*.pyi`` stubs, ``*-stubs`` packages, ``bin/`` console scripts, C headers
  and static libs: never imported at run time (and ``/opt`` is read-only, so no ``.pyc`` could be written).
- ``onnxruntime/{tools,transformers,quantization,training,backend,datasets}``: model-conversion and
  benchmarking code; ``import onnxruntime`` and ``InferenceSession`` do not touch them.
- ``onnxruntime/capi/libonnxruntime.so.*``: the C-API library shipped for native callers. The Python binding
  (``onnxruntime_pybind11_state*.so``) has the runtime linked in and does not load it (see its ``NEEDED``
  entries); ``--keep-ort-capi`` keeps it.
- ``botocore/data/<service>`` and ``boto3/data/<service>`` for every service the function does not call; the
  top-level ``botocore/data/*.json`` (endpoints, partitions, retry, defaults) stay.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

# Services the function creates clients for: the Rekognition model is the API contract it validates against;
# S3 (segments, Image.S3Object), DynamoDB (truth), Secrets Manager (access keys), Lambda (search fan-out, video
# jobs), SNS (video jobs' completion notices), STS (credential helpers), X-Ray (the X-Ray SDK's sampling
# client). `make artifact-test` makes a client for every service the function's code names, in the layer.
KEEP_SERVICES = frozenset({"rekognition", "s3", "dynamodb", "secretsmanager", "lambda", "sns", "sts", "xray"})

DROP_DIR_NAMES = frozenset({"__pycache__", "tests"})
DROP_ORT_SUBPACKAGES = ("tools", "transformers", "quantization", "training", "backend", "datasets")
DROP_SUFFIXES = (".pyi", ".pyc", ".a")

MB = 1024 * 1024


def tree_size(path: Path) -> int:
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def remove(path: Path, removed: list[tuple[Path, int]]) -> None:
    if not (path.exists() or path.is_symlink()):
        return
    removed.append((path, tree_size(path)))
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def trim(root: Path, *, keep_ort_capi: bool) -> list[tuple[Path, int]]:
    removed: list[tuple[Path, int]] = []
    remove(root / "bin", removed)

    for pkg in ("botocore", "boto3"):
        data = root / pkg / "data"
        if data.is_dir():
            for service in sorted(p for p in data.iterdir() if p.is_dir()):
                if service.name not in KEEP_SERVICES:
                    remove(service, removed)
    for examples in sorted((root / "botocore" / "data").glob("*/*/examples-1.json")):
        remove(examples, removed)  # documentation examples only

    ort = root / "onnxruntime"
    for sub in DROP_ORT_SUBPACKAGES:
        remove(ort / sub, removed)
    if not keep_ort_capi:
        for lib in sorted((ort / "capi").glob("libonnxruntime.so*")):
            remove(lib, removed)

    remove(root / "numpy" / "_core" / "include", removed)
    remove(root / "numpy" / "f2py", removed)  # Fortran wrapper generator; numpy imports it lazily, we never do

    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=False):
        if not (path.exists() or path.is_symlink()):
            continue  # inside something already removed
        dropped_dir = path.is_dir() and (path.name in DROP_DIR_NAMES or path.name.endswith("-stubs"))
        if dropped_dir or (path.is_file() and path.name.endswith(DROP_SUFFIXES)):
            remove(path, removed)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the layer's python/ directory")
    parser.add_argument("--max-mb", type=float, default=0, help="fail when the trimmed tree is larger (MiB)")
    parser.add_argument("--keep-ort-capi", action="store_true", help="keep onnxruntime's libonnxruntime.so")
    args = parser.parse_args(argv)

    root: Path = args.root
    if not root.is_dir():
        parser.error(f"{root} is not a directory")
    before = tree_size(root)
    removed = trim(root, keep_ort_capi=args.keep_ort_capi)
    after = tree_size(root)

    print(f"deps layer: {before / MB:.1f} MiB installed, {sum(s for _, s in removed) / MB:.1f} MiB trimmed "
          f"({len(removed)} paths), {after / MB:.1f} MiB left (unzipped)")
    for entry, size in sorted(((p, tree_size(p)) for p in root.iterdir()), key=lambda t: -t[1])[:10]:
        print(f"  {size / MB:7.1f} MiB  {entry.name}")
    if args.max_mb and after > args.max_mb * MB:
        print(f"deps layer is {after / MB:.1f} MiB, over its budget of {args.max_mb:g} MiB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
