"""A recurrent DQN in the style of R2D2 (docs/design.md: agents with memory; chapters 48-53, 70).

R2D2 is Kapturowski et al. 2019, on Hausknecht & Stone's DRQN: chapter 70's DQN whose
Q-network remembers (chapters 48-53's LSTM/GRU, or chapters 76-90's attention over a window),
learning from replayed sequences.

What changes from :mod:`agents.algorithms.dqn`:

1. The Q-network is :class:`nets.memory_q.MemoryQNetwork`: torso -> memory -> (dueling) head.
   Acting carries one recurrent state per environment lane (:meth:`R2D2Agent.act` takes and
   returns it); a lane's state goes back to zeros when its episode ends (the learner does it).
2. Learning draws *sequences* from :class:`agents.replay.SequenceReplay`: a burn-in prefix
   refreshes the stored (stale) recurrent state without a loss, then L steps are learned with
   n-step double-Q targets; sequences whose burn-in starts at a stored state unroll it without
   gradients (R2D2), those that start at their episode's start (exact zero state) back-propagate
   through it. The target network unrolls the same window from the same state.
3. Priorities are per sequence: eta * max + (1 - eta) * mean of its steps' |TD errors|.
4. Optionally (``value_rescaling``), R2D2's invertible value rescaling instead of clipped
   rewards: the network learns h(Q) with h(x) = sign(x)(sqrt(|x| + 1) - 1) + eps x, and the
   n-step target is h(R + gamma^n h^-1(Q_target)), so large returns are squashed without
   changing which action is greedy (h is increasing).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from lab.checks import require
from lab.i18n import tr

from agents.algorithms.dqn import DQNAgent, DQNConfig
from agents.replay import SequenceBatch, sequence_priority
from agents.replay.sequences import check_sequence_options


@dataclasses.dataclass
class R2D2Config(DQNConfig):
    """The `agent:` section of an r2d2 preset: the DQN's settings plus the sequences'."""

    n_step: int = 3
    double: bool = True
    lr: float = 1e-3
    batch_size: int = 32  # sequences per gradient step
    sequence_length: int = 20  # loss steps per sequence; sequences start every half of it
    burn_in: int = 10  # steps unrolled before the loss (a multiple of sequence_length / 2)
    priority_eta: float = 0.9  # R2D2's priority: eta * max + (1 - eta) * mean |TD error|
    store_state: bool = True  # False: every burn-in starts from zeros (R2D2's zero-state variant)
    value_rescaling: bool = False  # R2D2's h(x): learn squashed values instead of clipping rewards

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sequence_options(self.sequence_length, self.burn_in, self.priority_eta)
        defaults = DQNConfig()  # the data-efficient ingredients are the feed-forward DQN's only
        for name in ("distributional", "augmentation", "n_step_start", "gamma_start", "reset_every", "spr_weight"):
            require(getattr(self, name) == getattr(defaults, name),
                    tr("agent.{name} is an option of algo dqn; algo r2d2 does not take it").format(name=name))


RESCALING_EPS = 1e-3  # R2D2's epsilon in h(x)


def rescale_value(x: torch.Tensor, eps: float = RESCALING_EPS) -> torch.Tensor:
    """h(x) = sign(x) (sqrt(|x| + 1) - 1) + eps x (Pohlen et al. 2018, used by R2D2)."""
    return torch.sign(x) * (torch.sqrt(x.abs() + 1.0) - 1.0) + eps * x


def unrescale_value(y: torch.Tensor, eps: float = RESCALING_EPS) -> torch.Tensor:
    """h^-1(y): the root of h(x) = y, from the quadratic in sqrt(|x| + 1)."""
    root = (torch.sqrt(1.0 + 4.0 * eps * (y.abs() + 1.0 + eps)) - 1.0) / (2.0 * eps)
    return torch.sign(y) * (root.pow(2) - 1.0)


class R2D2Agent(DQNAgent):
    """Acts with a recurrent state per lane and learns from replayed sequences."""

    def __init__(self, q_network: torch.nn.Module, n_actions: int, config: R2D2Config,
                 device: torch.device | str = "cpu", seed: int = 0) -> None:
        super().__init__(q_network, n_actions, config, device=device, seed=seed)
        self.eta = config.priority_eta
        self.burn_in = config.burn_in
        self.value_rescaling = config.value_rescaling

    def initial_state(self, lanes: int) -> torch.Tensor:
        return self.online.initial_state(lanes, self.device)

    # -- acting ---------------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, observations: np.ndarray, state: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
        """Q(s, .) of one step per lane (in return units, also under value rescaling), and each
        lane's next state."""
        q, state = self.online(self._tensor(observations).unsqueeze(1), state, return_state=True)
        q = q[:, 0].float()
        if self.value_rescaling:
            q = unrescale_value(q)
        return q.cpu().numpy(), state

    def act(self, observations: np.ndarray, state: torch.Tensor, epsilon: float
            ) -> tuple[np.ndarray, torch.Tensor]:
        """Epsilon-greedy actions and the next state: the network runs on every lane, even the
        exploring ones, because its memory must follow the whole episode."""
        q, state = self.step(observations, state)
        explore = self.rng.random(len(q)) < epsilon
        actions = np.where(explore, self.rng.integers(self.n_actions, size=len(q)), q.argmax(axis=1))
        return actions, state

    def q_values(self, observations: np.ndarray) -> np.ndarray:
        """Q(s, .) of observations each seen as the first step of an episode."""
        return self.step(observations, self.initial_state(len(observations)))[0]

    # -- learning -------------------------------------------------------------------------------
    def _unroll(self, obs: torch.Tensor, states: torch.Tensor, burn: torch.Tensor) -> torch.Tensor:
        """Online Q over the windows: burn-ins from a stored state run without gradients."""
        frozen = (burn >= self.burn_in) & (self.burn_in > 0) & bool(getattr(self.online, "stores_state", True))
        if not bool(frozen.any()):
            return self.online(obs, states)
        q = obs.new_zeros(obs.shape[:2] + (self.n_actions,), dtype=torch.float32)
        rows = torch.nonzero(frozen).squeeze(1)
        with torch.no_grad():
            _, refreshed = self.online(obs[rows, :self.burn_in], states[rows], return_state=True)
        q_frozen = self.online(obs[rows, self.burn_in:], refreshed)
        q = q.index_put((rows,), torch.cat([q_frozen.new_zeros(rows.numel(), self.burn_in, self.n_actions),
                                            q_frozen], dim=1))
        rest = torch.nonzero(~frozen).squeeze(1)
        if rest.numel():
            q = q.index_put((rest,), self.online(obs[rest], states[rest]).float())
        return q

    def learn(self, batch: SequenceBatch) -> dict:
        """One gradient step on a batch of sequences; loss, mean Q and per-sequence priorities."""
        obs = torch.as_tensor(batch.obs, device=self.device)
        states = torch.as_tensor(batch.states, device=self.device)
        if states.shape[1] != self.online.state_size:  # nothing stored: every burn-in from zeros
            states = self.initial_state(len(obs))
        tensor = lambda x, dtype: torch.as_tensor(x, device=self.device, dtype=dtype)  # noqa: E731
        actions, bootstrap = tensor(batch.actions, torch.int64), tensor(batch.bootstrap, torch.int64)
        returns, discounts = tensor(batch.returns, torch.float32), tensor(batch.discounts, torch.float32)
        mask, weights = tensor(batch.loss_mask, torch.float32), tensor(batch.weights, torch.float32)
        burn = tensor(batch.burn_in, torch.int64)

        q = self._unroll(obs, states, burn).float()
        with torch.no_grad():
            q_target = self.target(obs, states).float()
            at = bootstrap.clamp(max=obs.shape[1] - 1).unsqueeze(-1)
            next_target = q_target.gather(1, at.expand(-1, -1, self.n_actions))
            if self.double:  # the online network chooses, the target network values
                choice = q.detach().gather(1, at.expand(-1, -1, self.n_actions)).argmax(-1, keepdim=True)
            else:
                choice = next_target.argmax(-1, keepdim=True)
            bootstrapped = next_target.gather(2, choice).squeeze(-1)
            if self.value_rescaling:
                target = rescale_value(returns + discounts * unrescale_value(bootstrapped))
            else:
                target = returns + discounts * bootstrapped
        q_taken = q.gather(2, actions.unsqueeze(-1)).squeeze(-1)
        td_error = target - q_taken
        if self.loss == "huber":
            per_step = F.smooth_l1_loss(q_taken, target, reduction="none")
        else:
            per_step = 0.5 * td_error.pow(2)
        loss = (weights[:, None] * per_step * mask).sum() / mask.sum().clamp(min=1.0)
        self.step_on(loss)
        errors = td_error.detach().abs().cpu().numpy()
        values = unrescale_value(q_taken.detach()) if self.value_rescaling else q_taken.detach()
        return {
            "td_loss": float(loss.detach()),
            "q_values": float((values * mask).sum() / mask.sum().clamp(min=1.0)),
            "td_errors": sequence_priority(errors, batch.loss_mask, self.eta),
        }
