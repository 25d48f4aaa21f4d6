"""Build any of the book's networks from a short name and keyword options (all chapters).

Presets and chapter demos name a network (``"mlp"``, ``"nature_cnn"``, ...) and give its
options as plain keywords, so a YAML file can describe it.  Each network module registers
its class or builder function with :func:`register`; :func:`build` checks the options
against the builder's signature before calling it, so a typo in a preset stops with a
message naming the bad option and the allowed ones instead of a TypeError deep inside.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import nn

Builder = Callable[..., nn.Module]
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
        raise NetError(f"unknown net {kind!r}; available: {', '.join(available())}")
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
            raise NetError(f"unknown option {name!r} for net {kind!r}; allowed: {allowed}")
    for name, default in accepted.items():
        if default is inspect.Parameter.empty and name not in options:
            raise NetError(f"net {kind!r} needs option {name!r}; allowed: {allowed}")
    return entry.builder(**options)


def check_choice(what: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise a NetError naming both."""
    choices = list(choices)
    if value not in choices:
        shown = ", ".join("None" if choice is None else str(choice) for choice in choices)
        raise NetError(f"unknown {what} {value!r}; choose one of: {shown}")
    return value


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters in ``module`` (only those that require grad by default)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
