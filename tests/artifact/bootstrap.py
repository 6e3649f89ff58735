"""The runtime's entry point in the artifact test: awslambdaric's own `python -m awslambdaric <handler>`, plus
what the emulator cannot do and what the test needs to see. Copied into the sandbox's /var/runtime as
`artifact_bootstrap.py`; it runs there under `python -S`, with the layers' and the runtime's modules only.

- SnapStart: awslambdaric runs the registered before-snapshot hooks, then asks the Runtime API for
  `/runtime/restore/next` (Lambda answers once the snapshot is restored), then runs the after-restore hooks.
  The emulator has no such route (it answers 404 and awslambdaric exits), so `restore_next` is answered here:
  the snapshot point, with no snapshot. Everything else is awslambdaric's own code path, and its hooks runner
  is the one that calls the function's hooks.
- Reporting: one `artifact-probe {json}` line per step on stdout (the emulator's log), so the test can check
  which hooks ran in which order, and where the handler's modules came from.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import snapshot_restore_py
from awslambdaric import __main__ as ric_main  # type: ignore[import-not-found, import-untyped, unused-ignore]
from awslambdaric import lambda_runtime_hooks_runner as hooks_runner  # type: ignore[import-not-found, import-untyped, unused-ignore]
from awslambdaric.lambda_runtime_client import (  # type: ignore[import-not-found, import-untyped, unused-ignore]
    LambdaRuntimeClient,
)

PREFIX = "artifact-probe "
# Where each of these was imported from tells whether the layout is Lambda's (/var/task, /opt, /var/runtime).
ORIGINS = ("app", "facesearch", "numpy", "onnxruntime", "PIL", "boto3", "botocore", "aws_lambda_powertools",
           "snapshot_restore_py", "awslambdaric", "simplejson")


def report(step: str, **fields: Any) -> None:
    print(PREFIX + json.dumps({"step": step, **fields}, sort_keys=True), flush=True)


def hook_names(entries: list[tuple[Callable[..., Any], Any, Any]]) -> list[str]:
    return [f"{func.__module__}.{func.__qualname__}" for func, _, _ in entries]


def origins() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in ORIGINS:
        module = sys.modules.get(name)
        found[name] = getattr(module, "__file__", None) if module is not None else None
    return found


run_before_snapshot: Callable[[], None] = hooks_runner.run_before_snapshot
run_after_restore: Callable[[], None] = hooks_runner.run_after_restore


def before_snapshot() -> None:
    # The handler module has been imported (init): report the layout it saw, then run the hooks as Lambda does.
    report("init", sys_path=sys.path, origins=origins(), cwd=os.getcwd(),
           initialization_type=os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"))
    report("before-snapshot", hooks=hook_names(snapshot_restore_py.get_before_snapshot()))
    run_before_snapshot()
    report("before-snapshot-done")


def restore_next(self: object) -> None:
    report("snapshot", note="restore/next answered by the test bootstrap: the emulator has no SnapStart")


def after_restore() -> None:
    report("after-restore", hooks=hook_names(snapshot_restore_py.get_after_restore()))
    run_after_restore()
    report("after-restore-done")


def main() -> None:
    hooks_runner.run_before_snapshot = before_snapshot
    hooks_runner.run_after_restore = after_restore
    LambdaRuntimeClient.restore_next = restore_next
    ric_main.main(sys.argv)


if __name__ == "__main__":
    main()
