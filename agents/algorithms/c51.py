"""The distributional target of C51 (docs/design.md: data-efficient Atari; chapter 70).

Bellemare et al. 2017, an option of chapter 70's DQN.

Instead of one number Q(s, a), the network predicts a probability p_i for each of N fixed
returns z_1 < ... < z_N (nets.heads.DistributionalHead). The Bellman target of a transition is
then a distribution too: the next state's distribution (for the action the online network, or
the target network, picks) with every atom moved to r + gamma^n z_j. Those moved atoms fall
between the fixed ones, so each one's probability is shared between its two neighbours in
proportion to how close it lies to each (the "projection"), atoms beyond [v_min, v_max] being
clamped to the ends. The loss is the cross-entropy between that projected target and the
predicted distribution of the action taken.
"""

from __future__ import annotations

import torch


def project_distribution(probs: torch.Tensor, returns: torch.Tensor, discounts: torch.Tensor,
                         support: torch.Tensor) -> torch.Tensor:
    """Project r + discount * z onto `support`.

    probs: (B, N) the next state's distribution; returns, discounts: (B,) (discount = gamma^n,
    0 after a terminal step, which puts all the mass on the atom nearest to r); support: (N,)
    evenly spaced. Returns (B, N) probabilities summing to 1.
    """
    atoms = support.numel()
    v_min, v_max = float(support[0]), float(support[-1])
    delta = (v_max - v_min) / (atoms - 1)
    moved = (returns.unsqueeze(1) + discounts.unsqueeze(1) * support.unsqueeze(0)).clamp(v_min, v_max)
    position = (moved - v_min) / delta  # in [0, N-1]: fractional index of each moved atom
    lower = position.floor().long().clamp(0, atoms - 1)
    upper = position.ceil().long().clamp(0, atoms - 1)
    upper_share = position - lower.to(position.dtype)  # 0 when the atom lands exactly on `lower`
    projected = torch.zeros_like(probs)
    projected.scatter_add_(1, lower, probs * (1.0 - upper_share))
    projected.scatter_add_(1, upper, probs * upper_share)
    return projected


def distributional_loss(online_log_probs: torch.Tensor, target_probs: torch.Tensor, actions: torch.Tensor,
                        next_online_q: torch.Tensor | None, returns: torch.Tensor, discounts: torch.Tensor,
                        support: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample cross-entropy of C51 and the predicted Q of the actions taken.

    online_log_probs: (B, A, N) for the observations; target_probs: (B, A, N) of the target
    network for the next observations; next_online_q: (B, A) the online network's Q there for
    Double DQN's choice of action, or None to let the target network choose.
    """
    with torch.no_grad():
        next_q = next_online_q if next_online_q is not None else (target_probs * support).sum(-1)
        chosen = next_q.argmax(dim=1)
        next_probs = target_probs[torch.arange(chosen.numel(), device=chosen.device), chosen]
        target = project_distribution(next_probs, returns, discounts, support)
    taken = online_log_probs[torch.arange(actions.numel(), device=actions.device), actions]
    cross_entropy = -(target * taken).sum(dim=1)
    q_taken = (taken.detach().exp() * support).sum(dim=1)
    return cross_entropy, q_taken
