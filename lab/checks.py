"""The range checks of a setting, with their messages in the user's language (issue 29;
docs/design.md: command-line conventions).

Every config section (``agents``' dataclasses, the replay's, an environment's options, a
network's options) checks its values with these few functions instead of writing its own
English sentence, so one wording per kind of check is translated once in the catalogue::

    within("agent.tau", self.tau, 0, 1, low_open=True)  # agent.tau must be in (0, 1], got 2.0
    at_least("agent.n_step", self.n_step, 1)             # agent.n_step must be >= 1, got 0
    positive("agent.lr", self.lr)                        # agent.lr must be a finite number > 0, got -1
    one_of("observation", observation, ("index", "cells"))  # unknown observation 'x'; choose one of: ...
    require(self.atoms >= 2, tr("agent.atoms must be >= 2 ..."))  # a one-off, worded where it is checked

The message starts with the key, as the user typed it, so ``lab.config.from_dict`` adds only
``config:`` in front. A value is shown as typed (2.0, 'abc'), never with a decimal comma: it is
what the user gave and may copy back. Each check raises ``error`` (ValueError by default; the
networks pass ``nets.registry.NetError``) and returns the value, so it may be used inline.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

from lab.i18n import tr


def shown(value: Any) -> str:
    """A value as a person typed it: numbers bare (2.0, not np.float64(2.0)), anything else repr'd."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return str(value.item() if hasattr(value, "item") else value)
    return repr(value)


def require(condition: Any, message: str, error: type[Exception] = ValueError) -> None:
    """Raise `error(message)` unless `condition`; `message` is already translated (tr(...).format(...))."""
    if not condition:
        raise error(message)


def interval(low: float | None, high: float | None, low_open: bool = False, high_open: bool = False) -> str:
    """'[0, 1]', '(0, 1]', '[0, 1)' ...; a missing bound is infinite (and open)."""
    left = "(" if low is None or low_open else "["
    right = ")" if high is None or high_open else "]"
    return f"{left}{'-inf' if low is None else shown(low)}, {'inf' if high is None else shown(high)}{right}"


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isnan(value)


def within(key: str, value: Any, low: float | None = None, high: float | None = None, *, low_open: bool = False,
           high_open: bool = False, error: type[Exception] = ValueError) -> Any:
    """`value` is a number in the interval from `low` to `high` (None: unbounded on that side)."""
    inside = _number(value) and (low is None or (value > low if low_open else value >= low)) and \
        (high is None or (value < high if high_open else value <= high))
    require(inside, tr("{key} must be in {interval}, got {value}").format(
        key=key, interval=interval(low, high, low_open, high_open), value=shown(value)), error)
    return value


def at_least(key: str, value: Any, least: float, error: type[Exception] = ValueError) -> Any:
    """`value` is a number >= `least` (a count: 1; an amount that may be none: 0)."""
    require(_number(value) and value >= least, tr("{key} must be >= {least}, got {value}").format(
        key=key, least=shown(least), value=shown(value)), error)
    return value


def at_most(key: str, value: Any, most: float, error: type[Exception] = ValueError) -> Any:
    """`value` is a number <= `most`."""
    require(_number(value) and value <= most, tr("{key} must be <= {most}, got {value}").format(
        key=key, most=shown(most), value=shown(value)), error)
    return value


def positive(key: str, value: Any, error: type[Exception] = ValueError) -> Any:
    """`value` is a finite number > 0 (a learning rate, a scale)."""
    require(_number(value) and math.isfinite(value) and value > 0,
            tr("{key} must be a finite number > 0, got {value}").format(key=key, value=shown(value)), error)
    return value


def finite(key: str, value: Any, error: type[Exception] = ValueError) -> Any:
    """`value` is a finite number (no NaN, no infinity)."""
    require(_number(value) and math.isfinite(value),
            tr("{key} must be a finite number, got {value}").format(key=key, value=shown(value)), error)
    return value


def whole(key: str, value: Any, least: int, error: type[Exception] = ValueError) -> int:
    """`value` is a whole number (3 or 3.0; not a flag, not 2.5) >= `least`; returned as an int."""
    is_whole = (isinstance(value, numbers.Integral) and not isinstance(value, bool)) or \
        (isinstance(value, float) and value.is_integer())
    require(is_whole and value >= least, tr("{key} must be an integer >= {least}, got {value}").format(
        key=key, least=least, value=shown(value)), error)
    return int(value)


def one_of(key: str, value: Any, choices: Iterable[Any], error: type[Exception] = ValueError) -> Any:
    """`value` is one of `choices` (listed in the message as a user types them); `key` names what
    is chosen (an option's name: 'cell', 'Atari protocol')."""
    choices = list(choices)
    require(value in choices and not (isinstance(value, bool) and not any(c is value for c in choices)),
            unknown(key, value, choices), error)
    return value


def unknown(key: str, value: Any, choices: Iterable[Any]) -> str:
    """The message of `one_of`, for a caller that finds out itself that `value` is no choice."""
    return tr("unknown {key} {value}; choose one of: {choices}").format(
        key=key, value=shown(value), choices=", ".join("null" if c is None else str(c) for c in choices))
