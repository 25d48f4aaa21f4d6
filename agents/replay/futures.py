"""The K steps after sampled transitions (docs/design.md: data-efficient Atari; chapter 70).

For a loss that predicts the future (SPR, Schwarzer et al. 2021; an option of chapter 70's DQN):
observations t+1..t+K, actions t..t+K-1, and which of them still belong to the episode."""

from __future__ import annotations

import numpy as np

from agents.replay.lanes import LaneReplay


def future_steps(memory: LaneReplay, indices: np.ndarray, steps: int) -> dict[str, np.ndarray]:
    """`future_obs` (B, K, *obs_shape), `future_actions` (B, K) int64 (the action taken before
    each of those observations) and `future_mask` (B, K) float32: 1 while the episode goes on
    (observation t+k is in it when no step t..t+k-2 ended it; t+1 always is).

    Needs `steps <= memory.n_step`: a transition is sampleable only once that many later steps are
    stored (or its episode ended), so every observation the mask keeps has been written.
    """
    if not 1 <= steps <= memory.n_step:
        raise ValueError(f"future steps must be in [1, n_step={memory.n_step}], got {steps}")
    flat = np.asarray(indices, dtype=np.int64).reshape(-1)
    base = flat - flat % memory.lane_capacity
    offsets = np.arange(steps)
    window = base[:, None] + (flat[:, None] % memory.lane_capacity + offsets) % memory.lane_capacity
    ended = memory._terminated[window] | memory._truncated[window]
    mask = np.ones((flat.size, steps), dtype=np.float32)
    mask[:, 1:] = np.cumprod(~ended[:, :-1], axis=1)
    later = [memory._stacks(flat, np.full_like(flat, k)) for k in range(1, steps + 1)]
    return {"future_obs": np.stack(later, axis=1), "future_actions": memory._actions[window].astype(np.int64),
            "future_mask": mask}
