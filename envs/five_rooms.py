"""The five-rooms building of the book's Q-learning example (chapters 67-68).

Rooms 0-4 are inside a building, 5 is the outside (the goal).  The book's graph has the
doors 0-4, 1-3, 1-5, 2-3, 3-4 and 4-5 (each usable both ways).  An action names the room to
move to (six actions, 0-5).  Moving through a door into 5 pays 100 and ends the episode;
every other move through a door pays 0.

The book writes the graph as a reward matrix R (rows: from, columns: to): -1 where there is
no door, 0 for a door, 100 for a door into 5, and R[5, 5] = 100 so that the goal "stays" the
goal.  :func:`reward_matrix` returns exactly that matrix.

Moves without a door ("invalid" actions) are masked: ``info["action_mask"]`` (np.int8, six
entries, 1 = door) comes with every observation, and ``valid_actions(state)`` lists them.
An agent that takes an invalid action anyway stays where it is and is paid
``invalid_penalty`` (default 0.0, so the book's rewards are unchanged; set e.g. -1.0 to teach
an unmasked agent to avoid walls).  Episodes start in a random room 0-4 (or ``start``) and
are truncated after ``max_steps`` moves.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from lab.checks import one_of, shown, whole
from lab.i18n import tr

N_ROOMS = 6
OUTSIDE = 5
DOORS: tuple[tuple[int, int], ...] = ((0, 4), (1, 3), (1, 5), (2, 3), (3, 4), (4, 5))
GOAL_REWARD = 100.0


def reward_matrix() -> np.ndarray:
    """Return the book's 6x6 reward matrix R (float64; -1 = no door, 0 = door, 100 = into 5)."""
    rewards = np.full((N_ROOMS, N_ROOMS), -1.0)
    for room_a, room_b in DOORS:
        rewards[room_a, room_b] = 0.0
        rewards[room_b, room_a] = 0.0
    rewards[:, OUTSIDE] = np.where(rewards[:, OUTSIDE] >= 0, GOAL_REWARD, -1.0)
    rewards[OUTSIDE, OUTSIDE] = GOAL_REWARD  # the book's goal state loops onto itself
    return rewards


def valid_actions(state: int) -> np.ndarray:
    """Rooms reachable from ``state`` in one move, by the book's matrix (ascending)."""
    if not 0 <= int(state) < N_ROOMS:
        raise ValueError(f"state must be a room 0-{N_ROOMS - 1}, got {state!r}")
    return np.flatnonzero(_REWARD_MATRIX[int(state)] >= 0)


def action_mask(state: int) -> np.ndarray:
    """np.int8 array of six entries: 1 where ``state`` has a door to that room."""
    if not 0 <= int(state) < N_ROOMS:
        raise ValueError(f"state must be a room 0-{N_ROOMS - 1}, got {state!r}")
    return (_REWARD_MATRIX[int(state)] >= 0).astype(np.int8)


_REWARD_MATRIX = reward_matrix()


class FiveRoomsEnv(gymnasium.Env):
    """The book's building: observation = current room (Discrete(6)), action = next room.

    Options: ``start`` (room 0-4, or None for a uniformly random room 0-4), ``max_steps``
    (truncation after this many moves), ``invalid_penalty`` (reward for a move without a
    door, which leaves the agent in place), ``render_mode`` (None or "ansi").
    ``reset(options={"start": k})`` overrides the start room for one episode.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        start: int | None = None,
        max_steps: int = 100,
        invalid_penalty: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        self._check_start(start)
        self.max_steps = whole("max_steps", max_steps, 1)
        one_of("render_mode", render_mode, (None, "ansi"))
        self.start = start
        self.invalid_penalty = float(invalid_penalty)
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(N_ROOMS)
        self.action_space = spaces.Discrete(N_ROOMS)
        self.reward_matrix = _REWARD_MATRIX.copy()
        self.state = 0
        self.steps = 0

    @staticmethod
    def _check_start(start: int | None) -> None:
        if start is not None and not (isinstance(start, (int, np.integer)) and 0 <= start < OUTSIDE):
            raise ValueError(tr("start must be null or a room 0-{last}, got {value}").format(
                last=OUTSIDE - 1, value=shown(start)))

    def valid_actions(self, state: int | None = None) -> np.ndarray:
        """Rooms reachable in one move from ``state`` (default: the current room)."""
        return valid_actions(self.state if state is None else state)

    def _info(self) -> dict[str, Any]:
        return {"action_mask": action_mask(self.state)}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        start = options.pop("start", self.start)
        if options:
            raise ValueError(f"unknown reset option(s) {sorted(options)}; valid: ['start']")
        self._check_start(start)
        self.state = int(self.np_random.integers(OUTSIDE)) if start is None else int(start)
        self.steps = 0
        return self.state, self._info()

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be a room 0-{N_ROOMS - 1}, got {action!r}")
        action = int(action)
        self.steps += 1
        door_reward = self.reward_matrix[self.state, action]
        if door_reward < 0:
            reward = self.invalid_penalty
            info_extra = {"invalid_action": True}
        else:
            reward = float(door_reward)
            self.state = action
            info_extra = {"invalid_action": False}
        terminated = self.state == OUTSIDE
        truncated = not terminated and self.steps >= self.max_steps
        return self.state, reward, terminated, truncated, {**self._info(), **info_extra}

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        rooms = " ".join(f"[{room}]" if room == self.state else f" {room} " for room in range(N_ROOMS))
        return f"{rooms}   (5 = outside, step {self.steps})"


def make_five_rooms(
    start: int | None = None,
    max_steps: int = 100,
    invalid_penalty: float = 0.0,
    render_mode: str | None = None,
) -> FiveRoomsEnv:
    """Factory used by ``envs.make("five-rooms", ...)``; see :class:`FiveRoomsEnv`."""
    return FiveRoomsEnv(
        start=start, max_steps=max_steps, invalid_penalty=invalid_penalty, render_mode=render_mode
    )
