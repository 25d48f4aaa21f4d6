"""Output heads shared by every body network (chapters 17-18, 69-75; Wang et al. 2016).

A body (MLP, Nature CNN, transformer) turns an input into a feature vector; a head turns the
features into what the task needs:

* :class:`QHead` - one action value per action, the DQN output (chapters 69-75);
* :class:`DuelingHead` - the dueling architecture of Wang et al. (2016): a state value V(s)
  plus action advantages A(s, a) with their mean removed, so Q = V + A - mean(A);
* :class:`DistributionalHead` - C51 (Bellemare et al. 2017): for each action a probability over
  ``atoms`` fixed returns between ``v_min`` and ``v_max``; its Q-values are the means, so an agent
  acts on it as on a Q head (optionally dueling over the atoms' logits, as in Rainbow);
* :class:`ClassifierHead` - class scores (logits) for softmax / cross-entropy (chapters 17-18).

Bodies take a ``head`` option with one of :data:`HEAD_CHOICES` and the head's own keywords as
``head_options`` (e.g. ``{"atoms": 51, "v_min": -10, "v_max": 10}``); :func:`make_head` builds it.
"""

from __future__ import annotations

import torch
from torch import nn

from lab.checks import require, shown
from lab.i18n import tr

from nets.registry import NetError, check_choice

HEAD_CHOICES: tuple[str | None, ...] = ("q", "dueling", "distributional", "classifier", None)


class QHead(nn.Module):
    """Linear map from features to one Q-value per action."""

    def __init__(self, in_features: int, n_actions: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, n_actions)
        self.out_features = n_actions

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)


class DuelingHead(nn.Module):
    """Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a') (Wang et al., 2016).

    Removing the mean advantage makes V and A identifiable: without it any constant could
    move between the two streams.  ``hidden`` > 0 gives each stream its own hidden ReLU
    layer, as in the paper's Atari network; 0 makes both streams linear.
    """

    def __init__(self, in_features: int, n_actions: int, hidden: int = 0) -> None:
        super().__init__()
        self.value = _stream(in_features, 1, hidden)
        self.advantage = _stream(in_features, n_actions, hidden)
        self.out_features = n_actions

    def streams(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (V of shape (..., 1), mean-centred A of shape (..., n_actions))."""
        value = self.value(features)
        advantage = self.advantage(features)
        return value, advantage - advantage.mean(dim=-1, keepdim=True)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        value, centred_advantage = self.streams(features)
        return value + centred_advantage


def _stream(in_features: int, out_features: int, hidden: int) -> nn.Module:
    if hidden <= 0:
        return nn.Linear(in_features, out_features)
    return nn.Sequential(
        nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, out_features)
    )


class DistributionalHead(nn.Module):
    """C51 (Bellemare et al. 2017): a softmax over ``atoms`` returns z_i evenly spaced in
    [v_min, v_max] for every action; ``forward`` gives Q(s, a) = sum_i p_i(s, a) z_i.

    With ``dueling`` the logits are V(s, i) + A(s, a, i) - mean_a' A(s, a', i) (Rainbow's
    dueling distributional head).  :meth:`log_probs` is what a distributional loss needs.
    """

    def __init__(self, in_features: int, n_actions: int, atoms: int = 51, v_min: float = -10.0,
                 v_max: float = 10.0, dueling: bool = False) -> None:
        super().__init__()
        require(int(atoms) >= 2 and float(v_min) < float(v_max),
                tr("distributional head needs atoms >= 2 and v_min < v_max, got atoms={atoms}, v_min={v_min}, "
                   "v_max={v_max}").format(atoms=shown(atoms), v_min=shown(v_min), v_max=shown(v_max)), NetError)
        self.n_actions, self.atoms = int(n_actions), int(atoms)
        self.register_buffer("support", torch.linspace(float(v_min), float(v_max), self.atoms))
        self.advantage = nn.Linear(in_features, self.n_actions * self.atoms)
        self.value = nn.Linear(in_features, self.atoms) if dueling else None
        self.out_features = self.n_actions

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """(B, n_actions, atoms) unnormalised log-probabilities."""
        logits = self.advantage(features).view(-1, self.n_actions, self.atoms)
        if self.value is None:
            return logits
        return self.value(features).unsqueeze(1) + logits - logits.mean(dim=1, keepdim=True)

    def log_probs(self, features: torch.Tensor) -> torch.Tensor:
        """(B, n_actions, atoms) log p_i(s, a), normalised over the atoms."""
        return torch.log_softmax(self.logits(features).float(), dim=-1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (self.log_probs(features).exp() * self.support).sum(dim=-1)


class ClassifierHead(nn.Module):
    """Linear map from features to class logits (softmax is left to the loss)."""

    def __init__(self, in_features: int, n_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, n_classes)
        self.out_features = n_classes

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)


def make_head(name: str | None, in_features: int, n_outputs: int | None,
              options: dict | None = None) -> nn.Module | None:
    """Build the head called ``name`` (one of :data:`HEAD_CHOICES`) with its keyword ``options``
    (only the distributional head takes any); None means no head."""
    if name == "none":
        name = None
    check_choice("head", name, HEAD_CHOICES)
    if name is None:
        return None
    require(n_outputs is not None and int(n_outputs) >= 1,
            tr("head {name} needs n_outputs >= 1 (number of actions or classes), got {n_outputs}").format(
                name=repr(name), n_outputs=shown(n_outputs)), NetError)
    require(not options or name == "distributional", tr("head {name} takes no head_options, got {options}").format(
        name=repr(name), options=sorted(options or {})), NetError)
    if name == "distributional":
        allowed = {"atoms", "v_min", "v_max", "dueling"}
        if set(options or {}) - allowed:
            raise NetError(tr("distributional head options are {allowed}, got {options}").format(
                allowed=sorted(allowed), options=sorted(options)))
        return DistributionalHead(in_features, int(n_outputs), **(options or {}))
    if name == "q":
        return QHead(in_features, int(n_outputs))
    if name == "dueling":
        return DuelingHead(in_features, int(n_outputs))
    return ClassifierHead(in_features, int(n_outputs))
