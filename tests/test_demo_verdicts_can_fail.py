"""No chapter demo judges a figure with a verdict that cannot come out otherwise: a `matches=`
that is the literal True, or a comparison whose sides are all constants (the book's figure
compared with itself, or with a value the demo set to it). A restated setting is reported
`by_construction=True` instead, which the tally never counts as a match."""

from __future__ import annotations

import ast
from pathlib import Path

from supervised.demo_context import VERDICTS, Figure

DEMOS = sorted((Path(__file__).resolve().parents[1] / "supervised" / "demos").glob("ch*.py"))


def _assigned_once(scope: ast.AST) -> dict[str, ast.AST]:
    """name -> the value of its only plain assignment in `scope` (names bound twice are left out)."""
    values: dict[str, ast.AST | None] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for name in (target.elts if isinstance(target, ast.Tuple) else [target]):
                    if isinstance(name, ast.Name):
                        single = isinstance(target, ast.Name)
                        values[name.id] = node.value if name.id not in values and single else None
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.comprehension)):
            for name in ast.walk(node.target):
                if isinstance(name, ast.Name):
                    values[name.id] = None
        elif isinstance(node, ast.arguments):
            for arg in node.args + node.kwonlyargs + node.posonlyargs:
                values[arg.arg] = None
    return {name: value for name, value in values.items() if value is not None}


def _constant(node: ast.AST, names: dict[str, ast.AST], seen: frozenset = frozenset()) -> bool:
    """True when `node` is worked out from literals and names bound to literals only."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        value = names.get(node.id)
        return value is not None and node.id not in seen and _constant(value, names, seen | {node.id})
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_constant(e, names, seen) for e in node.elts)
    if isinstance(node, ast.BinOp):
        return _constant(node.left, names, seen) and _constant(node.right, names, seen)
    if isinstance(node, ast.UnaryOp):
        return _constant(node.operand, names, seen)
    if isinstance(node, (ast.BoolOp, ast.Compare)):
        parts = node.values if isinstance(node, ast.BoolOp) else [node.left, *node.comparators]
        return all(_constant(p, names, seen) for p in parts)
    return False


def _cannot_fail(value: ast.AST, names: dict[str, ast.AST]) -> bool:
    if isinstance(value, ast.Name) and value.id in names:
        return _cannot_fail(names[value.id], names)
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "bool" and value.args:
        return _cannot_fail(value.args[0], names)
    if isinstance(value, ast.Constant):
        return value.value is True
    if isinstance(value, ast.Compare):
        sides = [value.left, *value.comparators]
        same = len({ast.dump(side) for side in sides}) < len(sides)
        return same or _constant(value, names)
    if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.And):
        return all(_cannot_fail(v, names) for v in value.values)
    return False


def verdicts_that_cannot_fail(source: str) -> list[int]:
    """Line numbers of the `matches=` in `source` that are true whatever the run measures."""
    tree = ast.parse(source)
    module_names = _assigned_once(ast.Module(body=[s for s in tree.body if isinstance(s, ast.Assign)],
                                             type_ignores=[]))
    found = []
    for function in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
        names = {**module_names, **_assigned_once(function)}
        for call in [n for n in ast.walk(function) if isinstance(n, ast.Call)]:
            for keyword in call.keywords:
                if keyword.arg == "matches" and _cannot_fail(keyword.value, names):
                    found.append(keyword.value.lineno)
    return sorted(set(found))


def test_the_scan_finds_the_verdicts_that_cannot_fail():
    assert verdicts_that_cannot_fail("def demo(ctx):\n    ctx.report('a', 1, 1, matches=True)\n") == [2]
    assert verdicts_that_cannot_fail("N = 8\ndef demo(ctx):\n    heads = N\n"
                                     "    ctx.report('heads', N, heads, matches=heads == N)\n") == [4]
    assert verdicts_that_cannot_fail("def demo(ctx, x):\n    ok = x.n == x.n\n"
                                     "    ctx.report('n', 1, x.n, matches=ok)\n") == [3]
    assert verdicts_that_cannot_fail("N = 8\ndef demo(ctx, model):\n    heads = model.heads\n"
                                     "    ctx.report('heads', N, heads, matches=heads == N)\n") == []


def test_no_demo_judges_a_figure_with_a_verdict_that_cannot_fail():
    found = {path.name: lines for path in DEMOS if (lines := verdicts_that_cannot_fail(path.read_text()))}
    assert not found, f"matches= that cannot be False (line numbers); measure, or report by_construction=True: {found}"


def test_by_construction_is_its_own_verdict_and_never_a_match():
    figure = Figure("heads", 8, 8, "exact", None, "the model was built with 8", by_construction=True)
    assert figure.verdict == VERDICTS[3] == "by construction" and figure.verdict != "match"
    assert figure.line().endswith("[by construction: the model was built with 8]")
