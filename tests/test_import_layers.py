"""The package import graph points down only: every package of
src/zonefront sits in one layer, no package imports one in a higher layer,
and the packages import each other in no circle, not even from inside a
function, where a cycle would otherwise hide until the first call.

Every module under src/zonefront is read with `ast` (imports at any depth,
relative imports resolved); packages are compared at the top level
(zonefront.api.server -> "api", zonefront.serving -> "serving").  A new
top-level module or package fails the test until it is placed in LAYERS.
`pytest tests/test_import_layers.py -s` prints the layer map.
"""
from __future__ import annotations

import ast
import pathlib

import zonefront

SRC = pathlib.Path(zonefront.__file__).parent
# bottom first; a package may import its own layer (without a circle) and
# the layers below it.  The edge sits with the assembly: `zonefront edge` is
# a whole process (data plane + serving + its client), and its hub is what
# the control plane mounts.
LAYERS = {
    "vocabulary": ("model", "rdata", "zoneset", "zonefile", "dnsmsg", "config", "errors",
                   "aws", "netaddr", "cidr", "geo", "geodefault", "vpcdef", "trafficflow",
                   "obs_cli", "lazylog", "lightclass", "regions", "rrtypes"),
    "mechanisms": ("store", "dnssec", "snapshot", "fallback", "ref", "core", "dataplane",
                   "outside", "httpio"),
    "services": ("api", "domains", "health", "xfr", "console"),
    "assembly": ("serving", "observability", "edge", "control"),
    "command": ("cli",),
}
RANK = {pkg: i for i, names in enumerate(LAYERS.values()) for pkg in names}


def module_name(path: pathlib.Path, src: pathlib.Path = SRC) -> str:
    parts = list(path.relative_to(src.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: pathlib.Path, modules: set[str], src: pathlib.Path = SRC) -> set[str]:
    """Every zonefront module `path` imports, wherever the statement sits."""
    name = module_name(path, src)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for a in node.names:  # `from . import model` imports zonefront.model
                sub = f"{target}.{a.name}"
                found.add(sub if sub in modules else target)
    return {m for m in found if m == "zonefront" or m.startswith("zonefront.")}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "zonefront"


def module_graph(src: pathlib.Path = SRC) -> dict[str, set[str]]:
    paths = sorted(src.rglob("*.py"))
    modules = {module_name(p, src) for p in paths}
    return {module_name(p, src): imports_of(p, modules, src) for p in paths}


def package_graph(modules: dict[str, set[str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for mod, targets in modules.items():
        src = package_of(mod)
        graph.setdefault(src, set())
        for t in targets:
            dst = package_of(t)
            if dst not in (src, "zonefront"):  # the root package holds only __version__
                graph[src].add(dst)
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_walker_sees_every_kind_of_import(tmp_path):
    """The walker itself, on a made-up tree: an import inside a function,
    `from .. import x`, `from ..pkg.mod import y` and `import zonefront.z`
    are all found (else the tests below could pass on a blind walker), and
    a cycle through a third package is one."""
    root = tmp_path / "zonefront"
    for rel, text in {
        "__init__.py": "",
        "cli.py": "",
        "model.py": "",
        "api/__init__.py": "",
        "api/server.py": "def f():\n    from ..store import rows\n",
        "store/__init__.py": "",
        "store/rows.py": "from .. import model\nimport zonefront.edge.hub\n",
        "edge/__init__.py": "",
        "edge/hub.py": "from ..api.server import f\nclass C:\n    def g(self):\n"
                       "        from .. import cli\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    modules = module_graph(root)
    assert modules["zonefront.api.server"] == {"zonefront.store.rows"}
    assert modules["zonefront.store.rows"] == {"zonefront.model", "zonefront.edge.hub"}
    assert modules["zonefront.edge.hub"] == {"zonefront.api.server", "zonefront.cli"}
    graph = package_graph(modules)
    assert graph["api"] == {"store"} and graph["edge"] == {"api", "cli"}
    assert "api" in reachable(graph, "edge") and "edge" in reachable(graph, "api")


def cycle_in(graph: dict[str, set[str]]) -> list[str]:
    """One circle of the graph (its first node repeated at the end), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(n: str) -> list[str]:
        state[n] = 1
        path.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        path.pop()
        state[n] = 2
        return []

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return []


def test_cycle_finder():
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_nothing_imports_cli():
    offenders = sorted(m for m, targets in module_graph().items()
                       if "zonefront.cli" in targets and m != "zonefront.cli")
    assert offenders == [], f"modules importing zonefront.cli: {offenders}"


def test_every_package_has_a_layer():
    unplaced = sorted(set(package_graph(module_graph())) - set(RANK) - {"zonefront"})
    assert unplaced == [], f"place these in LAYERS: {unplaced}"


def test_no_upward_import():
    modules = module_graph()
    upward = sorted(f"{m} -> {t}" for m, targets in modules.items() for t in targets
                    if package_of(t) in RANK and package_of(m) in RANK
                    and RANK[package_of(t)] > RANK[package_of(m)])
    assert upward == [], "imports pointing up a layer:\n  " + "\n  ".join(upward)


def test_no_cycle_between_packages():
    graph = package_graph(module_graph())
    circle = cycle_in(graph)
    assert circle == [], f"packages importing each other in a circle: {' -> '.join(circle)}"


def test_print_layer_map():
    """`pytest tests/test_import_layers.py -s` shows each layer, top first,
    and what each package imports."""
    graph = package_graph(module_graph())
    width = max(map(len, graph))
    print()
    for layer, names in reversed(list(LAYERS.items())):
        print(f"{layer}:")
        for pkg in names:
            if pkg in graph:
                print(f"  {pkg:<{width}} -> {' '.join(sorted(graph[pkg])) or '-'}")
    assert "cli" not in set().union(*graph.values())
