"""What crosses a replay memory's interface (docs/design.md: rooms; chapter 70): the sampled
:class:`Batch` and the checks of the constructor's arguments."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import numpy as np

from lab.checks import unknown, whole, within

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
    """`value` as an int, refused (ValueError, in the user's language) unless a whole number >= `minimum`."""
    return whole(name, value, minimum)


def check_float(name: str, value: Any, low: float, high: float | None = None) -> float:
    """`value` as a float, refused unless a number in [low, high] (no `high`: unbounded)."""
    return float(within(name, value, low, high))


def resolve_autoreset(mode: Any) -> bool:
    """True for next-step auto-reset; accepts strings and gymnasium's ``AutoresetMode``."""
    name = str(getattr(mode, "value", mode)).lower()
    if name in NEXT_STEP_NAMES:
        return True
    if name in MANUAL_RESET_NAMES:
        return False
    raise ValueError(unknown("autoreset_mode", mode, ("next_step", "same_step", "disabled")))
