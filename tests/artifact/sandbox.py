"""The built function and its layers laid out as Lambda loads them, in a private mount namespace, served by the
Lambda Runtime Interface Emulator (RIE).

Lambda unpacks the function's code to /var/task and each layer, in the order the function lists them, into
/opt (a later layer's files win), both read-only; the runtime's own code is in /var/runtime. Here `unshare
--mount` gives the emulator and the function a private view of the file system in which /opt and /var are
fresh tmpfs mounts holding exactly that (copies of `make artifact-test`'s build output), remounted read-only.
Nothing outside the namespace sees them. The interpreter runs with `-S` and a clean environment (`env -i`),
so no site-packages, venv or repo path can supply a module the artifact lacks.

The environment is the function's in template.yaml (Globals and the function's own variables, with each
!Ref resolved to the local stand-in), plus the variables Lambda itself sets.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]  # PyYAML comes with moto[server]

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
FUNCTION = "ApiFunction"
BOOTSTRAP = Path(__file__).resolve().with_name("bootstrap.py")

TASK_ROOT = "/var/task"
RUNTIME_DIR = "/var/runtime"


class SandboxUnavailable(RuntimeError):
    """This machine cannot make a private mount namespace (not root, and no user namespaces)."""


# --- template.yaml ----------------------------------------------------------------------------------------


class Intrinsic:
    """A CloudFormation intrinsic function (!Ref, !Join, ...) as the template states it."""

    def __init__(self, name: str, value: Any) -> None:
        self.name = name
        self.value = value

    def __repr__(self) -> str:
        return f"!{self.name} {self.value!r}"


class TemplateLoader(yaml.SafeLoader):  # type: ignore[misc, unused-ignore]
    pass


def _intrinsic(loader: Any, suffix: str, node: Any) -> Intrinsic:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return Intrinsic(suffix, value)


TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    loaded = yaml.load(path.read_text(), Loader=TemplateLoader)
    assert isinstance(loaded, dict)
    return loaded


@dataclass(frozen=True)
class FunctionSpec:
    """What template.yaml says about the function: handler, runtime, layers, memory, timeout, environment."""

    logical_id: str
    handler: str
    runtime: str
    layers: tuple[str, ...]  # logical ids, in the order Lambda extracts them into /opt
    memory_mb: int
    timeout_s: int
    environment: Mapping[str, Any]  # values may be Intrinsic


def function_spec(template: Mapping[str, Any], logical_id: str = FUNCTION) -> FunctionSpec:
    globals_ = template.get("Globals", {}).get("Function", {})
    props = template["Resources"][logical_id]["Properties"]

    def prop(name: str) -> Any:
        return props.get(name, globals_.get(name))

    environment = {**globals_.get("Environment", {}).get("Variables", {}),
                   **props.get("Environment", {}).get("Variables", {})}
    layers = []
    for layer in props.get("Layers", []):
        assert isinstance(layer, Intrinsic) and layer.name == "Ref", f"layer {layer!r} is not a !Ref to a layer"
        layers.append(str(layer.value))
    parameters = template.get("Parameters", {})
    return FunctionSpec(
        logical_id=logical_id,
        handler=str(prop("Handler")),
        runtime=str(prop("Runtime")),
        layers=tuple(layers),
        memory_mb=int(resolve(prop("MemorySize"), parameters, {})),
        timeout_s=int(resolve(prop("Timeout"), parameters, {})),
        environment=environment,
    )


def layer_ids(template: Mapping[str, Any]) -> list[str]:
    """Every layer the template builds."""
    return [name for name, resource in template["Resources"].items()
            if resource.get("Type") == "AWS::Serverless::LayerVersion"]


def resolve(value: Any, parameters: Mapping[str, Any], refs: Mapping[str, str]) -> str:
    """A template value as Lambda would see it: !Ref to a parameter is its default, to a resource or pseudo
    parameter the local stand-in in `refs`; !Sub substitutes those; !Join joins. Anything else is an error to
    extend this for."""
    if not isinstance(value, Intrinsic):
        return str(value)
    if value.name == "Ref":
        name = str(value.value)
        if name in refs:
            return refs[name]
        if name in parameters:
            default = parameters[name].get("Default", "")
            return str(default)
        raise KeyError(f"no local stand-in for !Ref {name}: add it to the artifact test's refs")
    if value.name == "Sub" and isinstance(value.value, str):  # "${Name}" of a parameter, resource or pseudo one
        return re.sub(r"\$\{([A-Za-z0-9:]+)\}", lambda m: resolve(Intrinsic("Ref", m.group(1)), parameters, refs),
                      value.value)
    if value.name == "Join":
        delimiter, items = value.value
        if isinstance(items, Intrinsic):  # a CommaDelimitedList parameter: its default, split
            items = resolve(items, parameters, refs).split(",")
        return str(delimiter).join(resolve(item, parameters, refs) for item in items)
    raise ValueError(f"the artifact test cannot resolve {value!r}")


def function_environment(spec: FunctionSpec, template: Mapping[str, Any], refs: Mapping[str, str]) -> dict[str, str]:
    parameters = template.get("Parameters", {})
    return {name: resolve(value, parameters, refs) for name, value in spec.environment.items()}


# --- the sandbox --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Artifact:
    """`make artifact-test`'s build output: <root>/<FunctionId>, <root>/<LayerId>/..., <root>/runtime."""

    root: Path

    def function(self, logical_id: str = FUNCTION) -> Path:
        return self.root / logical_id

    def layer(self, logical_id: str) -> Path:
        return self.root / logical_id

    @property
    def runtime(self) -> Path:
        return self.root / "runtime"

    @property
    def log(self) -> Path:
        return self.root / "lambda.log"


