"""The tabular agents as learners (docs/design.md: learner contract; chapters 66-68, 71-75).

One `advance` is one training episode played epsilon-greedily while learning (the agent's own
`play_episode`), so the engine's cadence for these presets counts episodes. Evaluation plays
greedily (epsilon 0) with a fixed seed sequence.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

import envs

from agents.algorithms.tabular import QLearningAgent, ValueFunctionAgent
from agents.config import RunConfig
from agents.contract import Experience, Learner
from agents.playing import play_episodes, with_exploration


class TabularLearner(Learner):
    """A Q-table (q-learning) or a table of position values (value-function) and its env."""

    cadence_unit = "episodes"

    def __init__(self, config: RunConfig, device=None, train: bool = True) -> None:
        """Tables live on the CPU: `device` and `train` are taken for the one constructor signature."""
        self.config = config
        self.env = envs.make(config.env.name, **config.env.options)
        if config.algo == "value-function":
            self.agent = ValueFunctionAgent(config.agent, seed=config.seed)
        else:
            self.agent = QLearningAgent(int(self.env.action_space.n), config.agent, seed=config.seed)
        self.updates = 0

    def advance(self, epsilon: float) -> Experience:
        result = self.agent.play_episode(self.env, epsilon, learn=True)
        self.updates += result["length"]
        return Experience(result["length"], [result["return"]], [result["length"]],
                          {"td_loss": result["td_error"]})

    # -- playing with the learned table ------------------------------------------------------------
    def greedy(self, observation, info, env) -> int:
        if isinstance(self.agent, ValueFunctionAgent):
            return self.agent.greedy_cell(env)
        return self.agent.greedy(observation, info.get("action_mask"))

    def play(self, episodes: int, epsilon: float, seed: int, env_options: dict | None = None,
             quiet: bool = True) -> tuple[list[float], list[dict]]:
        options = self.config.env.options if env_options is None else env_options
        env = envs.make(self.config.env.name, **options)
        try:
            return play_episodes(env, with_exploration(self.greedy, epsilon, np.random.default_rng(seed + 1)),
                                 episodes, seed)
        finally:
            env.close()

    def q_values(self, observations: Sequence) -> np.ndarray:
        return np.stack([np.asarray(self.agent.q_values(o), dtype=float) for o in observations])

    def decide(self, observation, info, env) -> tuple[np.ndarray, int]:
        """The values shown beside each action (V of each move for chapter 66's player), and
        the greedy action."""
        mask = info.get("action_mask")
        if isinstance(self.agent, ValueFunctionAgent):
            values = np.full(env.action_space.n, np.nan)
            for cell, board in env.unwrapped.afterstates():
                values[cell] = self.agent.value(board)
        else:
            values = np.array(self.agent.q_values(observation), dtype=float)
            if mask is not None:
                values = np.where(np.asarray(mask, dtype=bool), values, np.nan)
        return values, self.greedy(observation, info, env)

    # -- checkpoints -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"table": self.agent.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict, weights_only: bool = False) -> None:
        self.agent.load_state_dict(state["table"])
        self.updates = int(state["updates"])

    def close(self) -> None:
        self.env.close()
