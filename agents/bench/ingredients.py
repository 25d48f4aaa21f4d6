"""The cost per update of each data-efficient ingredient (docs/design.md: data-efficient Atari).

`scripts/bench.py atari --only ingredients` times one gradient step of the DQN agent on a
replayed-looking batch (32 random 4x84x84 uint8 stacks, the Nature CNN with 18 actions) for the
plain DQN and for the DQN with one ingredient turned on, and prints each as a ratio to the plain
update measured in the same run. The agents are stepped in alternating rounds, so that load from
other processes falls on all of them alike; each figure is the median over rounds of the mean
update time in a round. A reset (shrink-and-perturb) happens once per `reset_every` updates, so
it is timed on its own, per reset.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

import nets

from agents import presets
from agents.algorithms.dqn import DQNAgent, DQNConfig
from agents.replay import Batch

BATCH, ACTIONS, STACK = 32, 18, 4
PLAIN = dict(channels_last=True)
ALL = dict(double=True, dueling=True, distributional=True, augmentation="shift", target_update="soft",
           optimizer="adamw", weight_decay=0.1, spr_weight=5.0, spr_steps=5)
#: line name -> the agent options it adds to the plain DQN
INGREDIENTS: dict[str, dict] = {
    "double + dueling": dict(double=True, dueling=True),
    "C51, 51 atoms": dict(distributional=True),
    "shifts, pad 4": dict(augmentation="shift"),
    "EMA target, tau .005": dict(target_update="soft", tau=0.005),
    "AdamW, decay 0.1": dict(optimizer="adamw", weight_decay=0.1),
    "SPR, K=5": dict(spr_weight=5.0, spr_steps=5, target_update="soft"),
    "all of the above": ALL,
    "bfloat16 forward passes": dict(precision="bfloat16"),
    "all of the above, bfloat16": dict(ALL, precision="bfloat16"),
    # the preset's own update: double + dueling, shifts, and the target refreshed every update
    "boxing-100k's settings": {key: value for key, value in presets.load("boxing-100k")["agent"].items()
                             if key in DQNConfig.__dataclass_fields__},
}


def _agent(options: dict, seed: int) -> DQNAgent:
    config = DQNConfig(**(PLAIN | options))
    head = "distributional" if config.distributional else ("dueling" if config.dueling else "q")
    head_options = {"dueling": config.dueling} if config.distributional else None

    def build() -> torch.nn.Module:
        return nets.build("nature_cnn", head=head, n_outputs=ACTIONS, in_channels=STACK, head_options=head_options)

    torch.manual_seed(seed)
    return DQNAgent(build(), ACTIONS, config, seed=seed, build_network=build)


def _batch(seed: int, spr_steps: int = 5) -> Batch:
    rng = np.random.default_rng(seed)
    frames = lambda *shape: rng.integers(0, 256, (*shape, STACK, 84, 84), dtype=np.uint8)  # noqa: E731
    return Batch(frames(BATCH), rng.integers(ACTIONS, size=BATCH), rng.normal(size=BATCH).astype(np.float32),
                 frames(BATCH), np.full(BATCH, 0.99 ** 10, np.float32), np.ones(BATCH, np.float32), np.arange(BATCH),
                 future_obs=frames(BATCH, spr_steps), future_actions=rng.integers(ACTIONS, size=(BATCH, spr_steps)),
                 future_mask=np.ones((BATCH, spr_steps), np.float32))


def measure_ingredients(seed: int = 0, rounds: int = 5, updates_per_round: int = 4) -> dict:
    """Milliseconds per update: {"plain": ms, name: ms, ...} and "reset" (ms per reset)."""
    batch = _batch(seed)
    agents = {"plain": _agent({}, seed)} | {name: _agent(options, seed) for name, options in INGREDIENTS.items()}
    times: dict[str, list[float]] = {name: [] for name in agents}
    for agent in agents.values():  # warm-up: the first steps allocate buffers and optimiser state
        agent.learn(batch)
    for round_index in range(rounds):
        order = list(agents) if round_index % 2 == 0 else list(agents)[::-1]
        for name in order:
            start = time.perf_counter()
            for _ in range(updates_per_round):
                agents[name].learn(batch)
            times[name].append(1000 * (time.perf_counter() - start) / updates_per_round)
    result = {name: statistics.median(values) for name, values in times.items()}
    resets = []
    for _ in range(rounds):
        start = time.perf_counter()
        agents["plain"].reset()
        resets.append(1000 * (time.perf_counter() - start))
    result["reset"] = statistics.median(resets)
    return result
