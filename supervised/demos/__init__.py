"""Chapter demos of the book, registered by chapter key (`scripts/demo.py --list`).

Each demo module (ch06_perceptron.py, ch18_cross_entropy.py, ...) registers a function with
`@register("ch18", "Entropia Cruzada ...", "Cross-entropy ...", settings=(Setting("epochs", 30, 8,
low=1), ...))`. The function receives a `DemoContext` (data choice, quick flag, seed, device,
run directory, logger, the demo's settings) and prints `book: X | measured: Y | data: D` for
every figure the chapter gives. A demo reads a setting with `setting(ctx, "epochs")`
(supervised.demos._training): the user's `--set epochs=...` if given, else the declared `--quick`
or full value. What a user gives is checked against the declaration before anything is written.
The keys and titles are also read without importing the modules (supervised.demos.catalogue), so
`--list` and an unknown name need no PyTorch, and a run imports only its demo's module.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import pkgutil
from typing import Any, Callable, Mapping, Sequence

from lab.config import ConfigError
from lab.i18n import N_, tr
# (chapter_number is this package's too: demos.chapter_number("ch45") is 45)
from supervised.demos.catalogue import chapter_number, chapter_order, entries, resolve

#: `Setting.quick` when the --quick value is the full one.
SAME = object()

#: How each kind of value is named in a refusal: (one value, several values).
_KIND_WORDS = {int: (N_("a whole number"), N_("whole numbers")), float: (N_("a number"), N_("numbers")),
               str: (N_("a text"), N_("texts")), bool: (N_("true or false"), N_("true or false values"))}


@dataclasses.dataclass(frozen=True)
class Setting:
    """One `--set name=value` a demo reads: its full (book-size) value, its `--quick` value, and
    what a user may give instead.

    `full` or `quick` None means the demo works the value out itself (all training images, say).
    `kind` is the type of a value (int, float, str or bool), by default that of `full` (else of
    `quick`); a tuple value means a non-empty tuple of such items. `low`/`high` bound a number
    (each item of a tuple) inclusively, `above`/`below` exclusively. `choices` are words allowed
    besides a number (for a str setting: the only words allowed). `check(value)` raises a
    ConfigError for anything else a value must be (an existing image folder, say)."""

    name: str
    full: Any
    quick: Any = SAME
    kind: type | None = None
    low: float | None = None
    high: float | None = None
    above: float | None = None
    below: float | None = None
    choices: tuple = ()
    check: Callable[[Any], None] | None = None

    def __post_init__(self) -> None:
        example = self.full if self.full is not None else self.quick
        if self.kind is None:
            item = example[0] if isinstance(example, tuple) else example
            if item is None or item is SAME:
                raise ValueError(f"setting {self.name!r}: give its kind, its values are worked out by the demo")
            object.__setattr__(self, "kind", type(item))
        object.__setattr__(self, "several", isinstance(example, tuple))
        for value in (self.full, self.quick):  # the declaration itself must be a value a user could give
            if value is not None and value is not SAME:
                self.convert(value, "(declaration)")

    def default(self, quick: bool) -> Any:
        return self.full if not quick or self.quick is SAME else self.quick

    def valid(self) -> str:
        """What a value must be, in words: 'a whole number >= 1', 'auto, scale or a number > 0'."""
        one, several = _KIND_WORDS.get(self.kind, (self.kind.__name__, self.kind.__name__))
        words = tr(N_("a list of {items}")).format(items=tr(several)) if self.several else tr(one)
        bounds = [f"{sign} {_number(limit)}" for sign, limit in
                  ((">=", self.low), (">", self.above), ("<=", self.high), ("<", self.below)) if limit is not None]
        if bounds:
            words += " " + tr(" and ").join(bounds)
        if self.choices and self.kind is str:
            return tr("one of: {choices}").format(choices=", ".join(self.choices))
        if self.choices:
            return tr("{choices} or {value}").format(choices=", ".join(self.choices), value=words)
        return words

    def convert(self, value: Any, demo: str) -> Any:
        """`value` (as `--set` parsed it) as this setting's kind; a one-line ConfigError naming
        the setting, the demo and what is valid when it cannot be or is out of range."""
        refused = ConfigError(tr("--set {name}={value}: demo {demo} needs {valid}").format(
            name=self.name, value=_shown(value), demo=demo, valid=self.valid()))
        if self.choices and isinstance(value, str) and value in self.choices:
            return value
        if self.several:
            items = value if isinstance(value, (list, tuple)) else \
                [part for part in str(value).strip("[]()").split(",") if part.strip()]
            if not items:
                raise refused
            converted = tuple(self._one(item, refused) for item in items)
        else:
            converted = self._one(value, refused)
        if self.check is not None:
            self.check(converted)
        return converted

    def _one(self, value: Any, refused: ConfigError) -> Any:
        if isinstance(value, str) and self.kind in (int, float):
            try:
                value = float(value.strip())
            except ValueError:
                raise refused from None
        if self.kind is bool:
            if not isinstance(value, bool):
                raise refused
            return value
        if self.kind is str:
            if isinstance(value, bool) or (self.choices and value not in self.choices):
                raise refused
            return str(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise refused
        if self.kind is int:
            if value != int(value):
                raise refused
            value = int(value)
        else:
            value = float(value)
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high) \
                or (self.above is not None and value <= self.above) or (self.below is not None and value >= self.below):
            raise refused
        return value


def _number(limit: float) -> str:
    return f"{limit:g}" if isinstance(limit, float) else f"{limit:,}" if abs(limit) >= 10_000 else str(limit)


def _shown(value: Any) -> str:
    return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, (list, tuple)) else str(value)


@dataclasses.dataclass(frozen=True)
class Demo:
    key: str
    title_pt: str
    title_en: str
    function: Callable
    settings: tuple[Setting, ...] = ()
    check: Callable[[Mapping[str, Any]], None] | None = None
    covers: tuple[str, ...] = ()

    def setting_names(self) -> list[str]:
        return [s.name for s in self.settings]

    def resolve(self, given: Mapping[str, Any], quick: bool) -> dict[str, Any]:
        """Every setting's value for this run: the given ones converted and checked, the others
        at their --quick or full value; refuses a name the demo does not declare."""
        declared = {s.name: s for s in self.settings}
        for name in given:
            if name not in declared:
                raise ConfigError(tr("--set {name}: demo {demo} has no such setting; its settings: {settings}").format(
                    name=name, demo=self.key, settings=", ".join(self.setting_names()) or tr("none")))
        values = {s.name: s.convert(given[s.name], self.key) if s.name in given else s.default(quick)
                  for s in self.settings}
        if self.check is not None:
            self.check(values)
        return values


_REGISTRY: dict[str, Demo] = {}


def register(key: str, title_pt: str, title_en: str, settings: Sequence[Setting] = (),
             check: Callable[[Mapping[str, Any]], None] | None = None,
             covers: Sequence[str] = ()) -> Callable[[Callable], Callable]:
    """Decorator: make `function(ctx)` the demo for chapter key `key` (e.g. 'ch18').

    `settings` are the `--set` names the demo reads (`setting(ctx, name)`), with their values
    and what is valid. `check(values)`, given every setting's value for the run, raises a
    ConfigError when they do not fit together (a code as wide as the image, say), before the run
    directory is written. `covers` names the other chapters the demo realises ("ch45" for the
    demo of chapters 44-45): `demo.py ch45` runs it."""

    def decorate(function: Callable) -> Callable:
        if key in _REGISTRY:
            raise ValueError(f"demo {key} registered twice")
        names = [s.name for s in settings]
        if len(set(names)) != len(names):
            raise ValueError(f"demo {key} declares a setting twice: {names}")
        _REGISTRY[key] = Demo(key, title_pt, title_en, function, tuple(settings), check, tuple(covers))
        return function

    return decorate


def _load_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("ch"):
            importlib.import_module(f"{__name__}.{module.name}")


def available() -> list[Demo]:
    """Every demo, in chapter order."""
    _load_all()
    return sorted(_REGISTRY.values(), key=lambda d: chapter_order(d.key))


def get(key: str) -> Demo:
    """The demo registered as `key` exactly (what `find` returns for a user's name); only its
    own module is imported (supervised.demos.catalogue knows which)."""
    entry = next((entry for entry in entries() if entry.key == key), None)
    if entry is None:
        raise ConfigError(tr("unknown demo '{name}'; --list shows every demo").format(name=key))
    importlib.import_module(entry.module)
    return _REGISTRY[key]


def find(name: str) -> Demo:
    """The demo a user means by `name` (`catalogue.resolve`: 'ch6', or 'ch45' for the demo ch44
    that covers it); an unknown name is a one-line ConfigError naming the nearest demos."""
    return get(resolve(name).key)


def check_overrides(keys: list[str], overrides: list[str] | None) -> None:
    """Refuse, before anything is written, a `--set name=value` that the demos `keys` do not
    declare, or whose value is not valid for a demo that declares it. For one demo the name must
    be one of its settings; for several (`--all`) one of them at least must declare it."""
    from lab.config import parse_overrides

    for item in overrides or []:
        name = item.split("=", 1)[0].strip()
        if "." in name:  # demo settings are flat; parse_overrides would nest it and name only its first part
            raise ConfigError(tr("--set {name}: demo settings have no dotted names").format(name=name))
    given = parse_overrides(overrides or [])
    chosen = [get(key) for key in keys]
    if len(chosen) == 1:
        chosen[0].resolve(given, quick=False)
        return
    declared = {s.name for demo in chosen for s in demo.settings}
    for name in given:
        if name not in declared:
            raise ConfigError(tr("--set {name}: no demo has such a setting; settings: {settings}").format(
                name=name, settings=", ".join(sorted(declared))))
    for demo in chosen:
        demo.resolve({name: value for name, value in given.items() if name in demo.setting_names()}, quick=False)


def run(key: str, *, shared_overrides: bool = False, **options) -> dict:
    """Run demo `key`; options are those of `supervised.demo_context.DemoContext`.

    With `shared_overrides` (what `--all` passes) the `overrides` are one list for every demo: a
    name must be declared by some demo, and each demo gets only the ones it declares."""
    from lab.config import parse_overrides

    demo = get(key)
    overrides = options.get("overrides") or []
    check_overrides([d.key for d in available()] if shared_overrides else [key], overrides)
    options["overrides"] = [item for item in overrides if item.split("=", 1)[0].strip() in demo.setting_names()]
    settings = demo.resolve(parse_overrides(options["overrides"]), quick=bool(options.get("quick")))
    from supervised.demo_context import DemoContext

    with DemoContext.create(key, settings=settings, **options) as ctx:
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
