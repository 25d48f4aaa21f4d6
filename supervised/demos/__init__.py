"""Chapter demos of the book, registered by chapter key (`scripts/demo.py --list`).

Each demo module (ch06_perceptron.py, ch18_cross_entropy.py, ...) registers a function with
`@register("ch18", "Entropia Cruzada ...", "Cross-entropy ...")`. The function receives a
`DemoContext` (data choice, quick flag, seed, device, run directory, logger) and prints
`book: X | measured: Y | data: D` for every figure the chapter gives.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Callable

from lab.config import ConfigError


@dataclasses.dataclass(frozen=True)
class Demo:
    key: str
    title_pt: str
    title_en: str
    function: Callable


_REGISTRY: dict[str, Demo] = {}


def register(key: str, title_pt: str, title_en: str) -> Callable[[Callable], Callable]:
    """Decorator: make `function(ctx)` the demo for chapter key `key` (e.g. 'ch18')."""

    def decorate(function: Callable) -> Callable:
        if key in _REGISTRY:
            raise ValueError(f"demo {key} registered twice")
        _REGISTRY[key] = Demo(key, title_pt, title_en, function)
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
        names = ", ".join(d.key for d in available()) or "(none yet)"
        raise ConfigError(f"unknown demo '{key}'; available: {names}")
    return _REGISTRY[key]


def run(key: str, **options) -> dict:
    """Run demo `key`; options are those of `supervised.demo_context.DemoContext`."""
    demo = get(key)
    from supervised.demo_context import DemoContext

    with DemoContext.create(key, **options) as ctx:
        demo.function(ctx)
        return ctx.finish()


def tally(results: list[dict]) -> str:
    """One line counting the verdicts of every figure in `results` (what `run` returns)."""
    from supervised.demo_context import VERDICTS

    counts = dict.fromkeys(VERDICTS, 0)
    for result in results:
        for figure in result["figures"]:
            counts[figure["verdict"]] += 1
    total = sum(counts.values())
    return (f"tally over {len(results)} demos, {total} figures: "
            + ", ".join(f"{n} {verdict}" for verdict, n in counts.items()))
