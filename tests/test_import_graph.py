"""The package's import graph, read from the source (every `import`, also inside functions): no cycle, and no
private name (`_x`) imported from another module of the package."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tinyhelen"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


def imports(name: str, path: Path, known: set[str]) -> list[tuple[str, str, int]]:
    "(imported package module, imported name or '', line) for every import of the package in one module."
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: `from .x import y` in package p is p.x
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:
                if f"{base}.{a.name}" in known:  # `from . import x` / `from tinyhelen import x`: the module x
                    found.append((f"{base}.{a.name}", "", node.lineno))
                elif base in known:
                    found.append((base, a.name, node.lineno))
    return found


def graph() -> tuple[dict[str, set[str]], list[str]]:
    "Module -> the package modules it imports; and each cross-module import of a private name."
    mods = modules()
    edges, private = {m: set() for m in mods}, []
    for m, path in mods.items():
        for target, name, line in imports(m, path, set(mods)):
            if target != m:
                edges[m].add(target)
            if name.startswith("_") and not name.startswith("__") and target != m:
                private.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name} from {target}")
    return edges, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    "One cycle per strongly connected component with more than one module (Tarjan)."
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v); on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_reader_sees_function_level_and_relative_imports():
    mods = modules()
    assert "tinyhelen.train" in mods and "tinyhelen.eval.glue" in mods
    edges, _ = graph()
    # eval/glue imports the loop inside a function (absolute), and core at the top (relative, two levels)
    assert {"tinyhelen.train", "tinyhelen.core"} <= edges["tinyhelen.eval.glue"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_import_graph_has_no_cycle():
    found = cycles(graph()[0])
    assert not found, "import cycles in tinyhelen/: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_private_name_imported_across_modules():
    _, private = graph()
    assert not private, "private names imported across modules:\n" + "\n".join(private)
