"""Deep Q-Network (docs/design.md: rooms; chapter 70), used by the Blackjack project of
chapters 71-75 and Atari Boxing of chapter 69.

Chapter 70 replaces the Q-table of chapter 68 by a network Q(s, .; theta) that takes the state
and outputs one Q-value per action, and trains it on the Bellman error

    target  = r_t + gamma r_{t+1} + ... + gamma^{n-1} r_{t+n-1} + gamma^n max_a Q(s_{t+n}, a; theta^-)
    loss    = Huber (or squared) error between Q(s_t, a_t; theta) and the target

with three ingredients, each below by name:
1. experience replay — transitions go to a cyclic memory (agents.replay) and mini-batches are
   drawn from it at random, breaking the correlation between consecutive steps;
2. a "semi-constant" target network theta^-: a copy of the online network, refreshed every
   C steps (hard) or nudged by tau each step (soft, Polyak);
3. epsilon-greedy exploration with a schedule (agents.schedules).
Options from later papers: Double DQN (van Hasselt et al. 2016: the online network picks
argmax_a, the target network values it), the dueling head (Wang et al. 2016, in nets.heads),
n-step returns, prioritized replay weights, gradient-norm clipping, Adam, AdamW or RMSprop.

The ingredients of the data-efficient Atari agents (DrQ(eps), SPR, SR-SPR, BBF), each one key
of the `agent:` section, each off by default:
- `distributional` (+ `atoms`, `v_min`, `v_max`): C51's return distribution (agents.algorithms.c51);
- `augmentation: shift` (+ `shift_pad`): DrQ's random shifts of obs and next_obs in the update
  (agents.algorithms.augment);
- `n_step_start`, `gamma_start`, `anneal_updates`: BBF's n and gamma, annealed from these to
  `n_step` and `gamma` over that many gradient steps after each reset (agents.schedules);
- `target_update: soft` with `tau`: the EMA target network (0.005 in BBF);
- `reset_every`, `shrink`: periodic resets with shrink-and-perturb (agents.algorithms.resets);
- `replay_ratio`: gradient steps per agent step (instead of `train_every`); `optimizer: adamw`
  with `weight_decay`;
- `spr_weight` (+ `spr_steps`): SPR's loss of predicting future latents (agents.algorithms.spr).
And one for the machine: `precision: bfloat16` runs the update's forward passes in bfloat16
(torch.autocast; weights, optimiser and losses stay float32), a saving where the processor has
bfloat16 arithmetic (scripts/bench.py atari --only ingredients measures it).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Callable, Literal, Optional

import numpy as np
import torch
import torch.nn.functional as F

from lab.checkpoint import check_tensors
from lab.checks import at_least, positive, require, within
from lab.i18n import tr
from nets.heads import DistributionalHead

from agents.algorithms.augment import random_shift
from agents.algorithms.c51 import distributional_loss
from agents.algorithms.resets import fresh_network, reset_seed, shrink_and_perturb
from agents.algorithms.spr import SPRModel, spr_loss
from agents.replay import Batch
from agents.schedules import epsilon_greedy


@dataclasses.dataclass
class DQNConfig:
    """The `agent:` section of a dqn preset; every default of the DQN lives here."""

    gamma: float = 0.99  # used by the replay's n-step returns and discounts
    n_step: int = 1
    double: bool = False
    dueling: bool = False
    loss: Literal["huber", "mse"] = "huber"  # distributional: cross-entropy instead
    optimizer: Literal["adam", "adamw", "rmsprop"] = "adam"
    lr: float = 1e-4
    lr_end: Optional[float] = None  # linear decay to this by the end of the budget
    adam_eps: float = 1.5e-4
    weight_decay: float = 0.0  # AdamW's decoupled weight decay (0.1 in BBF)
    max_grad_norm: Optional[float] = 10.0
    target_update: Literal["hard", "soft"] = "hard"  # soft: EMA target, moved by tau each step
    target_period: int = 1000  # gradient steps between hard target refreshes
    tau: float = 0.005
    batch_size: int = 32
    learning_starts: int = 1000  # agent steps of random play before learning
    train_every: Optional[int] = 4  # agent steps per gradient step (1/replay ratio)
    replay_ratio: Optional[float] = None  # gradient steps per agent step; set train_every null
    clip_rewards: bool = False  # Nature protocol: learn from sign(r), report raw returns
    channels_last: bool = False
    # C51 (Bellemare et al. 2017): a distribution over `atoms` returns in [v_min, v_max]
    distributional: bool = False
    atoms: int = 51
    v_min: float = -10.0
    v_max: float = 10.0
    # DrQ: random shifts of up to shift_pad pixels of obs and next_obs in each update
    augmentation: Literal["none", "shift"] = "none"
    shift_pad: int = 4
    # BBF: n and gamma annealed from these to n_step and gamma over anneal_updates after a reset
    n_step_start: Optional[int] = None
    gamma_start: Optional[float] = None
    anneal_updates: int = 10_000
    # resets every reset_every gradient steps (0: never): encoder shrunk, head re-drawn
    reset_every: int = 0
    shrink: float = 0.5  # encoder = shrink * old + (1 - shrink) * fresh
    # SPR: predict the target encoder's next spr_steps latents; its loss weighted spr_weight (0: off)
    spr_weight: float = 0.0
    spr_steps: int = 5
    # the update's forward passes in bfloat16 (torch.autocast), or all in float32
    precision: Literal["float32", "bfloat16"] = "float32"

    def __post_init__(self) -> None:
        for name in ("gamma", "gamma_start"):
            if getattr(self, name) is not None:
                within(f"agent.{name}", getattr(self, name), 0, 1)
        for name in ("lr", "lr_end", "adam_eps", "max_grad_norm", "replay_ratio"):
            if getattr(self, name) is not None:
                positive(f"agent.{name}", getattr(self, name))
        for name in ("n_step", "target_period", "batch_size", "train_every", "n_step_start", "anneal_updates",
                     "spr_steps"):
            if getattr(self, name) is not None:
                at_least(f"agent.{name}", getattr(self, name), 1)
        for name in ("learning_starts", "reset_every", "shift_pad", "weight_decay", "spr_weight"):
            at_least(f"agent.{name}", getattr(self, name), 0)
        within("agent.tau", self.tau, 0, 1, low_open=True)
        require((self.train_every is None) != (self.replay_ratio is None),
                tr("set exactly one of agent.train_every (agent steps per gradient step) and agent.replay_ratio "
                   "(gradient steps per agent step); the other null, got train_every={train_every}, "
                   "replay_ratio={replay_ratio}").format(train_every=self.train_every, replay_ratio=self.replay_ratio))
        require(not self.weight_decay or self.optimizer == "adamw",
                tr("agent.weight_decay applies to optimizer adamw, not {optimizer}").format(optimizer=self.optimizer))
        require(self.atoms >= 2 and self.v_min < self.v_max,
                tr("agent.atoms must be >= 2 and agent.v_min < agent.v_max, got {atoms}, {v_min}, {v_max}").format(
                    atoms=self.atoms, v_min=self.v_min, v_max=self.v_max))
        within("agent.shrink", self.shrink, 0, 1)
        require(self.gamma_start is None or max(self.gamma, self.gamma_start) < 1.0,
                tr("annealing gamma (agent.gamma_start) needs agent.gamma and agent.gamma_start below 1"))

    @property
    def updates_per_step(self) -> float:
        """Gradient steps per agent step: replay_ratio, or 1 / train_every."""
        return self.replay_ratio if self.replay_ratio is not None else 1.0 / self.train_every

    @property
    def longest_n_step(self) -> int:
        """The replay must keep this many steps ahead of a transition (n anneals from n_step_start;
        SPR looks spr_steps ahead)."""
        return max(self.n_step, self.n_step_start or 1, self.spr_steps if self.spr_weight else 1)


class DQNAgent:
    """Acts epsilon-greedily with an online Q-network and learns from replayed batches.

    `build_network` rebuilds the Q-network fresh (same constructor and init); resets draw from
    it. Without one a reset re-initialises a copy with each layer's `reset_parameters`.
    """

    def __init__(self, q_network: torch.nn.Module, n_actions: int, config: DQNConfig | None = None,
                 device: torch.device | str = "cpu", seed: int = 0,
                 build_network: Callable[[], torch.nn.Module] | None = None) -> None:
        config = config or DQNConfig()
        self.config, self.seed = config, int(seed)
        self.device = torch.device(device)
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        self.online = q_network.to(self.device, memory_format=self.memory_format)
        # 2. the semi-constant target network: same weights, no gradients
        self.target = copy.deepcopy(self.online).requires_grad_(False)
        self.n_actions = int(n_actions)
        self.double, self.loss = bool(config.double), config.loss
        self.max_grad_norm = config.max_grad_norm
        self.target_update, self.target_period, self.tau = config.target_update, config.target_period, config.tau
        if config.distributional and not isinstance(getattr(q_network, "head", None), DistributionalHead):
            raise ValueError(tr("agent.distributional needs a network with a distributional head "
                                "(nets.build(..., head='distributional'))"))
        self.build_network = build_network or (lambda: _reinitialised(q_network))
        self.spr = self._make_spr()
        self._optimizer: torch.optim.Optimizer | None = None
        self._target_copied = False  # set by a hard refresh, cleared by the next gradient step
        self.rng = np.random.default_rng(seed)
        self.updates = 0

    def _make_spr(self) -> SPRModel | None:
        if not self.config.spr_weight:
            return None
        if not (hasattr(self.online, "encode") and hasattr(self.online, "fc")):
            raise ValueError(tr("agent.spr_weight needs a Q-network with a convolutional encoder "
                                "(net.kind nature_cnn)"))
        return self.build_spr().to(self.device, memory_format=self.memory_format)

    def build_spr(self) -> SPRModel:
        """SPR's models sized for the online network (fresh ones for a reset, too)."""
        return SPRModel(self.online.convs[-2].out_channels, self.n_actions, self.online.fc[0].out_features)

    @property
    def trained_parameters(self) -> list[torch.nn.Parameter]:
        """The online network's parameters and SPR's models'."""
        return [*self.online.parameters(), *(self.spr.parameters() if self.spr is not None else ())]

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """The optimiser, made at its first use: an agent that only plays (evaluate.py, record.py,
        play.py) never needs one, and making torch's first optimiser imports torch._dynamo, seconds
        of start-up."""
        if self._optimizer is None:
            self._optimizer = self._make_optimizer()
        return self._optimizer

    def _make_optimizer(self) -> torch.optim.Optimizer:
        config, parameters = self.config, self.trained_parameters
        # One fused kernel for all parameters instead of a loop over them: measured 3 ms
        # instead of 24 ms per Adam step for the Nature CNN on one CPU thread.
        fused = self.device.type in ("cpu", "cuda")
        if config.optimizer == "adam":
            return torch.optim.Adam(parameters, lr=config.lr, eps=config.adam_eps, fused=fused)
        if config.optimizer == "adamw":
            return torch.optim.AdamW(parameters, lr=config.lr, eps=config.adam_eps,
                                     weight_decay=config.weight_decay, fused=fused)
        # the Nature paper's choice (centred RMSprop, eps 0.01/32^2 in DeepMind's code)
        return torch.optim.RMSprop(parameters, lr=config.lr, alpha=0.95, eps=0.01, centered=True, foreach=True)

    # -- acting (3. epsilon-greedy) ----------------------------------------------------------
    def _tensor(self, observations: np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(observations), device=self.device)
        if x.dim() == 4:
            x = x.contiguous(memory_format=self.memory_format)
        return x

    @torch.no_grad()  # inference_mode measured no faster here (0.95 vs 0.85 ms per step)
    def q_values(self, observations: np.ndarray) -> np.ndarray:
        """Q(s, .) for a batch of observations, as a (batch, n_actions) array."""
        return self.online(self._tensor(observations)).float().cpu().numpy()

    def act(self, observations: np.ndarray, epsilon: float) -> np.ndarray:
        """One action per row: random with probability epsilon, else argmax_a Q(s, a)."""
        return epsilon_greedy(observations, epsilon, self.rng, self.n_actions,
                              lambda rows: self.q_values(rows).argmax(axis=1))

    # -- learning (1. from replayed batches) ---------------------------------------------------
    def _augmented(self, observations: np.ndarray) -> torch.Tensor:
        """A replayed batch as a tensor on the device, shifted first if augmentation asks."""
        if self.config.augmentation == "shift":
            observations = random_shift(observations, self.config.shift_pad, self.rng)
        x = torch.as_tensor(observations, device=self.device)
        return x.contiguous(memory_format=self.memory_format) if x.dim() == 4 else x

    def learn(self, batch: Batch) -> dict:
        """One gradient step on a replayed batch; returns loss, mean Q and |TD errors| (for a
        distributional agent the per-sample cross-entropy stands for |TD error|)."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.precision == "bfloat16"):
            loss, figures = self._loss(batch)
        self.step_on(loss)  # backward outside autocast: gradients take the forward's dtypes
        return figures

    def _loss(self, batch: Batch) -> tuple[torch.Tensor, dict]:
        obs, next_obs = self._augmented(batch.obs), self._augmented(batch.next_obs)
        actions = torch.as_tensor(batch.actions, device=self.device, dtype=torch.int64)
        returns = torch.as_tensor(batch.returns, device=self.device, dtype=torch.float32)
        discounts = torch.as_tensor(batch.discounts, device=self.device, dtype=torch.float32)
        weights = torch.as_tensor(batch.weights, device=self.device, dtype=torch.float32)

        head, latent = getattr(self.online, "head", None), None
        if self.spr is not None:  # the encoder's maps once, for the Q head and SPR's rollout
            latent = self.online.encode(obs)
            features = self.online.fc(torch.flatten(latent, start_dim=1))
        if self.config.distributional:
            features = features if latent is not None else self.online.features(obs)
            per_sample, q_taken = self._distributional_terms(head.log_probs(features), next_obs, actions, returns,
                                                             discounts)
            td_error = per_sample.detach()
        else:
            with torch.no_grad():
                next_q_target = self.target(next_obs).float()
                if self.double and not self.target_is_online:  # online chooses, target evaluates
                    next_actions = self.online(next_obs).argmax(dim=1, keepdim=True)
                    next_value = next_q_target.gather(1, next_actions).squeeze(1)
                else:
                    next_value = next_q_target.max(dim=1).values
                # discounts = gamma^n, or 0 when the episode terminated within the n steps
                target = returns + discounts * next_value

            q_all = head(features) if latent is not None else self.online(obs)
            q_taken = q_all.float().gather(1, actions.unsqueeze(1)).squeeze(1)
            td_error = target - q_taken
            if self.loss == "huber":
                per_sample = F.smooth_l1_loss(q_taken, target, reduction="none")
            else:
                per_sample = 0.5 * td_error.pow(2)
        loss = td_loss = (weights * per_sample).mean()  # weights = 1 unless prioritized
        extra = {}
        if self.spr is not None:
            frames = self._augmented(batch.future_obs.reshape(-1, *batch.future_obs.shape[2:]))
            actions, mask = (torch.as_tensor(x, device=self.device) for x in (batch.future_actions, batch.future_mask))
            predictive = spr_loss(self.online, self.target, self.spr, latent, frames, actions, mask).mean()
            loss = loss + self.config.spr_weight * predictive
            extra["spr_loss"] = float(predictive.detach())
        return loss, {
            "td_loss": float(td_loss.detach()),
            "q_values": float(q_taken.detach().mean()),
            "td_errors": td_error.detach().float().abs().cpu().numpy(),
        } | extra

    def _distributional_terms(self, log_probs, next_obs, actions, returns, discounts):
        with torch.no_grad():
            target_probs = self.target.head.log_probs(self.target.features(next_obs)).exp()
            next_online_q = self.online(next_obs).float() if self.double and not self.target_is_online else None
        return distributional_loss(log_probs, target_probs, actions, next_online_q, returns, discounts,
                                   self.online.head.support)

    def step_on(self, loss: torch.Tensor) -> None:
        """One optimiser step down `loss`'s gradient, clipped to max_grad_norm, then the target
        network's refresh: the step every value-based agent here shares (DQN, R2D2)."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.max_grad_norm:
            # clip_grad_norm_ scales every gradient even by 1.0 (measured 1.3 ms of a 20 ms
            # update); scaling only when the factor max/(norm + 1e-6) is below 1 is the same math.
            parameters = [p for p in self.trained_parameters if p.grad is not None]
            norm = torch.nn.utils.get_total_norm([p.grad for p in parameters])
            if float(norm) + 1e-6 > self.max_grad_norm:
                torch.nn.utils.clip_grads_with_norm_(parameters, self.max_grad_norm, norm)
        self.optimizer.step()
        self._target_copied = False
        self.updates += 1
        self._refresh_target()
        if self.config.reset_every and self.updates % self.config.reset_every == 0:
            self.reset()

    @property
    def updates_since_reset(self) -> int:
        every = self.config.reset_every
        return self.updates % every if every else self.updates

    def reset(self) -> None:
        """Shrink-and-perturb the encoder, re-draw the head, forget the optimiser's moments; the
        target network takes the same treatment with the same fresh draw (as in BBF)."""
        seed = reset_seed(self.seed, self.updates)
        fresh = fresh_network(self.build_network, seed)
        for network in (self.online, self.target):
            shrink_and_perturb(network, fresh, self.config.shrink)
        if self.spr is not None:  # its transition model shrinks like the encoder, its predictor is re-drawn
            shrink_and_perturb(self.spr, fresh_network(self.build_spr, seed), self.config.shrink)
        self.optimizer.state.clear()
        self._target_copied = False

    # -- 2. the target network -----------------------------------------------------------------
    @property
    def target_is_online(self) -> bool:
        """Whether the target network holds the online network's weights now: a hard refresh
        copied them after the last gradient step (every step with DrQ's target_period 1). Double
        DQN's choice by the online network is then the target's own argmax, and one forward pass
        over next_obs does for both (measured 5.5 of a 35 ms update)."""
        return self._target_copied

    @torch.no_grad()
    def _refresh_target(self) -> None:
        if self.target_update == "hard":
            if self.updates % self.target_period == 0:
                self.target.load_state_dict(self.online.state_dict())
                self._target_copied = True
        else:
            for target, online in zip(self.target.parameters(), self.online.parameters()):
                target.lerp_(online, self.tau)

    # -- saving --------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "updates": self.updates,
            "rng": self.rng.bit_generator.state,
        } | ({"spr": self.spr.state_dict()} if self.spr is not None else {})

    def load_state_dict(self, state: dict, weights_only: bool = False) -> None:
        check_tensors(state["online"], self.online.state_dict(), "online network")
        check_tensors(state["target"], self.target.state_dict(), "target network")
        self.online.load_state_dict(state["online"])
        if self.spr is not None:
            check_tensors(state["spr"], self.spr.state_dict(), "SPR models")
            self.spr.load_state_dict(state["spr"])
        self.target.load_state_dict(state["target"])
        self._target_copied = False
        if not weights_only:
            self.optimizer.load_state_dict(state["optimizer"])
            self.updates = int(state["updates"])
            self.rng.bit_generator.state = state["rng"]


def _reinitialised(network: torch.nn.Module) -> torch.nn.Module:
    """A copy of `network` with every layer's default initialisation drawn anew."""
    fresh = copy.deepcopy(network)
    for module in fresh.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    return fresh
