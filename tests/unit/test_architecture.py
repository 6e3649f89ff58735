"""The package's shape, checked: no import circles, and each layer imports only the layers it builds on.

The request path is wire -> operations -> vision / index / video -> storage. Vision is pixels in, faces out: it
imports nothing that does I/O (no AWS client, no storage, no settings read from the environment); the
storage schema lives in storage/ alone. Imports under `if TYPE_CHECKING:` are for the type checker only and
do not count.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "functions" / "api" / "facesearch"
ROOT = "facesearch"

# what each layer may import of the package (besides itself); anything not listed is refused
ALLOWED = {
    "wire": {"errors", "settings"},
    "operations": {"errors", "geometry", "settings", "services", "wire", "vision", "index", "storage", "video"},
    "video": {"errors"},  # how a video is cut and sampled, how faces are followed, how work is handed on
    "vision": {"errors", "geometry"},
    "index": {"errors", "geometry", "storage"},
    "storage": {"errors", "geometry"},
}
IO_MODULES = {"boto3", "botocore", "urllib", "http", "socket", "requests", "aws_lambda_powertools"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE_DIR.rglob("*.py")}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_names(tree: ast.AST) -> list[str]:
    """Every module an import statement names, skipping `if TYPE_CHECKING:` blocks."""
    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            return
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = {imported for imported in imported_names(ast.parse(path.read_text())) if imported in known}
        graph[name] = {target for target in targets if target != name and not name.startswith(f"{target}.")}
    return graph


def layer(name: str) -> str:
    return name.split(".")[1] if name.count(".") >= 1 else ""


def test_no_module_imports_itself_through_others():
    try:
        graphlib.TopologicalSorter(import_graph()).prepare()
    except graphlib.CycleError as error:
        pytest.fail(f"import circle: {' -> '.join(error.args[1])}")


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_each_layer_imports_only_what_it_builds_on(name: str):
    outside = {
        f"{module} imports {target}"
        for module, targets in import_graph().items() if layer(module) == name
        for target in targets if layer(target) != name and layer(target) not in ALLOWED[name]
    }
    assert not outside


def test_vision_imports_nothing_that_does_io():
    offenders = {
        f"{name} imports {imported}"
        for name, path in modules().items() if layer(name) == "vision"
        for imported in imported_names(ast.parse(path.read_text())) if imported.split(".")[0] in IO_MODULES
    }
    assert not offenders


def test_no_service_module_is_over_300_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > 300}
    assert not long
