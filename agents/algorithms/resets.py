"""Periodic resets with shrink-and-perturb (docs/design.md: data-efficient Atari; chapter 70).

Ash & Adams 2020; Nikishin et al. 2022; SR-SPR, D'Oro et al. 2023; BBF, Schwarzer et al. 2023:
an option of chapter 70's DQN.

A network trained many steps on little data loses its ability to keep learning ("plasticity").
Every `reset_every` gradient steps the agent therefore re-draws part of its weights:

* the encoder (the convolutions, or an MLP's layers) is shrunk towards a fresh random draw:
  new = shrink * old + (1 - shrink) * fresh (shrink 0.5 in BBF, 0.8 in SR-SPR), keeping most of
  what it learned to see while restoring some of a new network's trainability;
* the head (the dense layer after the convolutions, `fc`, and the Q head) is replaced by the
  fresh draw outright;
* the optimiser's moments start over (they describe the old weights).

The fresh draw is the network built anew (same constructor, same init) under a seed derived
from the agent's seed and the reset's number, so runs repeat exactly.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

#: top-level submodules that a reset replaces entirely (the rest, e.g. the convolutions and SPR's
#: transition model, is shrunk and perturbed): a Q-network's dense layer and head, SPR's predictor
HEAD_PARTS = ("fc", "head", "predictor")


def is_head_parameter(name: str) -> bool:
    return name.split(".", 1)[0] in HEAD_PARTS


def reset_seed(seed: int, reset_index: int) -> int:
    """A seed for the `reset_index`-th fresh draw of an agent seeded `seed`."""
    return int(np.random.SeedSequence([seed, reset_index]).generate_state(1)[0])


def fresh_network(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """`build()` with torch's global RNG seeded `seed`, leaving that RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


@torch.no_grad()
def shrink_and_perturb(network: nn.Module, fresh: nn.Module, shrink: float) -> None:
    """In place: encoder weights -> shrink * old + (1 - shrink) * fresh; head weights -> fresh."""
    fresh_parameters = dict(fresh.named_parameters())
    for name, parameter in network.named_parameters():
        new = fresh_parameters[name].to(parameter.device, parameter.dtype)
        if is_head_parameter(name):
            parameter.copy_(new)
        else:
            parameter.mul_(shrink).add_(new, alpha=1.0 - shrink)
