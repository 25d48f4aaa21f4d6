"""Self-predictive representations, SPR (docs/design.md: data-efficient Atari; chapter 70).

Schwarzer et al. 2021, an option of chapter 70's DQN.

Besides the TD loss the encoder learns to predict its own future: from the latent of the
observation at t (the Nature CNN's last convolution maps), a transition model rolled K steps
with the actions taken predicts the latents at t+1..t+K; each prediction goes through the
online projection (the Q head's first dense layer, `fc`) and a prediction head, and is compared
by cosine similarity with the target network's projection of the real observation at t+k
(the target encoder: an exponential moving average of the online one with
`target_update: soft`, as in BBF). Steps past the episode's end are masked out.

Differences from the paper, kept simple here: the transition model is two 3x3 convolutions with
ReLU (no batch norm), latents are not renormalised to [0, 1], and the projection is `fc` with
its ReLU (SPR's is the head's first linear layer alone; on Boxing frames the two make
projections equally alike at the start, docs/experiments.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SPRModel(nn.Module):
    """The transition model over latent maps and the prediction head over projections."""

    def __init__(self, latent_channels: int, n_actions: int, projection: int, hidden: int = 64) -> None:
        super().__init__()
        self.n_actions = int(n_actions)
        self.transition = nn.Sequential(
            nn.Conv2d(latent_channels + self.n_actions, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, latent_channels, 3, padding=1), nn.ReLU())
        self.predictor = nn.Linear(projection, projection)

    def step(self, latent: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """The latent one step later, given (B, C, H, W) maps and (B,) actions (one-hot planes)."""
        planes = F.one_hot(actions, self.n_actions).to(latent.dtype)[:, :, None, None]
        planes = planes.expand(-1, -1, *latent.shape[-2:])
        return self.transition(torch.cat([latent, planes], dim=1))


def spr_loss(online: nn.Module, target: nn.Module, model: SPRModel, latent: torch.Tensor,
             future_frames: torch.Tensor, future_actions: torch.Tensor, future_mask: torch.Tensor) -> torch.Tensor:
    """Per-sample SPR loss: minus the summed cosine similarity of the K predictions (B,).

    latent: online.encode(obs) (B, C, H, W); future_frames (B * K, *obs), the K observations after
    each sample's, augmented as obs is; future_actions (B, K), the action before each future
    observation; future_mask (B, K).
    """
    batch, steps = future_actions.shape
    with torch.no_grad():
        targets = target.fc(torch.flatten(target.encode(future_frames), start_dim=1)).view(batch, steps, -1)
    predictions = []
    for k in range(steps):
        latent = model.step(latent, future_actions[:, k])
        predictions.append(model.predictor(online.fc(torch.flatten(latent, start_dim=1))))
    similarity = F.cosine_similarity(torch.stack(predictions, dim=1), targets.float(), dim=-1)
    return -(similarity * future_mask).sum(dim=1)
