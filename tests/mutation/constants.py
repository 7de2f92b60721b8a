"""Mutants of module-level tables and constants, which mutmut 3 does not mutate (it mutates function bodies).

For each target module: drop one member of a set literal, drop one entry of a dict literal, move an
integer constant (also a dict's integer value) by ±1 — then run the module's focused tests against it,
in this process (the imports are paid once). A mutant is killed when the tests fail. Run by scripts/mutation.sh (target
``constants``); prints one line per mutant and a kill rate per module.

    .venv/bin/python tests/mutation/constants.py [module ...]
"""

from __future__ import annotations

import ast
import contextlib
import copy
import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {
    # the tables alone: the through-the-API case needs the app, and the role tests cover it
    "hydronet/auth/permissions.py": ["tests/auth/test_permissions_table.py", "-k", "not through_the_api"],
    "hydronet/auth/tokens.py": ["tests/auth/test_tokens.py", "tests/auth/test_auth.py"],
}


def _top_level_values(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            yield node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            yield node.target.id, node.value


def mutants(source: str) -> Iterator[tuple[str, str]]:
    """(description, mutated source) for every table member and integer constant at module level."""
    tree = ast.parse(source)
    for index, (name, value) in enumerate(_top_level_values(tree)):
        for path, node in _walk(value):
            if isinstance(node, ast.Set):
                for i, elt in enumerate(node.elts):
                    yield (
                        f"{name}: drop {ast.unparse(elt)}",
                        _replace(tree, index, path, lambda n, i=i: _without(n, "elts", i)),
                    )
            elif isinstance(node, ast.Dict):
                for i, key in enumerate(node.keys):
                    if key is not None:
                        yield (
                            f"{name}: drop entry {ast.unparse(key)}",
                            _replace(tree, index, path, lambda n, i=i: _without_entry(n, i)),
                        )
            elif isinstance(node, ast.Constant) and type(node.value) is int:
                for delta in (-1, 1):
                    yield (
                        f"{name}: {node.value} → {node.value + delta}",
                        _replace(tree, index, path, lambda n, d=delta: ast.Constant(n.value + d)),
                    )


def _walk(node: ast.AST, path: tuple = ()) -> Iterator[tuple[tuple, ast.AST]]:
    yield path, node
    for field, value in ast.iter_fields(node):
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, ast.AST):
                    yield from _walk(item, (*path, field, i))
        elif isinstance(value, ast.AST):
            yield from _walk(value, (*path, field))


def _replace(tree: ast.Module, index: int, path: tuple, change) -> str:
    mutated = copy.deepcopy(tree)
    holders = [
        n
        for n in mutated.body
        if isinstance(n, (ast.Assign, ast.AnnAssign))
        and getattr(n, "value", None) is not None
        and (
            isinstance(getattr(n, "target", None), ast.Name)
            or (isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name))
        )
    ]
    holder = holders[index]
    parent, attr = holder, "value"
    node = holder.value
    for step in path:
        if isinstance(step, int):
            parent, attr = getattr(parent, attr), step
            node = parent[step]
        else:
            parent, attr = node, step
            node = getattr(node, step)
    new = change(node)
    if isinstance(attr, int):
        parent[attr] = new
    else:
        setattr(parent, attr, new)
    return ast.unparse(ast.fix_missing_locations(mutated))


def _without(node: ast.AST, field: str, i: int) -> ast.AST:
    clone = copy.deepcopy(node)
    del getattr(clone, field)[i]
    return clone


def _without_entry(node: ast.Dict, i: int) -> ast.Dict:
    clone = copy.deepcopy(node)
    del clone.keys[i]
    del clone.values[i]
    return clone


def run(module: str, args: list[str]) -> tuple[int, int, list[str]]:
    """Every mutant of ``module``, each executed into the live module, the tests rerun in this process.

    Functions keep reading the module's globals, so a mutated table takes effect everywhere it is
    used; the test modules are imported afresh for each mutant, so they see it too.
    """
    name = module.removesuffix(".py").replace("/", ".")
    live = importlib.import_module(name)
    source = (ROOT / module).read_text(encoding="utf-8")
    test_modules = [a.removesuffix(".py").replace("/", ".") for a in args if a.endswith(".py")]
    killed = total = 0
    survivors = []
    try:
        for description, mutated in mutants(source):
            total += 1
            exec(compile(mutated, str(ROOT / module), "exec"), live.__dict__)
            for test_module in test_modules:
                sys.modules.pop(test_module, None)
            with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
                code = pytest.main(["-p", "no:randomly", "-p", "no:cacheprovider", "-x", "-q", *args])
            dead = code != 0
            killed += dead
            print(f"{'killed  ' if dead else 'SURVIVED'} {module} {description}", flush=True)
            if not dead:
                survivors.append(description)
    finally:
        exec(compile(source, str(ROOT / module), "exec"), live.__dict__)
    return killed, total, survivors


def main(argv: list[str]) -> int:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    for module in argv or list(TARGETS):
        killed, total, survivors = run(module, TARGETS[module])
        print(
            f"{module}: {killed}/{total} module-level mutants killed"
            + (f"; survived: {'; '.join(survivors)}" if survivors else ""),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
