"""Playing whole episodes with a trained policy (docs/design.md: rooms; chapters 69 and 75): the
evaluation protocol's episode loops (chapter 75's evaluation; chapter 69's Atari protocol).

Two shapes of environment, one rule: exactly `episodes` episodes from a fixed seed, every
episode counted from its start, so short episodes are never favoured.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import envs
from lab.cli import UsageError
from lab.i18n import tr
from lab.progress import progress_bar


def check_episodes(episodes: Any) -> None:
    """`episodes` (--episodes) is a whole number >= 1."""
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise UsageError(tr("--episodes must be a positive integer, got {value}").format(value=repr(episodes)))


def check_play_options(episodes: Any = None, epsilon: Any = None, seed: Any = None) -> None:
    """The options every way of playing a trained agent shares (scripts/evaluate.py, record.py,
    play.py): how many episodes, the exploration, the first seed; None leaves one to its default.
    Nothing here loads PyTorch, so the scripts refuse a bad value before they load it."""
    if episodes is not None:
        check_episodes(episodes)
    if epsilon is not None and not 0.0 <= float(epsilon) <= 1.0:
        raise UsageError(tr("--epsilon must be between 0 and 1, got {value}").format(value=repr(epsilon)))
    if seed is not None and seed < 0:
        raise UsageError(tr("--seed must be >= 0, got {value}").format(value=seed))


def play_vector_episodes(act: Callable[[np.ndarray], np.ndarray], env_name: str, options: dict,
                         episodes: int, seed: int, lanes: int = 8, quiet: bool = True,
                         after_step: Callable[[np.ndarray], None] | None = None) -> list[float]:
    """Returns of `episodes` episodes on up to `lanes` parallel envs (Gymnasium's next-step
    autoreset); each lane plays its share from the start. `act(observations)` -> actions;
    `after_step(ended)`, if given, hears which lanes ended an episode on each step (an agent
    with memory forgets it before the lane's next episode)."""
    k = max(1, min(episodes, lanes))
    shares = [episodes // k + (i < episodes % k) for i in range(k)]
    env = envs.make_vector(env_name, num_envs=k, seed=seed, **options)
    obs, _ = env.reset(seed=seed)
    returns: list[list[float]] = [[] for _ in range(k)]
    running = np.zeros(k)
    ended = np.zeros(k, dtype=bool)
    bar = progress_bar(episodes, tr("evaluate"), quiet=quiet, unit=tr("ep"))
    try:
        while any(len(r) < s for r, s in zip(returns, shares)):
            obs, rewards, terminated, truncated, _ = env.step(act(obs))
            active = ~ended  # next-step autoreset: the step after an end is the reset step
            running[active] += rewards[active]
            ended = (terminated | truncated) & active
            if after_step is not None:
                after_step(ended)
            for i in np.flatnonzero(ended):
                if len(returns[i]) < shares[i]:
                    returns[i].append(float(running[i]))
                    bar.update(1)
                running[i] = 0.0
    finally:
        env.close()
        bar.close()
    return [r for lane in returns for r in lane]


def play_agent(agent, env_name: str, options: dict, episodes: int, epsilon: float, seed: int,
               lanes: int = 8, quiet: bool = True) -> list[float]:
    """`play_vector_episodes` with `agent.act(observations, epsilon)`; the agent's own RNG is
    set aside so that evaluating never changes what training does next."""
    training_rng, agent.rng = agent.rng, np.random.default_rng(seed)
    try:
        return play_vector_episodes(lambda obs: agent.act(obs, epsilon), env_name, options, episodes,
                                    seed, lanes=lanes, quiet=quiet)
    finally:
        agent.rng = training_rng


def play_episodes(env, choose: Callable, episodes: int, seed: int) -> tuple[list[float], list[dict]]:
    """Returns and final infos of `episodes` episodes of one env, episode i from the i-th seed
    of `seed`'s stream; `choose(observation, info, env)` -> action."""
    returns, infos = [], []
    for episode_seed in np.random.default_rng(seed).integers(2**31, size=episodes):
        observation, info = env.reset(seed=int(episode_seed))
        total, done = 0.0, False
        while not done:
            observation, reward, terminated, truncated, info = env.step(choose(observation, info, env))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
        infos.append(info)
    return returns, infos


def with_exploration(greedy: Callable, epsilon: float, rng: np.random.Generator) -> Callable:
    """choose(observation, info, env): `greedy(...)`, or with probability epsilon a random
    allowed action (the env's `action_mask` when it gives one)."""

    def choose(observation, info, env) -> int:
        if epsilon > 0 and rng.random() < epsilon:
            mask = info.get("action_mask")
            allowed = np.flatnonzero(mask) if mask is not None else np.arange(env.action_space.n)
            return int(allowed[rng.integers(len(allowed))])
        return greedy(observation, info, env)

    return choose
