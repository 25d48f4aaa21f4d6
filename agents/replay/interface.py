"""What crosses a replay memory's interface (docs/design.md: rooms; chapter 70): the sampled
:class:`Batch` and the checks of the constructor's arguments."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import numpy as np

NEXT_STEP_NAMES = {"next_step", "nextstep"}
MANUAL_RESET_NAMES = {"same_step", "samestep", "disabled"}


class Batch(NamedTuple):
    """A sampled mini-batch; every field has the batch as its leading axis."""

    obs: np.ndarray
    actions: np.ndarray
    returns: np.ndarray
    next_obs: np.ndarray
    discounts: np.ndarray
    weights: np.ndarray
    indices: np.ndarray
    # only for a loss over the steps that follow (SPR; agents.replay.futures)
    future_obs: Optional[np.ndarray] = None
    future_actions: Optional[np.ndarray] = None
    future_mask: Optional[np.ndarray] = None


def check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_float(name: str, value: Any, low: float, high: float = float("inf")) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}") from None
    if not low <= number <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    return number


def resolve_autoreset(mode: Any) -> bool:
    """True for next-step auto-reset; accepts strings and gymnasium's ``AutoresetMode``."""
    name = str(getattr(mode, "value", mode)).lower()
    if name in NEXT_STEP_NAMES:
        return True
    if name in MANUAL_RESET_NAMES:
        return False
    raise ValueError(
        f"unknown autoreset_mode {mode!r}; choose one of ['next_step', 'same_step', 'disabled']"
    )
