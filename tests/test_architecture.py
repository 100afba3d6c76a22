"""The shape of the package, read from its source (the AST of every module):

- imports flow one way: no module imports another in a cycle.  The rule: an import that runs when the module
  is imported (at module level, in a class body, in a module-level ``if``/``try``) counts, and so does one a
  type checker reads (``if TYPE_CHECKING:``); an import inside a function does not (a deliberate lazy import).
- the core (the modules in the ``memkit/`` folder) never imports a concrete store or index, the bench or the
  CLI, at module level or inside a function: it reaches them only through protocols and registries.  (The
  daemon's client, ``memkit.client``, reads the daemon's runtime and token files through ``memkit.server``.)
- the public surface, ``memkit.__all__``, is deliberate.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import memkit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# what the core may never import, whatever the place of the import
FORBIDDEN_IN_CORE = ("memkit.stores", "memkit.bench", "memkit.cli")


def _package_dirs() -> dict[str, Path]:
    """Package name -> folder, from pyproject's setuptools package-dir (memkit.stores is stores/, ...)."""
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {name: ROOT / folder for name, folder in tool["package-dir"].items()}


def _modules() -> dict[str, Path]:
    """Every module of the installed package: dotted name -> file."""
    out: dict[str, Path] = {}
    dirs = _package_dirs()
    for package, folder in dirs.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([package, *parts])
            owner = max((p for p, f in dirs.items() if path.is_relative_to(f)), key=lambda p: len(str(dirs[p])))
            if owner == package:  # a folder mapped to its own package is not also part of its parent's
                out[name] = path
    return out


MODULES = _modules()


def _resolve(module: str, name: str | None) -> str:
    """The memkit module an import names: ``from a.b import c`` is ``a.b.c`` when that is a module."""
    if name is not None and f"{module}.{name}" in MODULES:
        return f"{module}.{name}"
    return module


def _imports(path: Path, package: str, *, eager_only: bool) -> set[str]:
    """The memkit modules ``path`` imports (``eager_only``: not those inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            lazy = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import) and not (eager_only and in_function):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom) and not (eager_only and in_function):
                base = child.module or ""
                if child.level:  # relative: from the package of this module
                    parts = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                found.update(_resolve(base, a.name) for a in child.names)
            visit(child, lazy)

    visit(tree, False)
    return {m for m in found if m == "memkit" or m.startswith("memkit.")}


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
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
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return cycles


def _graph(names: set[str], eager_only: bool) -> dict[str, set[str]]:
    return {name: {m for m in _imports(MODULES[name], _package_of(name, MODULES[name]), eager_only=eager_only)
                   if m in names and m != name} for name in names}


def test_no_module_imports_another_in_a_cycle():
    assert _cycles(_graph(set(MODULES), eager_only=True)) == []


def test_in_the_core_not_even_a_lazy_import_closes_a_cycle():
    core_dir = _package_dirs()["memkit"]
    assert _cycles(_graph({n for n, p in MODULES.items() if p.is_relative_to(core_dir)}, eager_only=False)) == []


def test_the_core_reaches_stores_bench_and_cli_only_through_registries():
    core_dir = _package_dirs()["memkit"]
    offences = {}
    for name, path in MODULES.items():
        if not path.is_relative_to(core_dir):
            continue
        bad = sorted(m for m in _imports(path, _package_of(name, path), eager_only=False)
                     if any(m == f or m.startswith(f + ".") for f in FORBIDDEN_IN_CORE))
        if bad:
            offences[name] = bad
    assert offences == {}


def test_the_checks_see_the_package():
    """The walk finds the modules the tests above judge (a wrong mapping would pass them vacuously)."""
    assert {"memkit.memory", "memkit.engine", "memkit.stores.sqlite", "memkit.bench.runner", "memkit.cli.main",
            "memkit.retrieval.pipeline", "memkit.writing.link"} <= set(MODULES)
    assert "memkit.engine" in _imports(MODULES["memkit.memory"], "memkit", eager_only=True)
    assert "memkit.stores.sqlite" not in _imports(MODULES["memkit.engine"], "memkit", eager_only=False)


def test_the_public_surface_is_deliberate():
    assert memkit.__all__ == [
        "Memory", "AsyncMemory", "Client", "AsyncClient", "MemkitConfig",
        "Note", "Hit", "ScoreParts", "Link", "HistoryEvent", "Stats",
        "MemkitError", "ConfigError", "InvalidInputError", "FilterError", "NotFoundError", "StoreError",
        "EmbeddingMismatchError", "MissingDependencyError",
        "__version__",
    ]
    for name in memkit.__all__:
        assert getattr(memkit, name) is not None
