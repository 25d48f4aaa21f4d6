"""Seeding of python, numpy and torch, so that one seed gives one run (the book's experiments
are repeatable only when every random source is pinned)."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> np.random.Generator:
    """Seed python's, numpy's and torch's global generators; return a fresh numpy Generator.

    Code should prefer the returned generator (or one derived from the seed) over the global
    numpy state, but libraries that use the globals are pinned too.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
