"""The shape of the code, kept by tests (issue 8): no import cycle among cql's
modules, no module importing another module's ``_private`` names, and no
module much over 600 lines (one that grows past it wants splitting along its
seams, as cql/engine/matcher.py was).

Imports under ``if TYPE_CHECKING:`` are for type hints only and are left out:
they never run, so they cannot make a cycle at import time.
"""
from __future__ import annotations

import ast
import os
from typing import Dict, Iterator, List, Set, Tuple

import pytest

MAX_MODULE_LINES = 620  # "about 600"
ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cql")


def _modules() -> Dict[str, str]:
    """{dotted module name: file path} of every module under cql/."""
    out = {}
    for folder, _dirs, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                out[rel[: -len(".__init__")] if rel.endswith(".__init__") else rel] = path
    return out


MODULES = _modules()


def _runtime_imports(tree: ast.Module) -> Iterator[ast.ImportFrom]:
    """The ``from ... import`` statements that run (not those under TYPE_CHECKING)."""
    type_only = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            type_only.update(id(n) for sub in node.body for n in ast.walk(sub))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and id(node) not in type_only:
            yield node


def _imports(module: str) -> List[Tuple[str, str, int]]:
    """(imported module, imported name, line) of each ``from X import name`` in ``module``."""
    path = MODULES[module]
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    out = []
    for node in _runtime_imports(tree):
        if node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            out.append((submodule if submodule in MODULES else source, alias.name, node.lineno))
    return out


def _graph() -> Dict[str, Set[str]]:
    return {m: {target for target, _, _ in _imports(m) if target in MODULES and target != m} for m in MODULES}


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checks_see_the_package():
    assert {"cql", "cql.planner", "cql.plan", "cql.engine.matcher", "cql.shell.session"} <= set(MODULES)
    assert "cql.plan" in _graph()["cql.planner"]


def test_a_cycle_would_be_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_among_cql_modules():
    assert _cycles(_graph()) == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_another_modules_private_names(module):
    private = [f"{name} from {source} (line {line})" for source, name, line in _imports(module)
               if source != module and name.startswith("_") and not name.startswith("__")]
    assert private == [], f"{module} imports private names; make them public in their module"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_much_over_600_lines(module):
    with open(MODULES[module], encoding="utf-8") as f:
        lines = sum(1 for _ in f)
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines: split it along its seams"
