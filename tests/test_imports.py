"""The package's modules import each other without a cycle (read from the source with ``ast``)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "segcourse"


def _modules() -> set[str]:
    return {p.stem for p in PKG.glob("*.py")} | {p.name for p in PKG.iterdir() if (p / "__init__.py").exists()}


def _sources(name: str) -> list[Path]:
    """The files of one segcourse module: ``x.py``, or every ``.py`` of the subpackage ``x/``."""
    return [PKG / f"{name}.py"] if (PKG / f"{name}.py").exists() else sorted((PKG / name).rglob("*.py"))


def import_graph() -> dict[str, set[str]]:
    """segcourse module -> the segcourse modules it imports anywhere (top level or inside a function).

    A subpackage (``checks/``) is one node: its files' imports of each other do not count, their
    imports of other segcourse modules (``from .. import metrics``) do."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name in mods:
        deps: set[str] = set()
        for path in _sources(name):
            depth = len(path.relative_to(PKG).parts) - 1  # 0 for segcourse/x.py, 1 for segcourse/checks/y.py
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom):
                    if node.level == depth + 1 or (node.level == 0 and (node.module or "").split(".")[0] == "segcourse"):
                        parts = (node.module or "").split(".")
                        if node.level == 0:
                            parts = parts[1:]
                        deps |= {parts[0]} if parts and parts[0] else {a.name for a in node.names}
                elif isinstance(node, ast.Import):
                    deps |= {a.name.split(".")[1] for a in node.names if a.name.startswith("segcourse.")}
        graph[name] = (deps & mods) - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [node, dep] if dep in path else [node, dep]
            if dep not in state and (found := visit(dep, path + [node])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [])):
            return found
    return None


def test_the_graph_reader_sees_imports_and_finds_a_planted_cycle():
    graph = import_graph()
    assert {"train", "models", "data", "metrics"} <= graph["bench"]  # imports inside functions count too
    assert "_tables" in graph["bench"] and "metrics" in graph["train"]
    assert (PKG / "checks").is_dir() and {"metrics", "_validate", "train", "report", "instances"} <= graph["checks"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) in (["a", "b", "c", "a"], ["b", "c", "a", "b"])
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_segcourse_modules():
    graph = import_graph()
    assert "bench" not in graph["train"], "train must not import bench (bench imports train)"
    assert graph["_tables"] == set(), "the table printer imports nothing from the package"
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph))}"
