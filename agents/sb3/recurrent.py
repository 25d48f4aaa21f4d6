"""sb3-contrib's RecurrentPPO (docs/design.md: agents with memory; chapters 48-53).

In the SB3 backend as `--backend sb3 --algo recurrent-ppo`: the reference that the agents with
memory are measured against (beyond the book; chapters 48-53's LSTM in a policy-gradient agent).

RecurrentPPO (an LSTM policy and an LSTM critic, sb3-contrib's ``MlpLstmPolicy``, or
``CnnLstmPolicy`` for frames) trains inside SB3's own ``learn`` like the other SB3 algorithms;
what this module adds is playing it: the policy needs its LSTM states and the episode starts of
every lane, so evaluation, recordings and ``q_values`` go through :class:`RecurrentSB3Agent`.
Its "values" are V(s) + log pi(a|s) - max_a' log pi(a'|s), as for PPO (agents.sb3.learner).
"""

from __future__ import annotations

import numpy as np
import torch

from lab.i18n import tr

from agents.playing import play_vector_episodes


def build_recurrent_ppo(hyper: dict, common: dict, clip_range, frames: bool):
    """The RecurrentPPO model for SB3Learner (sb3-contrib imported only when asked for)."""
    try:
        from sb3_contrib import RecurrentPPO
    except ModuleNotFoundError:
        raise ValueError(tr("--algo recurrent-ppo needs sb3-contrib: pip install -e '.[memory]'")) from None
    common = dict(common) | {"policy": "CnnLstmPolicy" if frames else "MlpLstmPolicy"}
    return RecurrentPPO(**common, n_steps=hyper["n_steps"], batch_size=hyper["batch_size"],
                        n_epochs=hyper["n_epochs"], gae_lambda=hyper["gae_lambda"], clip_range=clip_range,
                        ent_coef=hyper["ent_coef"], vf_coef=hyper["vf_coef"], max_grad_norm=hyper["max_grad_norm"],
                        normalize_advantage=hyper["normalize_advantage"])


class RecurrentSB3Agent:
    """A RecurrentPPO policy that plays with LSTM states per lane; saving and loading are the
    wrapped SB3 agent's (agents.sb3.learner.SB3Agent: policy, optimizer, RNG)."""

    def __init__(self, saved) -> None:
        self.saved, self.policy, self.n_actions = saved, saved.policy, saved.n_actions
        self.watching = None  # decide()'s states, for recordings

    @property
    def rng(self) -> np.random.Generator:
        return self.saved.rng

    def state_dict(self) -> dict:
        return self.saved.state_dict()

    def load_state_dict(self, state: dict, weights_only: bool = False) -> None:
        self.saved.load_state_dict(state, weights_only=weights_only)

    def initial_states(self, lanes: int):
        from sb3_contrib.common.recurrent.type_aliases import RNNStates

        layers, _, hidden = self.policy.lstm_hidden_state_shape
        zeros = lambda: torch.zeros(layers, lanes, hidden, device=self.policy.device)  # noqa: E731
        return RNNStates((zeros(), zeros()), (zeros(), zeros()))

    @torch.no_grad()
    def step(self, observations: np.ndarray, states, starts: np.ndarray):
        """(preferences (lanes, n_actions), next states): V + log pi - max log pi per lane."""
        self.policy.set_training_mode(False)
        x = torch.as_tensor(np.asarray(observations), device=self.policy.device).float()
        first = torch.as_tensor(starts, dtype=torch.float32, device=self.policy.device)
        _, values, _, new_states = self.policy.forward(x, states, first, deterministic=True)
        distribution, _ = self.policy.get_distribution(x, states.pi, first)
        logits = distribution.distribution.logits
        return (values + logits - logits.max(dim=1, keepdim=True).values).float().cpu().numpy(), new_states

    def q_values(self, observations: np.ndarray) -> np.ndarray:
        """Preferences of observations each seen as the first step of an episode."""
        lanes = len(observations)
        return self.step(observations, self.initial_states(lanes), np.ones(lanes, dtype=bool))[0]

    def greedy_actions(self, observations: np.ndarray) -> np.ndarray:
        return self.q_values(observations).argmax(axis=1)

    def play(self, env_name: str, options: dict, episodes: int, epsilon: float, seed: int, lanes: int,
             quiet: bool = True) -> list[float]:
        """Returns of `episodes` episodes, each lane's LSTM states following its own episodes
        (next-step autoreset: a lane's new episode starts the step after its reset step)."""
        k = max(1, min(episodes, lanes))
        memory = {"states": self.initial_states(k), "starts": np.ones(k, dtype=bool),
                  "resetting": np.zeros(k, dtype=bool)}
        rng = np.random.default_rng(seed)

        def act(observations: np.ndarray) -> np.ndarray:
            values, memory["states"] = self.step(observations, memory["states"], memory["starts"])
            explore = rng.random(k) < epsilon
            return np.where(explore, rng.integers(self.n_actions, size=k), values.argmax(axis=1))

        def after_step(ended: np.ndarray) -> None:
            memory["starts"], memory["resetting"] = memory["resetting"], np.asarray(ended, dtype=bool).copy()

        return play_vector_episodes(act, env_name, options, episodes, seed, lanes=k, quiet=quiet,
                                    after_step=after_step)

    def decide(self, observation) -> tuple[np.ndarray, int]:
        """Preferences at this step of a recorded episode, remembering its earlier steps."""
        starts = np.array([self.watching is None])
        states = self.initial_states(1) if self.watching is None else self.watching
        values, self.watching = self.step(np.asarray(observation)[None], states, starts)
        return values[0], int(values[0].argmax())
