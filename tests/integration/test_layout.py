"""The package's shape: no import cycles between its modules, and no module over MAX_LINES lines
(nor any script of training/ or benchmarks/, nor any file of tests/)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "src" / "reportqa"
SCRIPTS = ("training", "benchmarks")  # held to MAX_LINES too, as tests/ is
MAX_LINES = 400
# Modules allowed over MAX_LINES for now, and import edges left out of the cycle check: none.
TOO_LONG_FOR_NOW: set[str] = set()
KNOWN_EDGES: set[tuple[str, str]] = set()
# LAZY_FACADE: ``reportqa/__init__.py`` gives the public names (``reportqa.Assistant`` …)
# through a module ``__getattr__`` that imports them on first use (and names their types
# under ``if TYPE_CHECKING:``), and modules read ``__version__`` from it (cli, index).
# Those lazy imports never run while the package is being imported, so they are not
# counted as edges; every other import is, also one inside a function, and also one
# under ``if TYPE_CHECKING:`` elsewhere: a module that needs another's types only to
# type-check still depends on it, and a cycle of such imports is still a cycle.


def modules() -> dict[str, Path]:
    """Dotted name ("reportqa.models.cache") -> file, for every module in the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package modules that ``name`` imports (anywhere in it: inside functions, and under
    ``if TYPE_CHECKING:``), leaving out a package ``__init__``'s lazy facade (LAZY_FACADE)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if path.name == "__init__.py" and (
            (isinstance(node, ast.FunctionDef) and node.name == "__getattr__") or _type_checking_only(node)
        ):
            # a package's lazy public names and their types: they point down by design (see LAZY_FACADE)
            for child in getattr(node, "orelse", []):
                visit(child)
            return
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from . import render` imports the module reportqa.render; `from .x import y`
            # (y a name, not a module) imports reportqa.x.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            targets = []
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (a list of modules, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def import_graph() -> dict[str, set[str]]:
    found = modules()
    graph = {name: imports(name, path, set(found)) for name, path in found.items()}
    for source, target in KNOWN_EDGES:
        graph[source].discard(target)
    return graph


def test_known_exceptions_are_still_needed():
    """Once a known edge or long module is gone, its exception must go too."""
    found = modules()
    for source, target in KNOWN_EDGES:
        assert target in imports(source, found[source], set(found)), f"{source} no longer imports {target}: drop it from KNOWN_EDGES"
    for name in TOO_LONG_FOR_NOW:
        assert len((PACKAGE / name).read_text(encoding="utf-8").splitlines()) > MAX_LINES, f"{name} is short now: drop it from TOO_LONG_FOR_NOW"


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_relative_imports_resolve():
    graph = import_graph()
    assert "reportqa.models.encoder" in graph["reportqa.models.onnx_encoder"]
    assert "reportqa.render" in graph["reportqa.ui.commands"]  # `from .. import render`
    assert "reportqa.ui.commands" in graph["reportqa.ui.session"]  # `from . import commands`
    assert "reportqa.results" in graph["reportqa.ui.commands"]  # only under TYPE_CHECKING: counted too


def test_no_module_is_too_long():
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in modules().values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
        and path.relative_to(PACKAGE).as_posix() not in TOO_LONG_FOR_NOW
    }
    assert not long, f"modules over {MAX_LINES} lines (split them by job): {long}"


def test_no_script_or_test_file_is_too_long():
    files = sorted(path for folder in SCRIPTS for path in (ROOT / folder).glob("*.py"))
    tests = sorted((ROOT / "tests").rglob("*.py"))
    assert len(files) > 10 and len(tests) > 40
    long = {
        path.relative_to(ROOT).as_posix(): n
        for path in files + tests
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"files over {MAX_LINES} lines (split them by job): {long}"


def test_training_and_benchmarks_import_by_package_name_not_sys_path():
    """They run as ``python -m training.fit`` … from the checkout's top and import each other by package name."""
    edits = [path.relative_to(ROOT).as_posix() for folder in SCRIPTS for path in (ROOT / folder).glob("*.py")
             if "sys.path" in path.read_text(encoding="utf-8")]
    assert not edits, f"sys.path edited in {edits}"
    assert all((ROOT / folder / "__init__.py").is_file() for folder in SCRIPTS)
    # A sibling imported by its bare name ("from scale import …") works only where the folder
    # itself is on sys.path: when the file is run as a script, not with -m.
    siblings = {path.stem for folder in SCRIPTS for path in (ROOT / folder).glob("*.py")}
    bare = []
    for folder in SCRIPTS:
        for path in sorted((ROOT / folder).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
                bare += [f"{path.relative_to(ROOT).as_posix()}:{node.lineno} {n}" for n in names if n.split(".")[0] in siblings]
    assert not bare, f"imported by bare name, not by package: {bare}"
