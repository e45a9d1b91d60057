"""The package's rooms import one way, as README's "How it is built" says: read from every
module's source (imports inside functions too), so a new import across a wall fails here."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from tests.support.data import ROOT

PACKAGE = ROOT / "lookalike"
MAY_IMPORT = {
    "engine": {"engine", "records", "assets_layout"},
    "records": set(),
    "assets_layout": set(),
    "catalog": {"records"},
    "cluster": set(),
    "progress": set(),
    "libc": set(),
    "secret_env": set(),
    "languages": set(),
    "cpu_check": set(),
    "fetcher": {"fetcher", "catalog", "records", "cluster", "progress", "languages"},
    "builder": {"builder", "catalog", "records", "assets_layout", "cluster", "progress", "engine", "libc"},
    "answering": {"answering", "engine", "records", "assets_layout", "libc", "languages"},
    "bot": {"bot", "answering", "engine", "secret_env", "languages"},
    "playground": {"playground", "answering", "engine", "secret_env", "languages"},
}
"""For each room (a sub-package, or a module beside them), the rooms its code may import."""


def room_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported_names(path: Path) -> set[str]:
    """Every ``lookalike.*`` name the module at ``path`` imports, wherever in it: modules, and
    ``module.name`` for what it takes from one (``from lookalike.a import b`` gives ``lookalike.a``
    and ``lookalike.a.b``, which is a module when ``b`` is one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("lookalike.")}


def rooms_imported(path: Path) -> set[str]:
    """The rooms of ``lookalike`` that the module at ``path`` imports, wherever in it."""
    return {name.split(".")[1] for name in imported_names(path)}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_circles(paths: list[Path]) -> list[set[str]]:
    """The package's modules that import each other, directly or round a longer circle
    (Tarjan's strongly connected components of more than one module)."""
    modules = {module_name(path): path for path in paths}
    graph = {name: (imported_names(path) & modules.keys()) - {name, "lookalike"} for name, path in modules.items()}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        for other in graph[module]:
            if other not in order:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], order[other])
        if low[module] == order[module]:
            component = set()
            while not component or module not in component:
                component.add(stack.pop())
            if len(component) > 1:
                circles.append(component)

    for module in graph:
        if module not in order:
            visit(module)
    return circles


def test_every_room_imports_only_the_rooms_the_flow_allows():
    modules = [p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE]
    assert len(modules) > 50
    crossings = []
    for path in modules:
        room = room_of(path)
        assert room in MAY_IMPORT, f"{path}: a room README's 'How it is built' does not describe"
        crossings += [
            f"{path.relative_to(ROOT)} imports lookalike.{other}" for other in rooms_imported(path) - MAY_IMPORT[room]
        ]
    assert crossings == []


def test_the_check_sees_imports_inside_functions_and_from_the_package(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("from lookalike import cluster\n\ndef later():\n    import lookalike.builder.build\n")
    assert rooms_imported(module) == {"cluster", "builder"}


def test_no_modules_import_each_other():
    assert import_circles(list(PACKAGE.rglob("*.py"))) == []


def test_the_circle_check_sees_a_circle_round_three_modules(tmp_path, monkeypatch):
    package = tmp_path / "lookalike"
    package.mkdir()
    (package / "a.py").write_text("from lookalike.b import thing\n")
    (package / "b.py").write_text("def later():\n    from lookalike import c\n")
    (package / "c.py").write_text("import lookalike.a\n")
    (package / "d.py").write_text("import lookalike.a\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert import_circles(sorted(package.glob("*.py"))) == [{"lookalike.a", "lookalike.b", "lookalike.c"}]


def test_the_answering_room_and_the_playground_know_nothing_of_telegram():
    """A photo reaches the answering room as bytes and a fetch, and leaves it as a Reply: only the
    bot, its Telegram front end, imports python-telegram-bot."""
    modules = [*(PACKAGE / "answering").rglob("*.py"), *(PACKAGE / "playground").rglob("*.py")]
    assert len(modules) > 30
    telegram = [str(path.relative_to(ROOT)) for path in modules if "telegram" in third_party_imports(path)]
    assert telegram == []


def third_party_imports(path: Path) -> set[str]:
    """The top-level names of what the module at ``path`` imports from outside ``lookalike``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found - {"lookalike"}
