"""The shape of the code: import cycles between modules, the largest modules and
the longest functions of the production packages (migrations left out).

    .venv/bin/python bench/structure.py [--ref REV ...]

Cycles are the strongly connected parts of the module import graph that
import-linter builds (grimp), lazy imports inside functions included. With
``--ref`` (repeatable) the figures of that revision (checked out into a
temporary worktree) come first, for a before and after. Output: ``bench/results/structure.txt``.
"""

import argparse
import ast
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("portal", "search", "branches", "volunteers", "alliance")
MODULE_LIMIT = 600
FUNCTION_LIMIT = 80


def cycles(root: Path) -> list[list[str]]:
    """Import cycles between modules (Tarjan's strongly connected components)."""
    code = (
        "import sys, json, grimp\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        f"g = grimp.build_graph(*{PACKAGES!r})\n"
        "print(json.dumps({m: sorted(g.find_modules_directly_imported_by(m)) for m in g.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    graph = json.loads(out.stdout)
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            part = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                part.append(other)
                if other == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def sizes(root: Path):
    modules, functions = [], []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            source = path.read_text()
            name = str(path.relative_to(root))
            modules.append((len(source.splitlines()), name))
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = node.end_lineno - node.lineno + 1
                    functions.append((length, f"{name}:{node.name}"))
    return sorted(modules, reverse=True), sorted(functions, reverse=True)


def report(root: Path, label: str) -> list[str]:
    found = cycles(root)
    modules, functions = sizes(root)
    lines = [
        f"## {label}",
        f"modules: {len(modules)}, lines: {sum(n for n, _ in modules)}",
        f"import cycles between modules: {len(found)}",
        *(f"  {len(part)}: {' '.join(part)}" for part in found),
        f"modules over {MODULE_LIMIT} lines: {sum(n > MODULE_LIMIT for n, _ in modules)}",
        "largest modules:",
        *(f"  {n:5d} {name}" for n, name in modules[:6]),
        f"functions over {FUNCTION_LIMIT} lines: {sum(n > FUNCTION_LIMIT for n, _ in functions)}",
        "longest functions:",
        *(f"  {n:5d} {name}" for n, name in functions[:6]),
        "",
    ]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ref",
        action="append",
        default=[],
        help="also measure this revision (e.g. before a change)",
    )
    args = parser.parse_args()
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    lines = [f"# Code structure, {dt.datetime.now():%Y-%m-%d %H:%M}", ""]
    for ref in args.ref:
        with tempfile.TemporaryDirectory() as tmp:
            tree = Path(tmp) / "tree"
            subprocess.run(
                ["git", "worktree", "add", "--detach", "-q", str(tree), ref], cwd=ROOT, check=True
            )
            try:
                lines += report(tree, ref)
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    lines += report(ROOT, f"HEAD ({head})")
    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench" / "results" / "structure.txt"
    out.write_text(text + "\n")
    print(f"written to {os.path.relpath(out)}")


if __name__ == "__main__":
    main()
