"""The package's shape: no import cycle inside it, and the README's module map names
exactly the package's top-level modules and packages."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import open_notebook_ext

PACKAGE = "open_notebook_ext"
ROOT = Path(open_notebook_ext.__file__).resolve().parent
README = Path(__file__).resolve().parents[2] / "README.md"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for p in ROOT.rglob("*.py")
        if "migrations" not in p.relative_to(ROOT).parts
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, function-level ones included, ``if TYPE_CHECKING:``
    blocks left out (their imports never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def imported(name: str, path: Path, modules: set[str]) -> set[str]:
    """The package's modules that the module ``name`` imports."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                here = here[: len(here) - (node.level - 1)]
                base = ".".join([*here, *([node.module] if node.module else [])])
            # a name is a module of its own, or something the module ``base`` defines
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names
            ]
        for target in targets:
            # the longest module the name is, or is inside of
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = package_modules()
    return {name: imported(name, path, set(mods)) for name, path in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 30  # the walk found the package
    assert f"{PACKAGE}.app" in graph[f"{PACKAGE}.cli"]  # and its edges
    assert cycles(graph) == []


def test_the_cycle_check_sees_function_level_imports_and_skips_type_checking(tmp_path):
    """The check itself: a cycle through an import inside a function is found, one
    through an ``if TYPE_CHECKING:`` block is not."""
    a = tmp_path / "a.py"
    a.write_text("def f():\n    from pkg import b\n")
    b = tmp_path / "b.py"
    b.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")
    c = tmp_path / "c.py"
    c.write_text("import pkg.a\n")
    mods = {"pkg.a", "pkg.b", "pkg.c"}
    assert imported("pkg.a", a, mods) == {"pkg.b"}
    assert imported("pkg.b", b, mods) == set()
    assert cycles({"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.a"}}) == [
        ["pkg.a", "pkg.b", "pkg.c"]
    ]
    assert cycles({"pkg.a": {"pkg.b"}, "pkg.b": set()}) == []


def readme_map() -> set[str]:
    """The entries of the README's module map under ``open_notebook_ext/``."""
    text = README.read_text(encoding="utf-8")
    block = text[text.index("\nopen_notebook_ext/") : text.index("\nlabextension/")]
    return {m.group(1) for m in re.finditer(r"^  (\S+)", block, re.MULTILINE)}


def top_level() -> set[str]:
    names = set()
    for p in ROOT.iterdir():
        if p.name.startswith("_"):
            continue
        if p.suffix == ".py":
            names.add(p.name)
        elif p.is_dir() and (p / "__init__.py").is_file():
            names.add(p.name + "/")
    return names


def test_the_readme_map_names_the_top_level_modules_and_packages():
    listed = {name for name in readme_map() if name.endswith((".py", "/"))}
    assert listed == top_level()
