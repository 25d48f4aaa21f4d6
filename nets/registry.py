"""Build any of the book's networks from a short name and keyword options (all chapters).

Presets and chapter demos name a network (``"mlp"``, ``"nature_cnn"``, ...) and give its
options as plain keywords, so a YAML file can describe it.  Each network module registers
its class or builder function with :func:`register`; :func:`build` checks the options
against the builder's signature before calling it, so a typo in a preset stops with a
message naming the bad option and the allowed ones instead of a TypeError deep inside.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import nn

from lab.checks import one_of, require, shown, within
from lab.i18n import tr

Builder = Callable[..., nn.Module]
#: whole-number options that may be 0; every other one counts something (a size, heads, layers): >= 1
#: (LeNet's `hidden=0` drops its fully connected hidden layer, the book's worked net of chapter 43)
MAY_BE_ZERO = {"padding", "n_segments", "pad_id", "hidden"}
#: the most any whole-number option may count (a vocabulary of a million words still fits), and
#: the most layers, heads or solver steps (each is built or run one by one)
MOST = 2**20
MOST_REPEATS = {"n_layers": 1024, "num_layers": 1024, "n_heads": 1024, "ode_unfolds": 1024}
B = TypeVar("B", bound=Builder)


class NetError(ValueError):
    """A network was asked for with a bad name, option or option value."""


@dataclass(frozen=True)
class _Entry:
    builder: Builder
    description: str


_REGISTRY: dict[str, _Entry] = {}


def register(kind: str, description: str) -> Callable[[B], B]:
    """Decorator: make ``builder(**options)`` available as ``nets.build(kind, **options)``."""

    def decorate(builder: B) -> B:
        _REGISTRY[kind] = _Entry(builder=builder, description=" ".join(description.split()))
        return builder

    return decorate


def available() -> list[str]:
    """Names of every registered network, sorted."""
    return sorted(_REGISTRY)


def describe() -> dict[str, str]:
    """``{name: one-line description}`` for every registered network, sorted by name."""
    return {kind: _REGISTRY[kind].description for kind in available()}


def options_of(kind: str) -> dict[str, Any]:
    """``{option: default}`` accepted by ``kind`` (``inspect.Parameter.empty`` = required)."""
    entry = _lookup(kind)
    return {
        name: parameter.default
        for name, parameter in inspect.signature(entry.builder).parameters.items()
        if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    }


def _lookup(kind: str) -> _Entry:
    entry = _REGISTRY.get(kind)
    if entry is None:
        raise NetError(tr("unknown net {kind}; available: {available}").format(
            kind=repr(kind), available=", ".join(available())))
    return entry


def build(kind: str, **options: Any) -> nn.Module:
    """Build the network registered as ``kind`` with the given keyword options.

    Raises :class:`NetError` (a ValueError) for an unknown kind, an unknown or missing
    option, or an option value outside its choices.
    """
    entry = _lookup(kind)
    accepted = options_of(kind)
    allowed = ", ".join(accepted)
    for name in options:
        if name not in accepted:
            raise NetError(tr("unknown option {name} for net {kind}; allowed: {allowed}").format(
                name=repr(name), kind=repr(kind), allowed=allowed))
    for name, default in accepted.items():
        if default is inspect.Parameter.empty and name not in options:
            raise NetError(tr("net {kind} needs option {name}; allowed: {allowed}").format(
                kind=repr(kind), name=repr(name), allowed=allowed))
    return entry.builder(**_checked_values(kind, entry.builder, options))


def _whole(value: Any) -> bool:
    return (isinstance(value, numbers.Integral) and not isinstance(value, bool)) or \
        (isinstance(value, float) and value.is_integer())


def _checked_values(kind: str, builder: Builder, options: dict[str, Any]) -> dict[str, Any]:
    """`options` with each value checked against its annotation (whole numbers that count
    something >= 1, real numbers finite, dropout in [0, 1), flags true or false) and whole
    floats made ints, so a bad value is a NetError naming it, not an error deep inside torch."""
    parameters = inspect.signature(builder).parameters
    checked = dict(options)
    for name, value in options.items():
        annotation = parameters[name].annotation
        annotation = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
        if value is None and annotation.endswith("| None"):
            continue
        base = annotation.removesuffix(" | None")
        least = 0 if name in MAY_BE_ZERO else 1
        most = MOST_REPEATS.get(name, MOST)
        if base == "int":
            wanted = tr("a positive integer") if least else tr("an integer >= 0")
            require(_whole(value) and least <= value <= most,
                    tr("net {kind}: option {name} must be {wanted} <= {most}, got {value}").format(
                        kind=repr(kind), name=name, wanted=wanted, most=most, value=shown(value)), NetError)
            checked[name] = int(value)
        elif base == "Sequence[int]":
            require(isinstance(value, (list, tuple)) and all(_whole(v) and 1 <= v <= most for v in value),
                    tr("net {kind}: option {name} must be a list of positive integers <= {most}, got {value}").format(
                        kind=repr(kind), name=name, most=most, value=shown(value)), NetError)
            checked[name] = [int(v) for v in value]
        elif base in ("float", "Sequence[float]"):
            values = value if base != "float" and isinstance(value, (list, tuple)) else [value]
            wanted = tr("a finite number") if base == "float" else tr("a list of finite numbers")
            require((base == "float" or isinstance(value, (list, tuple))) and all(
                    isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in values),
                    tr("net {kind}: option {name} must be {wanted}, got {value}").format(
                        kind=repr(kind), name=name, wanted=wanted, value=shown(value)), NetError)
            if name == "dropout":
                within(tr("net {kind}: option dropout").format(kind=repr(kind)), value, 0, 1, high_open=True,
                       error=NetError)
        elif base in ("bool", "str") and not isinstance(value, bool if base == "bool" else str):
            wanted = tr("true or false") if base == "bool" else tr("a name")
            raise NetError(tr("net {kind}: option {name} must be {wanted}, got {value}").format(
                kind=repr(kind), name=name, wanted=wanted, value=shown(value)))
    heads = {name: checked.get(name, parameters[name].default) for name in ("d_model", "n_heads") if name in parameters}
    if len(heads) == 2 and _whole(heads["d_model"]) and _whole(heads["n_heads"]) and heads["d_model"] % heads["n_heads"]:
        raise NetError(tr("net {kind}: d_model ({d_model}) must be divisible by n_heads ({n_heads})").format(
            kind=repr(kind), d_model=heads["d_model"], n_heads=heads["n_heads"]))
    return checked


def check_choice(what: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise a NetError naming both."""
    return one_of(what, value, choices, error=NetError)


def positive_ints(name: str, values: Any, minimum: int = 1) -> list[int]:
    """`values` as a list of ints, refused unless at least `minimum` whole numbers >= 1 (layer sizes)."""
    try:
        items = None if isinstance(values, (str, bytes, dict)) else list(values)
    except TypeError:
        items = None
    fits = items is not None and len(items) >= minimum and all(_whole(v) and v >= 1 for v in items)
    require(fits, tr("{name} must be a list of at least {minimum} positive integers, got {values}").format(
        name=name, minimum=minimum, values=shown(values)), NetError)
    return [int(v) for v in items]


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters in ``module`` (only those that require grad by default)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
