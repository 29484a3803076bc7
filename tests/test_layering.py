"""Dependencies point down (ARCHITECTURE.md), checked on the source: every ``import`` of an ISAO module in
``isao/`` (at the top, inside a function or under ``TYPE_CHECKING``) goes to its own package or to a layer
below, never in a circle; a sandbox imports nothing of ISAO but sandboxes, and only the screens start one;
the SDK imports nothing of the server. docs/decisions.md says why a walk of the syntax trees and not a tool.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_database

ROOT = Path(__file__).resolve().parents[1] / "isao"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli",),
    ("api",),  # the server: the External API, /hooks, /metrics; it mounts the dashboard
    ("dashboard",),
    ("runtime",),  # gives the queue its handlers: the engine, the inbox's router, outgoing webhooks
    ("hooks", "sync"),
    ("connections", "crm"),
    ("connectors",),  # the wire only: never the engine, the CRM or a sandbox
    ("queue",),  # acts on error classes; handlers are registered with it
    ("metrics",),
    ("db", "crypto"),
    ("config", "errors", "ids", "logs", "timeutil", ""),
)
"""Top to bottom, by the package (or module) right under ``isao``; ``""`` is ``isao/__init__.py``. A module
may import its own package and the layers below; the packages of one layer do not import each other."""

SCREENS = frozenset({"cli", "api", "dashboard"})
"""What starts sandboxes (``isao sandbox up``, ``isao serve --sandboxes``, the dashboard's presets)."""
SIDECARS = {"sandbox": frozenset({"sandbox"}), "client": frozenset({"client"}), "recipes": frozenset()}
"""Packages outside the layers, with the only ISAO packages they may import: an emulator built from ISAO's
own code would agree with its mistakes; the SDK installs without the server; recipes are data."""


@dataclass(frozen=True)
class Import:
    source: str  # isao.crm.pipeline
    target: str  # isao.api.errors: the most precise ISAO module the statement names
    where: str  # isao/crm/pipeline.py:18


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if "migrations" in parts:
            continue  # Alembic's revisions are loaded by Alembic, not imported
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(known: Mapping[str, Path]) -> Iterator[Import]:
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _targets(node, package, known):
                    yield Import(name, target, f"{path.relative_to(ROOT.parent)}:{node.lineno}")


def _targets(node: ast.Import | ast.ImportFrom, package: str, known: Mapping[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [_closest(alias.name, known) for alias in node.names if alias.name.split(".")[0] == "isao"]
    base = node.module or ""
    if node.level:
        anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join([*anchor, *([base] if base else [])])
    if base.split(".")[0] != "isao":
        return []
    return [_closest(f"{base}.{alias.name}", known) for alias in node.names]


def _closest(name: str, known: Mapping[str, Path]) -> str:
    """``isao.queue.jobs`` for ``from isao.queue import jobs``; ``isao.queue`` for ``from isao.queue import
    enqueue``."""
    while name not in known and "." in name:
        name = name.rpartition(".")[0]
    return name


def top(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def layer_of(package: str) -> int | None:
    return next((i for i, layer in enumerate(LAYERS) if package in layer), None)


def violations(found: Iterable[Import]) -> Iterator[str]:
    """What breaks the rules, one line each."""
    for edge in found:
        source, target = top(edge.source), top(edge.target)
        if source == target:
            continue
        said = f"{edge.where}: {edge.source} imports {edge.target}"
        if source in SIDECARS or target in SIDECARS:
            if source in SIDECARS and target not in SIDECARS[source]:
                yield f"{said}: {source} may import no ISAO package but {sorted(SIDECARS[source])}"
            elif target == "sandbox" and source not in SCREENS:
                yield f"{said}: only the screens ({', '.join(sorted(SCREENS))}) import a sandbox"
            continue
        mine, theirs = layer_of(source), layer_of(target)
        if mine is None or theirs is None:
            unplaced = source if mine is None else target
            yield f"{said}: isao.{unplaced} has no place in LAYERS (tests/test_layering.py): give it one"
        elif theirs < mine:
            yield f"{said}: {source} is below {target}"
        elif theirs == mine:
            yield f"{said}: {source} and {target} share a layer and stay independent"


def circles(found: Iterable[Import]) -> list[list[str]]:
    """The import circles between modules: strongly connected components of more than one (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for edge in found:
        graph.setdefault(edge.source, set())
        if edge.target != edge.source:
            graph[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    result: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for after in sorted(graph.get(node, ())):
            if after not in index:
                visit(after)
                low[node] = min(low[node], low[after])
            elif after in stack:
                low[node] = min(low[node], index[after])
        if low[node] == index[node]:
            component: list[str] = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def test_dependencies_point_down() -> None:
    found = list(imports(modules(ROOT)))
    assert len(found) > 500  # the walk reads the whole package
    assert list(violations(found)) == []


def test_no_import_circles() -> None:
    assert circles(imports(modules(ROOT))) == []


def test_the_rules_catch_what_they_forbid() -> None:
    def edge(source: str, target: str) -> Import:
        return Import(source, target, "here")

    wrong = [
        edge("isao.crm.pipeline", "isao.api.errors"),  # upward
        edge("isao.sync.engine", "isao.hooks.inbound"),  # across one layer
        edge("isao.connectors.hubspot", "isao.sync.engine"),  # a connector into the engine
        edge("isao.connectors.hubspot", "isao.sandbox.hubspot"),  # a connector into a sandbox
        edge("isao.sandbox.hubspot.app", "isao.connectors.hubspot"),  # a sandbox into a connector
        edge("isao.sandbox.zohocrm.app", "isao.timeutil"),  # a sandbox into ISAO's internals
        edge("isao.sync.engine", "isao.sandbox.runner"),  # the engine starting a sandbox
        edge("isao.client._sync", "isao.crm.contacts"),  # the SDK into the server
        edge("isao.newthing", "isao.db"),  # a package nobody placed
    ]
    assert len(list(violations(wrong))) == len(wrong)
    allowed = [
        edge("isao.api.app", "isao.dashboard.app"),
        edge("isao.cli.sandbox", "isao.sandbox.runner"),
        edge("isao.crm.events", "isao.queue"),
        edge("isao.sandbox.hubspot.app", "isao.sandbox.base"),
    ]
    assert list(violations(allowed)) == []
    loop = [edge("isao.cli.main", "isao.cli.demo"), edge("isao.cli.demo", "isao.cli.main")]
    assert circles([*loop, edge("isao.cli.demo", "isao.db")]) == [["isao.cli.demo", "isao.cli.main"]]