LAYOUT_SCRIPT = r"""
set -eu
function_dir=$1 runtime_dir=$2 bootstrap=$3 layer_count=$4
shift 4
mount -t tmpfs -o mode=0755 artifact-opt /opt
mount -t tmpfs -o mode=0755 artifact-var /var
i=0
while [ "$i" -lt "$layer_count" ]; do
  cp -R "$1"/. /opt/   # Lambda extracts each layer into /opt in the function's order; later files win
  shift; i=$((i + 1))
done
mkdir -p /var/task /var/runtime /var/tmp
cp -R "$function_dir"/. /var/task/
cp -R "$runtime_dir"/. /var/runtime/
cp "$bootstrap" /var/runtime/artifact_bootstrap.py
mount -o remount,ro /opt
mount -o remount,ro /var
cd /var/task
exec env -i "$@"
"""


def unshare_prefix() -> list[str]:
    """`unshare` with a private mount namespace: as root directly, else inside a user namespace (mapped
    to root in it), where the kernel allows one. Raises SandboxUnavailable when neither works."""
    if shutil.which("unshare") is None:
        raise SandboxUnavailable("`unshare` (util-linux) is not installed")
    prefix = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        prefix.insert(1, "--map-root-user")
    probe = subprocess.run([*prefix, "mount", "-t", "tmpfs", "artifact-probe", "/opt"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        reason = probe.stderr.strip() or f"exit code {probe.returncode}"
        raise SandboxUnavailable(f"cannot mount a tmpfs on /opt in a private mount namespace "
                                 f"({' '.join(prefix)}: {reason}); run as root, or enable unprivileged user "
                                 "namespaces")
    return prefix


def outside_sandbox_mounts(*paths: Path | str) -> None:
    """The sandbox replaces /opt and /var: what it reads from the host must live elsewhere."""
    for path in paths:
        resolved = str(Path(path).resolve())
        for hidden in ("/opt", "/var"):
            if resolved == hidden or resolved.startswith(hidden + "/"):
                raise ValueError(f"{path} is under {hidden}, which the sandbox replaces with the artifact's own")


def sandbox_command(artifact: Artifact, layers: Sequence[str], environment: Mapping[str, str],
                    argv: Sequence[str], function: str = FUNCTION) -> list[str]:
    """The command that lays the artifact out as Lambda would and then runs `argv` in `environment` only."""
    outside_sandbox_mounts(artifact.root, BOOTSTRAP, argv[0])
    missing = [p for p in (artifact.function(function), artifact.runtime, *(artifact.layer(x) for x in layers))
               if not p.is_dir()]
    if missing:
        raise FileNotFoundError(f"not built: {', '.join(map(str, missing))} (run `make artifact-test`)")
    return [*unshare_prefix(), "/bin/sh", "-c", LAYOUT_SCRIPT, "artifact-layout",
            str(artifact.function(function)), str(artifact.runtime), str(BOOTSTRAP), str(len(layers)),
            *(str(artifact.layer(x)) for x in layers),
            *(f"{name}={value}" for name, value in sorted(environment.items())), *argv]


def lambda_environment(spec: FunctionSpec, function_env: Mapping[str, str], python_version: str,
                       function_name: str, region: str) -> dict[str, str]:
    """The variables Lambda sets for a python runtime, then the function's own (template.yaml)."""
    site = f"/opt/python/lib/python{python_version}/site-packages"
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin:/opt/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LD_LIBRARY_PATH": f"/lib64:/usr/lib64:{RUNTIME_DIR}:{RUNTIME_DIR}/lib:{TASK_ROOT}:{TASK_ROOT}/lib:/opt/lib",
        "PYTHONPATH": f"{TASK_ROOT}:{site}:/opt/python:{RUNTIME_DIR}",
        "LAMBDA_TASK_ROOT": TASK_ROOT,
        "LAMBDA_RUNTIME_DIR": RUNTIME_DIR,
        "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_s),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "artifact-test",
        # SnapStart (AutoPublishAlias + SnapStart: PublishedVersions): the published versions the alias serves
        # initialise for a snapshot, so app.py registers its hooks.
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
        **function_env,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with {process.returncode} before listening")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"the emulator did not listen on {port} within {timeout} s")


@dataclass
class Emulator:
    """A running RIE serving the function; `invoke_url` takes the event as the request body."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path  # the emulator's and the function's output

    @property
    def invoke_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/2015-03-31/functions/function/invocations"

    def invoke(self, event: Mapping[str, Any], timeout: float = 120.0) -> dict[str, Any]:
        """The function's answer to `event` (a JSON object; the error object when the function raised)."""
        posted = urllib.request.Request(self.invoke_url, data=json.dumps(event).encode(), method="POST")
        with urllib.request.urlopen(posted, timeout=timeout) as answer:
            result: dict[str, Any] = json.loads(answer.read() or b"null") or {}
        return result

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)  # the group this test started: the emulator and the runtime
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


def start_emulator(artifact: Artifact, rie: Path, python: str, spec: FunctionSpec,
                   environment: Mapping[str, str], log_path: Path | None = None) -> Emulator:
    """The RIE, in the sandbox, running the handler through the test bootstrap (awslambdaric's main); its output
    goes to `log_path` (the artifact's lambda.log by default)."""
    outside_sandbox_mounts(python)
    port, api_port = free_port(), free_port()
    argv = [str(rie), "--log-level", "info",
            "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
            "--runtime-api-address", f"127.0.0.1:{api_port}",
            python, "-S", "-m", "artifact_bootstrap", spec.handler]
    command = sandbox_command(artifact, spec.layers, environment, argv, spec.logical_id)
    log_path = log_path or artifact.log
    log = log_path.open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    log.close()
    emulator = Emulator(process, port, log_path)
    try:
        wait_for_port(port, process)
    except BaseException:
        emulator.stop()
        raise
    return emulator


def run_in_sandbox(artifact: Artifact, layers: Sequence[str], environment: Mapping[str, str],
                   argv: Sequence[str], timeout: float = 120.0,
                   function: str = FUNCTION) -> subprocess.CompletedProcess[str]:
    return subprocess.run(sandbox_command(artifact, layers, environment, argv, function), capture_output=True,
                          text=True, timeout=timeout, check=False)


def quoted(command: Sequence[str]) -> str:
    return " ".join(shlex.quote(part) for part in command)
