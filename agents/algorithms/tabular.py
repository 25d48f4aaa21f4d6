"""Tabular agents of the book's RL chapters (docs/design.md: rooms; chapters 66-68 and 71-75).

- :class:`QLearningAgent` — chapter 68 (and the five-rooms example of chapter 67): a table
  Q(s, a), epsilon-greedy action choice (explore/exploit), and the Q-learning update

      Q(s, a) <- Q(s, a) + alpha [ r + gamma * max_a' Q(s', a') - Q(s, a) ]

  with alpha constant or 1/N(s, a)^power (N = visits of the pair; power 1 averages targets).
- :class:`ValueFunctionAgent` — chapter 66: the tic-tac-toe player that keeps a table of
  win probabilities V(s) (0.5 for unknown positions, 1 for won, 0 for lost or drawn), moves
  greedily with occasional exploratory moves, and after each greedy move backs up

      V(s) <- V(s) + alpha [ V(s') - V(s) ]

  where s and s' are the positions after its previous and current move.

Both agents act and learn through ``play_episode(env, epsilon, learn)``; the run engine drives
them through :class:`agents.learners.tabular.TabularLearner`. Tables are saved as arrays (safetensors) and JSON, never
pickled.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Hashable, Literal

import numpy as np

from envs import tictactoe as ttt
from lab.checks import finite, within
from lab.i18n import tr


@dataclasses.dataclass
class QLearningConfig:
    """The `agent:` section of a q-learning preset (the agent's defaults live here only)."""

    gamma: float = 0.99
    alpha: float = 0.1
    alpha_schedule: Literal["constant", "visits"] = "constant"
    alpha_power: float = 1.0  # alpha = 1 / visits**power with the "visits" schedule
    initial_q: float = 0.0

    def __post_init__(self) -> None:
        within("agent.gamma", self.gamma, 0, 1)
        within("agent.alpha", self.alpha, 0, 1, low_open=True)
        within("agent.alpha_power", self.alpha_power, 0, 10, low_open=True)
        finite("agent.initial_q", self.initial_q)


@dataclasses.dataclass
class ValueFunctionConfig:
    """The `agent:` section of a value-function preset (chapter 66)."""

    alpha: float = 0.1
    symmetric: bool = True  # positions equal under the board's 8 symmetries share one value

    def __post_init__(self) -> None:
        within("agent.alpha", self.alpha, 0, 1, low_open=True)


def state_key(observation: Any) -> Hashable:
    """A hashable table key for an observation (int, tuple or array)."""
    if isinstance(observation, (int, np.integer)):
        return int(observation)
    if isinstance(observation, np.ndarray):
        return tuple(int(v) for v in observation.ravel())
    if isinstance(observation, tuple):
        return tuple(int(v) for v in observation)
    raise TypeError(f"a tabular agent needs discrete observations, got {type(observation).__name__}")


def _masked_argmax(values: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator | None) -> int:
    """Index of the largest value among allowed actions; ties broken by `rng` (or lowest index)."""
    if mask is not None:
        values = np.where(mask.astype(bool), values, -np.inf)
    best = np.flatnonzero(values == values.max())
    if rng is None or len(best) == 1:
        return int(best[0])
    return int(best[rng.integers(len(best))])


def check_table(name: str, array: np.ndarray, dtype, shape: tuple[int, ...]) -> None:
    """A saved table must have the agent's dtype and shape and finite values (ValueError)."""
    if array.dtype != dtype or array.shape != shape:
        raise ValueError(tr("table {name} is {dtype} {shape}, the agent needs {needed_dtype} {needed_shape}").format(
            name=name, dtype=array.dtype, shape=array.shape, needed_dtype=np.dtype(dtype), needed_shape=shape))
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(tr("table {name} holds NaN or infinite values").format(name=name))


class QLearningAgent:
    """Q-learning with a Q-table (chapter 68). Unseen states start at `initial_q`."""

    def __init__(self, n_actions: int, config: QLearningConfig | None = None, seed: int = 0) -> None:
        config = config or QLearningConfig()
        self.n_actions = int(n_actions)
        self.gamma = float(config.gamma)
        self.alpha = float(config.alpha)
        self.alpha_schedule = config.alpha_schedule
        self.alpha_power = float(config.alpha_power)
        self.initial_q = float(config.initial_q)
        self.rng = np.random.default_rng(seed)
        self.q: dict[Hashable, np.ndarray] = {}
        self.visits: dict[Hashable, np.ndarray] = {}

    # -- the table ------------------------------------------------------------------------
    def q_values(self, observation: Any) -> np.ndarray:
        """Q(s, .) for an observation (a fresh row of `initial_q` if never seen)."""
        key = state_key(observation)
        row = self.q.get(key)
        return row if row is not None else np.full(self.n_actions, self.initial_q)

    def _row(self, key: Hashable) -> np.ndarray:
        if key not in self.q:
            self.q[key] = np.full(self.n_actions, self.initial_q)
            self.visits[key] = np.zeros(self.n_actions, dtype=np.int64)
        return self.q[key]

    # -- acting ---------------------------------------------------------------------------
    def greedy(self, observation: Any, mask: np.ndarray | None = None) -> int:
        """The best known action (ties: lowest index, so evaluation is deterministic)."""
        return _masked_argmax(self.q_values(observation), mask, None)

    def act(self, observation: Any, epsilon: float, mask: np.ndarray | None = None) -> int:
        """Epsilon-greedy (chapter 68): explore with probability epsilon, else exploit."""
        if self.rng.random() < epsilon:
            allowed = np.flatnonzero(mask) if mask is not None else np.arange(self.n_actions)
            return int(allowed[self.rng.integers(len(allowed))])
        return _masked_argmax(self.q_values(observation), mask, self.rng)

    # -- learning -------------------------------------------------------------------------
    def update(
        self, observation: Any, action: int, reward: float, next_observation: Any,
        terminated: bool, next_mask: np.ndarray | None = None,
    ) -> float:
        """One Q-learning backup; returns the TD error r + gamma max Q(s', .) - Q(s, a)."""
        key = state_key(observation)
        row = self._row(key)
        if terminated:
            target = reward  # no future after a terminal state
        else:
            next_q = self.q_values(next_observation)
            if next_mask is not None:
                next_q = np.where(next_mask.astype(bool), next_q, -np.inf)
            target = reward + self.gamma * float(next_q.max())
        td_error = target - row[action]
        self.visits[key][action] += 1
        if self.alpha_schedule == "visits":
            step_size = 1.0 / self.visits[key][action] ** self.alpha_power
        else:
            step_size = self.alpha
        row[action] += step_size * td_error
        return float(td_error)

    def play_episode(self, env, epsilon: float, learn: bool = True) -> dict:
        """Play one episode epsilon-greedily, learning from every step when `learn`."""
        observation, info = env.reset(seed=int(self.rng.integers(2**31)))
        mask = info.get("action_mask")
        total, length, td_errors = 0.0, 0, []
        while True:
            action = self.act(observation, epsilon, mask)
            next_observation, reward, terminated, truncated, info = env.step(action)
            next_mask = info.get("action_mask")
            if learn:
                td_errors.append(abs(self.update(observation, action, reward, next_observation, terminated, next_mask)))
            total += float(reward)
            length += 1
            observation, mask = next_observation, next_mask
            if terminated or truncated:
                return {"return": total, "length": length, "info": info,
                        "td_error": float(np.mean(td_errors)) if td_errors else 0.0}

    def policy(self, observation: Any, mask: np.ndarray | None = None) -> int:
        return self.greedy(observation, mask)

    # -- saving without pickle --------------------------------------------------------------
    def state_dict(self) -> dict:
        keys = list(self.q)
        return {
            "kind": "q-learning",
            "states": [list(k) if isinstance(k, tuple) else k for k in keys],
            "q": np.array([self.q[k] for k in keys]).reshape(len(keys), self.n_actions),
            "visits": np.array([self.visits[k] for k in keys], dtype=np.int64).reshape(len(keys), self.n_actions),
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> None:
        keys = [tuple(k) if isinstance(k, list) else k for k in state["states"]]
        q, visits = np.asarray(state["q"]), np.asarray(state["visits"])
        check_table("q", q, np.float64, (len(keys), self.n_actions))
        check_table("visits", visits, np.int64, (len(keys), self.n_actions))
        self.q = {k: q[i].copy() for i, k in enumerate(keys)}
        self.visits = {k: visits[i].copy() for i, k in enumerate(keys)}
        if "rng" in state:
            self.rng.bit_generator.state = state["rng"]


class ValueFunctionAgent:
    """The chapter 66 tic-tac-toe learner: a table of win probabilities over positions.

    Positions are the boards right after the agent's own move (afterstates); positions
    equal under the square's 8 symmetries share one entry when `symmetric`.
    """

    def __init__(self, config: ValueFunctionConfig | None = None, seed: int = 0) -> None:

        config = config or ValueFunctionConfig()
        self.ttt = ttt
        self.alpha = float(config.alpha)
        self.symmetric = bool(config.symmetric)
        self.rng = np.random.default_rng(seed)
        self.values: dict[int, float] = {}

    def _key(self, board) -> int:
        return self.ttt.canonical_key(board) if self.symmetric else self.ttt.board_key(board)

    def value(self, board) -> float:
        """V(board): 1 if X has won, 0 if lost or drawn, else the table (0.5 if unseen)."""
        won_by = self.ttt.winner(board)
        if won_by == self.ttt.X:
            return 1.0
        if won_by == self.ttt.O or self.ttt.is_terminal(board):
            return 0.0
        return self.values.get(self._key(board), 0.5)

    def choose(self, env, epsilon: float) -> tuple[int, Any, bool]:
        """(cell, resulting board, was_greedy): greedy on V, exploring with probability epsilon."""
        options = env.unwrapped.afterstates()
        if self.rng.random() < epsilon:
            cell, board = options[int(self.rng.integers(len(options)))]
            return cell, board, False
        values = np.array([self.value(board) for _, board in options])
        best = np.flatnonzero(values == values.max())
        cell, board = options[int(best[self.rng.integers(len(best))])]
        return cell, board, True

    def greedy_cell(self, env) -> int:
        options = env.unwrapped.afterstates()
        values = [self.value(board) for _, board in options]
        return options[int(np.argmax(values))][0]

    def _backup(self, previous, target: float) -> None:
        key = self._key(previous)
        current = self.values.get(key, 0.5)
        self.values[key] = current + self.alpha * (target - current)

    def play_episode(self, env, epsilon: float, learn: bool = True) -> dict:
        env.reset(seed=int(self.rng.integers(2**31)))
        previous, total, length = None, 0.0, 0
        while True:
            cell, afterstate, greedy = self.choose(env, epsilon)
            if learn and greedy and previous is not None:
                self._backup(previous, self.value(afterstate))
            _, reward, terminated, truncated, info = env.step(cell)
            total += float(reward)
            length += 1
            if terminated or truncated:
                # the final position is X's win, O's win or a draw: its value is known
                final_board = env.unwrapped.board
                if learn and greedy:
                    self._backup(afterstate, self.value(final_board))
                return {"return": total, "length": length, "info": info, "td_error": 0.0}
            previous = afterstate

    def policy(self, env) -> int:
        return self.greedy_cell(env)

    def state_dict(self) -> dict:
        keys = sorted(self.values)
        return {
            "kind": "value-function",
            "keys": np.array(keys, dtype=np.int64),
            "values": np.array([self.values[k] for k in keys], dtype=np.float64),
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> None:
        check_table("keys", np.asarray(state["keys"]), np.int64, (len(state["keys"]),))
        check_table("values", np.asarray(state["values"]), np.float64, (len(state["keys"]),))
        self.values = {int(k): float(v) for k, v in zip(np.asarray(state["keys"]), np.asarray(state["values"]))}
        if "rng" in state:
            self.rng.bit_generator.state = state["rng"]
