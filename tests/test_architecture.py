"""The layout's rules, checked on the source (docs/architecture.md draws them).

Nothing below imports anything above it; no import cycles; no module imports another
module's private (underscore) names; no module over 800 lines.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dah_outcomes"

#: bottom to top: a module may import its own layer and the layers below it
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"_version", "_show_versions", "errors", "results", "schema", "suppression"}),
    frozenset({"validation", "vital_status", "testing"}),
    frozenset({"cohort"}),
    frozenset({"stats"}),
    frozenset({"plotting"}),
    frozenset({"endpoints"}),
    frozenset({"synthetic", "io", "omop"}),
    frozenset({"analyses"}),
    frozenset({"reproduce"}),
    frozenset({"report"}),
    frozenset({"cli"}),
)
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}
MAX_LINES = 800


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Ids of the nodes inside ``if TYPE_CHECKING:`` blocks (annotations only, no import)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(n) for n in ast.walk(node))
    return inside


def _imports() -> dict[str, list[tuple[str, str, bool]]]:
    """Per module: (imported module, imported name, at run time) for every internal import."""
    found: dict[str, list[tuple[str, str, bool]]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = _type_checking_nodes(tree)
        module = _module_name(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dah_outcomes"):
                for alias in node.names:
                    found[module].append(
                        (node.module or "", alias.name, id(node) not in typing_only)
                    )
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("dah_outcomes"):
                        found[module].append((alias.name, "", id(node) not in typing_only))
    return found


IMPORTS = _imports()
MODULES = {_module_name(p) for p in PACKAGE.rglob("*.py")}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_part_of_the_package_has_a_layer() -> None:
    layers = {_layer(m) for m in MODULES} - {None}
    assert layers <= set(RANK), f"give these a layer: {sorted(layers - set(RANK))}"


def test_nothing_imports_a_layer_above_it() -> None:
    upward = []
    for module, imports in IMPORTS.items():
        own = _layer(module)
        if own is None:  # the package root re-exports the public API of every layer
            continue
        for target, _, runtime in imports:
            other = _layer(target)
            if runtime and other is not None and RANK[other] > RANK[own]:
                upward.append(f"{module} imports {target}")
    assert not upward, "\n".join(upward)


def _submodule(target: str, name: str) -> str:
    full = f"{target}.{name}"
    return full if full in MODULES else target


def test_no_import_cycles() -> None:
    graph = {
        m: {_submodule(t, n) for t, n, runtime in imps if runtime and t != "dah_outcomes"}
        for m, imps in IMPORTS.items()
    }
    # a package's __init__ re-exports its modules: an edge into a package means "one of
    # its modules", which the re-export already makes an edge of; skip them to find real
    # cycles between modules
    packages = {m for m in MODULES if (PACKAGE.parent / m.replace(".", "/")).is_dir()}
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in packages:
                continue
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state and module not in packages:
            visit(module)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_no_private_names_imported_across_modules() -> None:
    private = [
        f"{module} imports {name} from {target}"
        for module, imports in IMPORTS.items()
        for target, name, _ in imports
        if name.startswith("_") and name != "__version__" and target != module
    ]
    assert not private, "\n".join(private)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_modules_stay_small(path: Path) -> None:
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(PACKAGE.parent)} has {n} lines; split it"


def test_no_catch_all_modules() -> None:
    names = {p.stem for p in PACKAGE.rglob("*.py")}
    assert not names & {"utils", "helpers", "misc", "common"}
