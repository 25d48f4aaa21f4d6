"""The run's configuration, typed once (docs/design.md: data flow; chapters 66-75).

A preset's YAML merged with `--set key=value` overrides becomes one :class:`RunConfig` in the
runner, before any environment is made or any file written. Each section is defined here once;
the algorithm's own section (`agent:`) is the dataclass that the agent itself owns
(:class:`agents.algorithms.dqn.DQNConfig`, :class:`agents.algorithms.tabular.QLearningConfig`,
:class:`agents.algorithms.tabular.ValueFunctionConfig`), and the replay's is
:class:`agents.replay.ReplayConfig`, so every default lives in exactly one place.

Budget and cadence: a run ends at `total_steps` agent steps or `total_episodes` finished
training episodes, whichever comes first, or earlier at `time_limit_minutes` of training.
`log_every`, `evaluation.every` and `checkpoint_every` count in the learner's own unit: agent
steps for deep agents, episodes for the tabular ones (which learn an episode at a time).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal, Optional

from lab.checks import at_least, require, within
from lab.config import ConfigError, from_dict
from lab.i18n import tr

from agents.algorithms.dqn import DQNConfig
from agents.algorithms.r2d2 import R2D2Config
from agents.algorithms.tabular import QLearningConfig, ValueFunctionConfig
from agents.replay import ReplayConfig
from agents.schedules import EpsilonSchedule

#: algo name in a preset -> the dataclass of its `agent:` section
AGENT_SECTIONS: dict[str, type] = {
    "q-learning": QLearningConfig,
    "value-function": ValueFunctionConfig,
    "dqn": DQNConfig,
    "r2d2": R2D2Config,
}
#: the largest budget a run may have (ten billion steps or episodes: 100 times the longest
#: Atari runs of the literature)
MAX_BUDGET = 10**10


@dataclasses.dataclass
class EnvSection:
    name: str
    options: dict = dataclasses.field(default_factory=dict)
    num_envs: int = 1  # lanes stepped together (deep agents); tabular agents play one env
    record_env: Optional[str] = None  # a colour twin for recordings (Atari), else the env itself

    def __post_init__(self) -> None:
        at_least("env.num_envs", self.num_envs, 1)


@dataclasses.dataclass
class NetSection:
    kind: str = "mlp"
    options: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ExplorationSection:
    schedule: Literal["linear", "exponential", "constant"] = "linear"
    start: float = 1.0
    end: float = 0.05
    fraction: float = 0.1  # share of the budget over which epsilon falls from start to end

    def __post_init__(self) -> None:
        for name in ("start", "end", "fraction"):
            within(f"exploration.{name}", getattr(self, name), 0, 1)
        # epsilon = start * decay**t never reaches 0 (agents.schedules)
        require(self.schedule != "exponential" or (self.start > 0 and self.end > 0),
                tr("exploration.schedule exponential needs exploration.start > 0 and exploration.end > 0, "
                   "got {start} and {end}").format(start=self.start, end=self.end))

    def over(self, budget: int) -> EpsilonSchedule:
        """The schedule stretched over `fraction` of a budget of `budget` units."""
        return EpsilonSchedule(self.schedule, self.start, self.end, max(1, int(self.fraction * budget)))


@dataclasses.dataclass
class EvalSection:
    every: int = 0  # cadence units between evaluations; 0 = only at the end
    episodes: int = 10
    final_episodes: int = 0  # episodes of the final evaluation (0 = `episodes`)
    epsilon: float = 0.0

    def __post_init__(self) -> None:
        at_least("evaluation.every", self.every, 0)
        at_least("evaluation.final_episodes", self.final_episodes, 0)
        at_least("evaluation.episodes", self.episodes, 1)
        within("evaluation.epsilon", self.epsilon, 0, 1)


@dataclasses.dataclass
class RunConfig:
    """Everything a run needs; `config.yaml` is this, resolved."""

    preset: str
    algo: str
    env: EnvSection
    description: str = ""
    seed: int = 0
    total_steps: int = 0
    total_episodes: int = 0
    agent: Any = None  # AGENT_SECTIONS[algo], typed by `RunConfig.parse`
    net: NetSection = dataclasses.field(default_factory=NetSection)
    replay: ReplayConfig = dataclasses.field(default_factory=ReplayConfig)
    exploration: ExplorationSection = dataclasses.field(default_factory=ExplorationSection)
    evaluation: EvalSection = dataclasses.field(default_factory=EvalSection)
    # stop training after this many minutes of it (wall-clock, summed over resumes; 0: no limit);
    # the schedules still span total_steps or total_episodes
    time_limit_minutes: float = 0.0
    log_every: int = 1000
    checkpoint_every: int = 10_000
    record_episodes: int = 1
    torch_threads: int = 0  # 0 = torch's default
    backend: Literal["native", "sb3"] = "native"
    sb3_algo: Optional[str] = None  # with backend sb3: dqn, ppo, a2c
    sb3: dict = dataclasses.field(default_factory=dict)  # SB3 hyperparameters (resolved by the backend)

    def __post_init__(self) -> None:
        at_least("seed", self.seed, 0)
        for name in ("total_steps", "total_episodes"):
            within(name, getattr(self, name), 0, MAX_BUDGET)
        require(self.total_steps + self.total_episodes > 0, tr("set total_steps or total_episodes (> 0)"))
        for name in ("log_every", "checkpoint_every"):
            at_least(name, getattr(self, name), 1)
        for name in ("record_episodes", "torch_threads", "time_limit_minutes"):
            at_least(name, getattr(self, name), 0)

    @property
    def budget_in_episodes(self) -> bool:
        return self.total_episodes > 0

    @property
    def budget(self) -> int:
        """The budget in its own unit (episodes when total_episodes is set)."""
        return self.total_episodes if self.budget_in_episodes else self.total_steps

    @property
    def final_episodes(self) -> int:
        return self.evaluation.final_episodes or self.evaluation.episodes

    @classmethod
    def parse(cls, raw: dict) -> "RunConfig":
        """Validate a whole raw mapping; one-line ConfigError naming the bad key or value."""
        if not isinstance(raw, dict):
            raise ConfigError(tr("config: must be a mapping, got {name}").format(name=type(raw).__name__))
        algo = raw.get("algo")
        if algo not in AGENT_SECTIONS:
            raise ConfigError(tr("config: algo must be one of: {choices}; got {algo}").format(
                choices=', '.join(AGENT_SECTIONS), algo=repr(algo)))
        config = from_dict(cls, {k: v for k, v in raw.items() if k != "agent"})
        config.agent = from_dict(AGENT_SECTIONS[algo], raw.get("agent") or {}, "agent")
        if config.backend == "sb3" and algo not in ("dqn", "r2d2"):
            raise ConfigError(tr("config: --backend sb3 runs deep presets (algo dqn or r2d2); {preset} is {algo}").format(
                preset=config.preset, algo=algo))
        if config.backend == "sb3" and algo == "r2d2" and config.sb3_algo != "recurrent-ppo":
            raise ConfigError(tr("config: {preset} is an agent with memory (algo r2d2); with --backend sb3 it runs "
                                 "as --algo recurrent-ppo, not {sb3_algo}").format(
                preset=config.preset, sb3_algo=config.sb3_algo))
        if config.replay.saved and (algo != "dqn" or config.backend != "native"):
            raise ConfigError(tr("config: replay.saved (--save-replay) stores the DQN's replay memory with its "
                                 "checkpoints; {preset} trains {algo} with the {backend} backend, which has none to "
                                 "store").format(preset=config.preset, algo=algo, backend=config.backend))
        _check_finite(raw)
        _check_replay(config)
        return config


def _check_replay(config: RunConfig) -> None:
    """The replay memory must be able to feed learning: hold a batch beyond every lane's n-step
    tail (for sequences: every lane a whole burn-in + sequence + n-step window). A memory smaller
    than `learning_starts` is no mistake: learning then starts from a full memory of the latest
    steps (tests use it to act without learning)."""
    a, capacity = config.agent, config.replay.capacity
    if config.algo == "dqn":
        needed = a.batch_size + config.env.num_envs * (a.longest_n_step + 1)
        why = tr("agent.batch_size + env.num_envs x (the longest of n_step, n_step_start, spr_steps + 1)")
    elif config.algo == "r2d2":
        needed = config.env.num_envs * (a.burn_in + a.sequence_length + a.n_step + 1)
        why = "env.num_envs x (burn_in + sequence_length + n_step + 1)"  # names only: the same in every language
    else:
        return
    if capacity < needed:
        raise ConfigError(tr("config: replay.capacity={capacity} is too small to feed learning: it must be "
                             ">= {why} = {needed}").format(capacity=capacity, why=why, needed=needed))


def _check_finite(raw: Any, where: str = "") -> None:
    """NaN or infinity anywhere in the config is a mistake (YAML reads '.nan' and '.inf')."""
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ConfigError(tr("config: {where} must be a finite number, got {raw}").format(where=where, raw=raw))
    if isinstance(raw, dict):
        for key, value in raw.items():
            _check_finite(value, f"{where}.{key}" if where else str(key))
