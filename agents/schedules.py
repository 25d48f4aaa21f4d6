"""Exploration schedules (docs/design.md: rooms; chapters 68 and 70): how epsilon falls from
exploring to exploiting (chapter 68's explore/exploit trade-off; chapter 70's epsilon-greedy DQN).

A schedule maps progress t (steps or episodes, whichever the caller counts) to epsilon.
:func:`anneal_horizon_and_discount` is the other schedule of a learning agent here: BBF's
(Schwarzer et al. 2023) n-step horizon and discount, annealed after each network reset.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Literal

import numpy as np

from lab.checks import at_least, one_of, require, within
from lab.i18n import tr


@dataclasses.dataclass
class EpsilonSchedule:
    """epsilon(t) for t = 0, 1, 2, ...

    - ``linear``: from `start` to `end` in a straight line over `duration`, then `end`.
    - ``exponential``: start * decay**t with decay chosen so that epsilon(duration) = end,
      then `end` (the smooth decay many tutorials use).
    - ``constant``: always `start`.
    """

    kind: Literal["linear", "exponential", "constant"] = "linear"
    start: float = 1.0
    end: float = 0.05
    duration: int = 10_000

    def __post_init__(self) -> None:
        one_of(tr("epsilon schedule"), self.kind, ("linear", "exponential", "constant"))
        for name in ("start", "end"):
            within(f"epsilon {name}", getattr(self, name), 0, 1)
        require(self.kind != "exponential" or (self.start > 0 and self.end > 0),
                tr("an exponential epsilon schedule needs start > 0 and end > 0"))
        at_least("epsilon duration", self.duration, 1)

    def __call__(self, t: int) -> float:
        if self.kind == "constant":
            return self.start
        if t >= self.duration:
            return self.end
        fraction = t / self.duration
        if self.kind == "linear":
            return self.start + fraction * (self.end - self.start)
        return self.start * math.exp(fraction * math.log(self.end / self.start))


def geometric_anneal(t: int, duration: int, start: float, end: float) -> float:
    """From `start` at t = 0 to `end` at t >= duration, straight in log space (a constant ratio
    per step): BBF's schedule, the one of Dopamine's exponential_decay_scheduler."""
    if duration < 1 or t >= duration:
        return end
    fraction = max(t, 0) / duration
    return math.exp((1.0 - fraction) * math.log(start) + fraction * math.log(end))


def anneal_horizon_and_discount(t: int, duration: int, n_start: int, n_end: int, gamma_start: float,
                                gamma_end: float) -> tuple[int, float]:
    """BBF's (n, gamma) t updates after a reset: n falls geometrically from `n_start` to `n_end`
    (rounded to a whole step) while 1 - gamma falls geometrically from 1 - `gamma_start` to
    1 - `gamma_end` (so gamma rises: 0.97 -> 0.997 multiplies the horizon 1/(1 - gamma) by 10)."""
    n = int(round(geometric_anneal(t, duration, n_start, n_end)))
    gamma = 1.0 - geometric_anneal(t, duration, 1.0 - gamma_start, 1.0 - gamma_end)
    return n, gamma


def epsilon_greedy(observations: np.ndarray, epsilon: float, rng: np.random.Generator, n_actions: int,
                   greedy_actions: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """One action per row: uniform with probability epsilon, else `greedy_actions(rows)`.

    The greedy function only runs on the rows that exploit, so early in training (epsilon near
    1) most steps cost no forward pass.
    """
    rows = len(observations)
    explore = rng.random(rows) < epsilon
    actions = rng.integers(n_actions, size=rows)
    if not explore.all():
        exploit = np.flatnonzero(~explore)
        chosen = observations if exploit.size == rows else np.asarray(observations)[exploit]
        actions[exploit] = greedy_actions(chosen)
    return actions
