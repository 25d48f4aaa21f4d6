"""Chapter demos of the book, registered by chapter key (`scripts/demo.py --list`).

Each demo module (ch06_perceptron.py, ch18_cross_entropy.py, ...) registers a function with
`@register("ch18", "Entropia Cruzada ...", "Cross-entropy ...")`. The function receives a
`DemoContext` (data choice, quick flag, seed, device, run directory, logger) and prints
`book: X | measured: Y | data: D` for every figure the chapter gives.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import inspect
import pkgutil
from typing import Callable

from lab.config import ConfigError
from lab.i18n import tr


@dataclasses.dataclass(frozen=True)
class Demo:
    key: str
    title_pt: str
    title_en: str
    function: Callable
    check: Callable[[dict], None] | None = None


_REGISTRY: dict[str, Demo] = {}


def register(key: str, title_pt: str, title_en: str,
             check: Callable[[dict], None] | None = None) -> Callable[[Callable], Callable]:
    """Decorator: make `function(ctx)` the demo for chapter key `key` (e.g. 'ch18').

    `check(settings)`, given the demo's `--set` values as a dict, raises a ConfigError for bad
    input (a folder that is not one, say) before the run directory is written."""

    def decorate(function: Callable) -> Callable:
        if key in _REGISTRY:
            raise ValueError(f"demo {key} registered twice")
        _REGISTRY[key] = Demo(key, title_pt, title_en, function, check)
        return function

    return decorate


def _load_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("ch"):
            importlib.import_module(f"{__name__}.{module.name}")


def _chapter_order(key: str) -> tuple:
    digits = "".join(c if c.isdigit() else " " for c in key).split()
    return tuple(int(d) for d in digits) or (10**6,)


def available() -> list[Demo]:
    """Every demo, in chapter order."""
    _load_all()
    return sorted(_REGISTRY.values(), key=lambda d: _chapter_order(d.key))


def get(key: str) -> Demo:
    _load_all()
    if key not in _REGISTRY:
        names = ", ".join(d.key for d in available()) or tr("(none yet)")
        raise ConfigError(tr("unknown demo '{key}'; available: {names}").format(key=key, names=names))
    return _REGISTRY[key]


@functools.lru_cache(maxsize=None)
def _knobs_in_module(module_name: str) -> dict[str, object]:
    """{name: an example value, or None} for every knob the module reads, from its syntax tree:
    `setting(ctx, "epochs", 30, 5)`, `ctx.options.get("eta", 0.5)`, `ctx.options["x"]`,
    `"x" in ctx.options`."""
    tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
    found: dict[str, object] = {}

    def note(name_node: ast.AST, example: ast.AST | None = None) -> None:
        if isinstance(name_node, ast.Constant) and isinstance(name_node.value, str):
            try:
                value = ast.literal_eval(example) if example is not None else None
            except ValueError:
                value = None
            if found.get(name_node.value) is None:
                found[name_node.value] = value

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setting" \
                and len(node.args) >= 3:
            note(node.args[1], node.args[2])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and _is_options(node.func.value) and node.args:
            note(node.args[0], node.args[1] if len(node.args) > 1 else None)
        elif isinstance(node, ast.Subscript) and _is_options(node.value):
            note(node.slice)
        elif isinstance(node, ast.Compare) and any(_is_options(c) for c in node.comparators):
            note(node.left)
    return found


def _is_options(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "options"


def knobs(key: str) -> dict[str, object]:
    """The `--set` names demo `key` reads, with an example value where its source gives one."""
    return _knobs_in_module(get(key).function.__module__)


def check_overrides(keys: list[str], overrides: list[str] | None) -> None:
    """Refuse a `--set name=value` that none of the demos `keys` reads, or whose value cannot
    become the type of the demo's own value, before anything is written."""
    from lab.config import parse_overrides
    from supervised.demos._training import convert_setting

    readable: dict[str, object] = {}
    for key in keys:
        for name, example in knobs(key).items():
            readable.setdefault(name, example)
    for name, value in parse_overrides(overrides or []).items():
        if name not in readable:
            message = (tr("--set {name}: demo {demo} has no such setting; settings: {settings}") if len(keys) == 1
                       else tr("--set {name}: no demo has such a setting; settings: {settings}"))
            raise ConfigError(message.format(name=name, demo=keys[0],
                                             settings=", ".join(sorted(readable)) or tr("none")))
        convert_setting(name, value, readable[name])


def run(key: str, *, shared_overrides: bool = False, **options) -> dict:
    """Run demo `key`; options are those of `supervised.demo_context.DemoContext`.

    With `shared_overrides` (what `--all` passes) the `overrides` are one list for every demo: a
    name must be read by some demo, and each demo gets only the ones it reads."""
    demo = get(key)
    overrides = options.get("overrides") or []
    check_overrides([d.key for d in available()] if shared_overrides else [key], overrides)
    options["overrides"] = [item for item in overrides if item.split("=", 1)[0].split(".")[0] in knobs(key)]
    if demo.check is not None:
        from lab.config import parse_overrides

        demo.check(parse_overrides(options["overrides"]))
    from supervised.demo_context import DemoContext

    with DemoContext.create(key, **options) as ctx:
        demo.function(ctx)
        return ctx.finish()


def tally(results: list[dict]) -> str:
    """One line counting the four verdicts of every figure in `results` (what `run` returns):
    match, differs, not comparable, and by construction (a restated setting, not a match)."""
    from supervised.demo_context import VERDICTS

    counts = dict.fromkeys(VERDICTS, 0)
    for result in results:
        for figure in result["figures"]:
            counts[figure["verdict"]] += 1
    total = sum(counts.values())
    return (tr("tally over {demos} demos, {figures} figures: ").format(demos=len(results), figures=total)
            + ", ".join(f"{n} {tr(verdict)}" for verdict, n in counts.items()))
