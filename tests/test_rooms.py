"""The package's rooms import one way, as README's "How it is built" says: read from every
module's source (imports inside functions too), so a new import across a wall fails here."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.data import ROOT

PACKAGE = ROOT / "lookalike"
MAY_IMPORT = {
    "engine": {"engine"},
    "catalog": set(),
    "cluster": set(),
    "progress": set(),
    "libc": set(),
    "secret_env": set(),
    "languages": set(),
    "cpu_check": set(),
    "fetcher": {"fetcher", "catalog", "cluster", "progress", "languages"},
    "builder": {"builder", "catalog", "cluster", "progress", "engine", "libc"},
    "bot": {"bot", "engine", "libc", "secret_env", "languages"},
    "playground": {"playground", "bot", "engine", "secret_env", "languages"},
}
"""For each room (a sub-package, or a module beside them), the rooms its code may import."""


def room_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def rooms_imported(path: Path) -> set[str]:
    """The rooms of ``lookalike`` that the module at ``path`` imports, wherever in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "lookalike" else [f"lookalike.{a.name}" for a in node.names]
        else:
            continue
        found |= {name.split(".")[1] for name in names if name.startswith("lookalike.")}
    return found


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
