"""The package's architecture, read from the source with `ast` (no module is imported).

Rules: no import cycle; no private name (`_x`) or private module crosses a module's border;
each room imports only itself, the shared ground and the rooms below it; `fold/` imports no
Faust, Kafka or ClickHouse client; no module passes 400 lines. Every import counts, those
inside functions and under `if TYPE_CHECKING:` too: they still tie the modules together.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = "streams"
# Rooms bottom to top: a room may import itself and any room on a lower line. The shared ground
# (errors < key_format < settings < auth < metrics) comes first; sim, grafana and worker sit
# side by side.
LAYERS: list[set[str]] = [
    {"streams"},  # the package's own __init__, run before any of its modules: imports none
    {"streams.errors"},
    {"streams.key_format"},
    {"streams.settings"},
    {"streams.auth", "streams.kafka_config"},
    {"streams.event_producer"},
    {"streams.metrics"},
    {"streams.events"},
    {"streams.fold"},
    {"streams.store"},
    {"streams.read"},
    {"streams.sim", "streams.grafana", "streams.worker"},
    {"streams.api"},
    {"streams.app"},
    {"streams.cli"},
]
RANK = {room: rank for rank, rooms in enumerate(LAYERS) for room in rooms}
PURE = "streams.fold"
DRIVERS = {"faust", "aiokafka", "kafka", "clickhouse_connect", "chdb"}
MAX_LINES = 400


@dataclass(frozen=True)
class Import:
    """One name or module imported by `importer` at `line`."""

    importer: str
    line: int
    module: str  # the streams module imported, or a third-party module
    name: str | None  # what `from module import name` takes, unless it is a submodule

    @property
    def where(self) -> str:
        return f"{path_of(self.importer)}:{self.line}"


@cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    spec = importlib.util.find_spec(ROOT)
    assert spec is not None and spec.submodule_search_locations, f"{ROOT} is not installed"
    top = Path(next(iter(spec.submodule_search_locations)))
    found = {}
    for path in sorted(top.rglob("*.py")):
        parts = path.relative_to(top.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def path_of(module: str) -> str:
    path = modules()[module]
    return path.relative_to(modules()[ROOT].parent.parent).as_posix()


def resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module name of a (possibly relative) `from … import`."""
    if not node.level:
        return node.module or ""
    parts = importer.split(".")
    package = parts if modules()[importer].name == "__init__.py" else parts[:-1]
    return ".".join([*package[: len(package) - node.level + 1], *filter(None, [node.module])])


def imports_of(importer: str) -> Iterator[Import]:
    path = modules()[importer]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(importer, node.lineno, alias.name, None)
        elif isinstance(node, ast.ImportFrom):
            source = resolve(importer, node)
            for alias in node.names:
                if f"{source}.{alias.name}" in modules():  # a submodule: `from . import x`
                    yield Import(importer, node.lineno, f"{source}.{alias.name}", None)
                else:
                    yield Import(importer, node.lineno, source, alias.name)


@cache
def all_imports() -> tuple[Import, ...]:
    return tuple(i for module in modules() for i in imports_of(module))


def internal_imports() -> list[Import]:
    return [i for i in all_imports() if i.module == ROOT or i.module.startswith(f"{ROOT}.")]


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {module: set() for module in modules()}
    for i in internal_imports():
        edges[i.importer].add(i.module)
    return edges


def room_of(module: str) -> str:
    """`streams.events.records` -> `streams.events`; `streams.app` -> itself."""
    return ".".join(module.split(".")[:2])


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_crossings(i: Import) -> str | None:
    if i.name and is_private(i.name):
        return f"{i.where}: imports {i.name} from {i.module}"
    if any(map(is_private, i.module.split("."))):
        return f"{i.where}: imports the private module {i.module}"
    return None


def cycles(edges: dict[str, set[str]]) -> list[str]:
    """Each distinct shortest import cycle, written `a -> b -> a`."""
    found = set()
    for start in edges:
        path = cycle_from(start, edges)
        if path:
            turn = path.index(min(path))  # the same cycle, reached from another of its modules
            found.add(" -> ".join([*path[turn:], *path[:turn], path[turn]]))
    return sorted(found)


def cycle_from(start: str, edges: dict[str, set[str]]) -> list[str] | None:
    """The modules on the shortest import path from `start` back to it, if there is one."""
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for target in sorted(edges[path[-1]]):
            if target == start:
                return path
            if target not in seen:
                seen.add(target)
                paths.append([*path, target])
    return None


def test_cycles_are_found_and_written_from_their_first_module():
    edges = {"c": {"a"}, "a": {"b"}, "b": {"c", "d"}, "d": set(), "e": {"e"}}
    assert cycles(edges) == ["a -> b -> c -> a", "e -> e"]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_every_room_has_a_layer_and_the_walk_sees_imports():
    assert {room_of(module) for module in modules()} == set(RANK), (
        "LAYERS in this file must name every room of streams/, and only those"
    )
    assert "streams.events" in graph()["streams.api.ingest"]
    assert {"streams.fold.rules", "streams.fold.state"} <= set(modules())


def test_no_import_cycle():
    found = cycles(graph())
    assert not found, "import cycles; break each by handing down what is needed:\n" + (
        "\n".join(found)
    )


def test_no_private_name_or_private_module_crosses_a_module_border():
    crossing = [found for i in internal_imports() if (found := private_crossings(i))]
    assert not crossing, "private names imported by another module; make them public:\n" + (
        "\n".join(crossing)
    )


def test_each_room_imports_only_itself_the_shared_ground_and_lower_layers():
    upward = [
        f"{i.where}: {room_of(i.importer)} (layer {RANK[room_of(i.importer)]}) imports "
        f"{i.module} (layer {RANK[room_of(i.module)]})"
        for i in internal_imports()
        if room_of(i.module) != room_of(i.importer)
        and RANK[room_of(i.module)] >= RANK[room_of(i.importer)]
    ]
    assert not upward, (
        "imports must run downward (LAYERS in this file); sim, grafana and worker are "
        "siblings and must not import each other:\n" + "\n".join(upward)
    )


def test_fold_imports_neither_faust_kafka_nor_clickhouse():
    drivers = [
        f"{i.where}: imports {i.module}"
        for i in all_imports()
        if room_of(i.importer) == PURE and i.module.split(".")[0] in DRIVERS
    ]
    assert not drivers, f"{PURE} must stay pure (none of {', '.join(sorted(DRIVERS))}):\n" + (
        "\n".join(drivers)
    )


def test_no_module_is_over_400_lines():
    lengths = {path_of(m): len(p.read_text().splitlines()) for m, p in modules().items()}
    over = sorted(f"{path}: {n} lines" for path, n in lengths.items() if n > MAX_LINES)
    assert not over, f"modules over {MAX_LINES} lines; split them by concept:\n" + "\n".join(over)
