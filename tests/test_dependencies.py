"""The dependency rule of DESIGN.md: channels -> bot -> bot.nlu, bot.actions -> knowledge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> top-level packages it must never import
FORBIDDEN = {
    "knowledge": ("bot", "channels"),
    "bot": ("channels",),
    "bot/nlu": (
        "channels",
        "bot.actions",
        "bot.assistant",
        "sqlalchemy",
        "knowledge.db",
        "knowledge.models",
        "knowledge.repository",
    ),
    "bot/actions": ("channels", "bot.nlu"),
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependency_rule(package: str) -> None:
    files = list((ROOT / package).rglob("*.py"))
    assert files
    bad = []
    for f in files:
        for name in imports_of(f):
            if any(name == x or name.startswith(x + ".") for x in FORBIDDEN[package]):
                bad.append(f"{f.relative_to(ROOT)} imports {name}")
    assert bad == []
