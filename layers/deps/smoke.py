"""Prove the layer trim keeps what the function imports, on this machine (no arm64, no Python 3.12 here).

The same ``requirements.txt`` is installed for the host interpreter into a scratch dir, trimmed by ``trim.py``
exactly as ``build-DepsLayer`` trims the arm64 tree, and then a child interpreter started with ``-S`` (no
site-packages: only the stdlib plus that dir, like ``/opt/python`` on Lambda) imports the libraries, runs an
onnxruntime session, creates the boto3 clients the function uses, and imports the function's own modules.
The wheels differ in platform only; the Python files trim.py acts on are the same.

Usage: ``python layers/deps/smoke.py [--workdir .cache/deps-smoke]`` (``make deps-layer-smoke``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

CHILD = r"""
import importlib, os, pkgutil, sys
root, model, function_dir = sys.argv[1:4]
sys.path[:0] = [function_dir, root]
assert not any("site-packages" in p for p in sys.path), sys.path

import numpy, onnxruntime, PIL.Image, regex, boto3, botocore.session
sess = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
feeds = {i.name: numpy.ones([d if isinstance(d, int) else 1 for d in i.shape], numpy.float32)
         for i in sess.get_inputs()}
sess.run(None, feeds)
for service in ("rekognition", "s3", "dynamodb", "secretsmanager", "lambda", "sts", "xray"):
    boto3.client(service, region_name="us-east-1")
boto3.resource("dynamodb", region_name="us-east-1")
botocore.session.get_session().get_service_model("rekognition")
regex.compile(r"\p{L}+").fullmatch("Gesicht")

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver
Tracer(); Logger(); Metrics(); LambdaFunctionUrlResolver()
import aws_xray_sdk.core

import facesearch
mods = ["facesearch"] + [m.name for m in pkgutil.walk_packages(facesearch.__path__, "facesearch.")]
for name in mods:
    importlib.import_module(name)
if os.path.exists(os.path.join(function_dir, "app.py")):
    importlib.import_module("app")
    mods.append("app")
print(f"deps smoke: imports, onnxruntime {onnxruntime.__version__} session, boto3 clients, "
      f"{len(mods)} function modules OK")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=REPO / ".cache" / "deps-smoke")
    args = parser.parse_args()

    workdir: Path = args.workdir.resolve()
    site = workdir / "python"
    shutil.rmtree(workdir, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-warn-conflicts",
         "--no-compile", "--only-binary=:all:", "--target", str(site), "--requirement", str(HERE / "requirements.txt")],
        check=True,
    )
    model = workdir / "mul_1.onnx"
    shutil.copy(site / "onnxruntime" / "datasets" / "mul_1.onnx", model)  # trim.py drops that dir

    sys.path.insert(0, str(HERE))
    sys.dont_write_bytecode = True  # no __pycache__ in layers/deps: it would change sam's build-cache hash
    import trim

    trim.trim(site, keep_ort_capi=False)

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_SERVICE_NAME="facesearch", AWS_DEFAULT_REGION="us-east-1",
               POWERTOOLS_METRICS_NAMESPACE="FaceSearch", TABLE_NAME="t", BUCKET_NAME="b")
    child = [sys.executable, "-S", "-E", "-c", CHILD, str(site), str(model), str(REPO / "functions" / "api")]
    return subprocess.run(child, env=env, cwd=workdir, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
