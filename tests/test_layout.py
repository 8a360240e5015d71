"""The package's layout rules (docs/architecture.rst), read from the source with :mod:`ast`.

* the top level holds only the public faces and the subpackages;
* no import cycle between modules, counting imports inside functions (a cycle hidden in a function
  still ties two modules together), but not those under ``if TYPE_CHECKING:``;
* no module imports another module's ``_private`` names or reaches into them through a module it imported.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The package the suite imports: the checkout's, or the installed wheel's when the sdist's suite runs.
PACKAGE = Path(importlib.util.find_spec("postmark_admin").origin).parent

PUBLIC_FACES = {
    "__init__.py",
    "apps.py",
    "models.py",
    "checks.py",
    "urls.py",
    "signals.py",
    "testing.py",
    "backends.py",
    "message.py",
    "exceptions.py",
    "wagtail_hooks.py",
    "py.typed",
}
#: ``compat`` holds other clients' names over ours (``compat.anymail``), for code moving here.
SUBPACKAGES = {
    "config",
    "sending",
    "webhooks",
    "screens",
    "desk",
    "admin",
    "wagtail",
    "sandbox",
    "management",
    "compat",
}
DJANGO_FOLDERS = {"migrations", "templates", "static", "locale"}


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool

    def resolve(self, level: int, module: str | None) -> str:
        """The absolute name of ``from <level dots><module> import ...`` written in this module."""
        base = self.name.split(".") if self.is_package else self.name.split(".")[:-1]
        if level > 1:
            base = base[: len(base) - (level - 1)]
        return ".".join([*base, *([module] if module else [])])


def package_modules() -> dict[str, Module]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules[name] = Module(name, path, is_package)
    return modules


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def runtime_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement outside ``if TYPE_CHECKING:`` blocks, at any depth."""
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt) and _is_type_checking(child):
                pending.extend(getattr(child, "orelse", []))
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child
            pending.append(child)


@dataclass(frozen=True)
class Imports:
    modules: set[str]  # the package's modules this one imports
    private: list[str]  # uses of another module's _private names


#: Underscore names that are Django's documented API.
DJANGO_API = frozenset({"_meta", "_state", "_default_manager", "_base_manager"})
#: The one undocumented Django attribute read, and why: ``settings._wrapped`` is the object that
#: override_settings and pytest-django's ``settings`` fixture replace, which config/effective.py's memo
#: must notice (a deleted setting sends no signal); Django has no public way to tell.
ALLOWED_PRIVATE = frozenset({("settings", "_wrapped")})


def own_private_names(tree: ast.Module) -> set[str]:
    """The underscore names a module defines itself: its functions, classes and attributes it assigns."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return {name for name in names if name.startswith("_")}


def imports_of(module: Module, modules: dict[str, Module]) -> Imports:
    tree = ast.parse(module.path.read_text(), filename=str(module.path))
    imported: set[str] = set()
    private: list[str] = []
    module_aliases: dict[str, str] = {}
    for node in runtime_imports(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    imported.add(alias.name)
            continue
        source = module.resolve(node.level, node.module) if node.level else node.module or ""
        if not source.startswith("postmark_admin"):
            continue
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            if submodule in modules:
                imported.add(submodule)
                module_aliases[alias.asname or alias.name] = submodule
                continue
            imported.add(source)
            if alias.name.startswith("_"):
                private.append(f"line {node.lineno}: from {source} import {alias.name}")
    own = own_private_names(tree)
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            continue
        if node.value.id in module_aliases:
            private.append(f"line {node.lineno}: {module_aliases[node.value.id]}.{node.attr}")
        elif (
            node.value.id not in ("self", "cls")
            and node.attr not in own | DJANGO_API
            and (node.value.id, node.attr) not in ALLOWED_PRIVATE
        ):
            # Another object's private state (e.g. the sandbox's lock, the admin site's registry).
            private.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    # Importing a.b.c runs a/__init__.py and a/b/__init__.py too.
    for name in list(imported):
        parts = name.split(".")
        for end in range(2, len(parts)):
            parent = ".".join(parts[:end])
            if parent in modules and not module.name.startswith(parent):
                imported.add(parent)
    imported.discard(module.name)
    return Imports({name for name in imported if name in modules}, private)


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_top_level_holds_the_public_faces_and_the_subpackages():
    entries = {path.name for path in PACKAGE.iterdir() if path.name != "__pycache__"}
    assert entries == PUBLIC_FACES | SUBPACKAGES | (DJANGO_FOLDERS & entries)


def test_no_import_cycles():
    modules = package_modules()
    graph = {name: imports_of(module, modules).modules for name, module in modules.items()}
    assert import_cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("name", sorted(package_modules()))
def test_no_private_names_of_other_modules(name):
    modules = package_modules()
    assert imports_of(modules[name], modules).private == []


def test_private_finder_finds_both_forms(tmp_path):
    source = (
        "from postmark_admin.config import effective\nfrom .fields import _MISSING\neffective._memo = None\n"
        "def f(sandbox):\n    return sandbox._lock\n"
    )
    path = tmp_path / "example.py"
    path.write_text(source)
    modules = package_modules()
    module = Module("postmark_admin.config.example", path, is_package=False)
    found = imports_of(module, modules).private
    assert found == [
        "line 2: from postmark_admin.config.fields import _MISSING",
        "line 3: postmark_admin.config.effective._memo",
        "line 5: sandbox._lock",
    ]
