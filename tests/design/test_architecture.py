"""The rules docs/architecture.md states, enforced by reading the imports.

Every ``import`` in the product (module level or inside a function: a lazy
import is still a dependency) is parsed from the source, so a rule cannot
be dodged by importing late. The third rule runs a real dump grading in a
fresh interpreter and looks at what it loaded.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("grader", "checks")
#: What talks to a cluster: the API client, its transport, and our readers of it.
CLUSTER_CLIENTS = ("kubernetes", "urllib3", "websocket", "dns", "grader.sources.live", "grader.sources.exec_ws",
                   "grader.sources.dns_probe", "grader.sources.portforward")
SOURCES = ("grader.sources",) + CLUSTER_CLIENTS


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


MODULES = product_modules()


def _runtime_nodes(tree: ast.AST):
    """Every node but those under ``if TYPE_CHECKING:`` (names for type
    hints only: no module is loaded, so no dependency at run time)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                stack.extend(child.orelse)
                continue
            stack.append(child)


def imports(path: Path) -> list[tuple[str, tuple[str, ...], int]]:
    """(module, names imported from it, line) for every import in ``path``."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out = []
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, (), node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = tuple(a.name for a in node.names)
            out.append((base, names, node.lineno))
            # ``from grader.sources import live`` imports the module grader.sources.live
            out += [(f"{base}.{n}", (), node.lineno) for n in names if f"{base}.{n}" in MODULES]
    return out


def reaches(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def violations(modules: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for name, path in MODULES.items():
        if not reaches(name, (modules,)):
            continue
        for target, _, line in imports(path):
            if reaches(target, forbidden):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    return bad


def test_checks_never_reach_the_api_client():
    """A check sees a ClusterView and nothing else: that is what makes a
    dump and a live cluster grade alike."""
    assert violations("checks", SOURCES) == []


def test_reporters_never_reach_sources():
    """A report is a pure function of the GradeReport: it cannot re-read
    a cluster or a dump behind the engine's back."""
    assert violations("grader.report", SOURCES) == []


def test_dump_grading_never_imports_kubernetes():
    """Grading a dump loads neither the API client nor its transport, so a
    laptop without cluster access grades at full speed (the client's
    generated models alone take a good part of a second to import)."""
    examples = ROOT / "examples" / "service-discovery" / "correct"
    code = (
        "import sys\n"
        "from grader import cli\n"
        f"code = cli.main(['grade', '--rubric', 'service-discovery', '--snapshot', {str(examples / 'built.yaml')!r},"
        f" '--snapshot', {str(examples / 'cleaned.yaml')!r}, '-q', '--no-color'])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'urllib3', 'websocket', 'dns'))\n"
        "print('LOADED', code, ' '.join(loaded))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    line = next(l for l in run.stdout.splitlines() if l.startswith("LOADED"))
    assert line.split()[1:] == ["0"], run.stdout + run.stderr


def test_no_module_imports_another_modules_private_names():
    bad = []
    for name, path in MODULES.items():
        for target, names, line in imports(path):
            if not reaches(target, PACKAGES) or target == name:
                continue
            bad += [f"{path.relative_to(ROOT)}:{line} imports {target}.{n}" for n in names
                    if n.startswith("_") and not n.startswith("__")]
    assert bad == []


def test_no_import_circles_outside_the_check_registry():
    """The registry imports the check modules to register them and they
    import its decorator: the one circle by design. Any other circle means
    two modules are really one, or one holds something both need."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, _, _ in imports(path):
            if target in MODULES and target != name:
                graph[name].add(target)
    allowed = {"checks.registry"}
    circles = []

    def visit(node: str, stack: list[str], on_stack: set[str], done: set[str]) -> None:
        on_stack.add(node)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt in on_stack:
                cycle = stack[stack.index(nxt):]
                if not allowed & set(cycle) and not all(m == "checks" or m.startswith("checks.") for m in cycle):
                    circles.append(" -> ".join(cycle + [nxt]))
            elif nxt not in done:
                visit(nxt, stack, on_stack, done)
        stack.pop()
        on_stack.discard(node)
        done.add(node)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [], set(), done)
    assert circles == []
