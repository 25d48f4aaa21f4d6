"""What the engine and a learner agree on (docs/design.md: learner contract; chapters 66-75).

The engine (`agents.engine`) drives any object that keeps the :class:`Learner` contract: one
constructor signature, one unit of acting and learning per `advance`, evaluation by `play`, the
agent's values by `q_values` and `decide`, its state as arrays; the optional hooks have no-op
defaults a learner inherits by subclassing the protocol. After the final evaluation the engine
hands a :class:`FinishedRun` to the `Finisher` it was given (what people see of the run).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Protocol, Sequence

import numpy as np

from lab.logger import Logger
from lab.rundir import RunDir

from agents.config import RunConfig


@dataclasses.dataclass
class Experience:
    """What one `advance` produced: agent steps taken, episodes finished, learning figures."""

    steps: int = 0
    returns: list[float] = dataclasses.field(default_factory=list)
    lengths: list[int] = dataclasses.field(default_factory=list)
    losses: dict[str, float] = dataclasses.field(default_factory=dict)  # e.g. td_loss, q_values
    epsilon: float | None = None  # the epsilon actually used, when the learner overrode it


class Learner(Protocol):
    """What the engine drives (docs/adding-an-agent.md walks a new agent through it).

    Every learner is built as ``Learner(config, device, train=True)`` (train=False: built to
    load weights and play). A learner subclasses this protocol to inherit the optional hooks'
    no-op defaults; the methods with ``...`` bodies are its own to write."""

    cadence_unit: str  # "steps" or "episodes": what log_every / evaluation.every count
    updates: int  # gradient steps (or table backups) so far
    backend_label: str = ""  # who trained it, when not this library (e.g. "Stable-Baselines3 DQN")

    def advance(self, epsilon: float) -> Experience:
        """One unit of acting and learning: what it produced (finite losses only)."""
        ...

    def play(self, episodes: int, epsilon: float, seed: int, env_options: dict | None = None,
             quiet: bool = True) -> tuple[list[float], list[dict]]:
        """Evaluation: the returns and final infos of exactly `episodes` episodes."""
        ...

    def q_values(self, observations: Sequence) -> np.ndarray:
        """One row of action values per observation (reports, Blackjack's exact regret)."""
        ...

    def decide(self, observation, info, env) -> tuple[np.ndarray, int]:
        """The values shown beside each action, and the greedy action (recordings, play)."""
        ...

    def state_dict(self) -> dict:
        """Arrays, tensors and JSON-able values only (saved with safetensors + JSON)."""
        ...

    def load_state_dict(self, state: dict, weights_only: bool = False) -> None:
        ...

    # -- optional hooks ----------------------------------------------------------------------
    @classmethod
    def configure(cls, config: RunConfig) -> None:
        """Complete a validated config before it is written (the SB3 backend resolves its
        hyperparameters here); a ConfigError refuses it."""

    def report_lines(self) -> list[str]:
        """Lines the learner adds at the top of the run's report."""
        return []

    def start(self, run: RunDir, resumed_at: int | None) -> None:
        """Before the first `advance` (resumed_at: the step a resumed run continues from)."""

    def on_checkpoint(self, run: RunDir, steps: int) -> None:
        """Before checkpoints/latest is written (e.g. the replay, when kept)."""

    def begin_episode(self) -> None:
        """A recording starts a new episode (an agent with memory forgets what it saw)."""

    def memory_note(self) -> str:
        """What the agent's memory holds after the last `decide`, for a recording's overlay."""
        return ""

    def close(self) -> None:
        """After the run: release environments and workers."""


@dataclasses.dataclass
class FinishedRun:
    """What the `finish` callable sees after the final evaluation; `evaluation` is written to
    eval.json after it returns, so a task's view may add its figures to it."""

    run: RunDir
    learner: Learner
    config: RunConfig
    evaluation: dict
    logger: Logger
    step: int


#: After the final evaluation: draws what people see of the run and returns its report lines.
Finisher = Callable[[FinishedRun], list[str]]
