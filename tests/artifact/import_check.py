"""Run inside the artifact sandbox (`python -S -c <this file's text>`, cwd /var/task): everything the function can
import, and every AWS client it can make, loads from the artifact alone.

The requests of test_lambda_artifact.py reach the code paths a request takes; this reaches the rest: every
module of the function's package (some are imported only by rare operations or on error paths), the clients
of every service the function talks to (each one its code names in a `client("...")` call, plus Secrets
Manager for its keys, X-Ray for the tracer's sampling, STS for credential helpers), the Rekognition model it
validates against, and the libraries' own pieces the function uses. It prints one JSON line: the modules loaded and
any that came from outside /var/task, /opt and /var/runtime (other than the interpreter's standard library).
For the video worker it also decodes a video with the video layer's OpenCV (its FFmpeg libraries).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import sys
import sysconfig
from pathlib import Path
from typing import Any

# Clients the libraries make for the function: powertools' parameters (the keys secret), the X-Ray SDK's
# sampling, botocore's credential helpers; and the Rekognition model the function validates requests against.
LIBRARY_SERVICES = frozenset({"rekognition", "secretsmanager", "xray", "sts"})
CLIENT_CALL = re.compile(r"""\bclient\(\s*["']([a-z0-9-]+)["']""")


def code_services(task_root: str = "/var/task") -> set[str]:
    """Every service the function's own code names in a `client("...")` call: a service added to the code
    is checked without anyone remembering to list it here (or in the trim's KEEP_SERVICES)."""
    found: set[str] = set()
    for path in Path(task_root).rglob("*.py"):
        found.update(CLIENT_CALL.findall(path.read_text(encoding="utf-8")))
    return found


def main(handler: str, absent: frozenset[str], video: str) -> None:
    import boto3
    import botocore.session
    import numpy
    import PIL.Image
    import regex
    import simsimd  # noqa: F401

    session: Any = boto3.session.Session()
    services = sorted(LIBRARY_SERVICES | code_services())
    for service in services:
        session.client(service, region_name="us-east-1")
    boto3.resource("dynamodb", region_name="us-east-1")
    botocore.session.get_session().get_service_model("rekognition")
    assert regex.compile(r"\p{L}+").fullmatch("Gesicht")
    PIL.Image.new("RGB", (8, 8)).convert("L")
    numpy.linalg.norm(numpy.ones(4, numpy.float32))

    from aws_lambda_powertools import Logger, Metrics, Tracer
    from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver
    from aws_lambda_powertools.utilities import parameters  # noqa: F401

    Tracer()
    Logger()
    Metrics()
    LambdaFunctionUrlResolver()
    import aws_xray_sdk.core  # noqa: F401

    import facesearch

    modules = [handler, "facesearch"] + [m.name for m in pkgutil.walk_packages(facesearch.__path__, "facesearch.")]
    skipped = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            # The package is shared with another function: a module that needs a layer only that function has
            # (the video worker's cv2) is never imported here.
            if (error.name or "").split(".")[0] not in absent:
                raise
            skipped.append(f"{name} (needs {error.name})")

    frames = 0
    if video:
        import cv2

        capture = cv2.VideoCapture(video)
        while capture.read()[0]:
            frames += 1
        capture.release()

    allowed = ("/var/task/", "/opt/", "/var/runtime/", sysconfig.get_paths()["stdlib"] + "/",
               sysconfig.get_paths()["platstdlib"] + "/")
    outside = sorted(
        f"{name}: {module.__file__}"
        for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None) and not str(module.__file__).startswith(allowed)
    )
    print(json.dumps({"function_modules": len(modules), "loaded": len(sys.modules), "outside": outside,
                      "services": services, "skipped": skipped, "frames": frames,
                      "cv2": getattr(sys.modules.get("cv2"), "__file__", None), "sys_path": sys.path}))


# python -S -c <this file> [handler module] [modules other functions' layers provide, comma separated] [video]
main(sys.argv[1] if len(sys.argv) > 1 else "app",
     frozenset(filter(None, (sys.argv[2] if len(sys.argv) > 2 else "").split(","))),
     sys.argv[3] if len(sys.argv) > 3 else "")
