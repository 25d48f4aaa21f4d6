"""One mapping from a preset to SB3's hyperparameters (docs/design.md: rooms; chapters 69-75),
used by the SB3 backend (agents.sb3.learner) and by `scripts/bench.py`.

How a preset maps to SB3:
- DQN: lr (linear to lr_end over the budget), gamma, batch_size, replay capacity,
  learning_starts, n_step, max_grad_norm, Adam eps (or the RMSprop of the Nature paper),
  one gradient step per `train_every` agent steps, hard target refresh every
  `target_period` gradient steps (or Polyak tau), reward clipping, and the preset's epsilon
  schedule over its budget (steps or episodes). SB3's DQN has no Double DQN, dueling head,
  MSE loss or prioritized replay: `unmapped_options` names any of these the preset asks for.
- PPO and A2C: SB3's defaults, with RL-Zoo's tuned values where it has them (CartPole-v1);
  the preset's network is used for both the actor and the critic (one copy each).
- RecurrentPPO (sb3-contrib, agents.sb3.recurrent): PPO's settings with sb3-contrib's own
  LSTM policy (the preset's memory net is ours, not SB3's), RL-Zoo's tuned values for
  CartPole without velocities (its CartPoleNoVel-v1).
The budget is RL-Zoo's tuned one (its n_timesteps, as `sb3.total_steps`) where it has one,
else the preset's (`total_steps` or `total_episodes`); a budget the user gives with
`--set total_steps=...` or `--set total_episodes=...` wins over the tuned one (the runner then
sets `sb3.total_steps` to 0: the config's own budget), and the summary says which was used.
"""

from __future__ import annotations

import math

import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.dqn.policies import DQNPolicy

from lab.config import ConfigError, merge
from lab.i18n import tr

from agents.config import RunConfig
from agents.sb3 import extractors

ACTIVATION_FNS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "elu": torch.nn.ELU,
                  "leaky_relu": torch.nn.LeakyReLU, "gelu": torch.nn.GELU}
UNLIMITED_STEPS = 10**15  # SB3 needs a step budget; an episode budget stops from the callback

# RL-Zoo's tuned hyperparameters (rl-baselines3-zoo, hyperparams/*.yml) where it has them;
# "lin_X" there is X decaying linearly to 0, here X with an `_end` of 0.
TUNED = {
    ("ppo", "CartPole-v1"): dict(n_envs=8, total_steps=100_000, n_steps=32, batch_size=256,
                                 gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                                 learning_rate=1e-3, learning_rate_end=0.0,
                                 clip_range=0.2, clip_range_end=0.0),
    ("a2c", "CartPole-v1"): dict(n_envs=8, total_steps=500_000, ent_coef=0.0),
    # hyperparams/ppo_lstm.yml, CartPoleNoVel-v1 (CartPole-v1 with both velocities zeroed), with
    # sb3-contrib's default MlpLstmPolicy (LSTM 256 for the actor and for the critic)
    ("recurrent-ppo", "cartpole-novel"): dict(n_envs=8, total_steps=100_000, n_steps=32, batch_size=256,
                                              gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                                              learning_rate=1e-3, learning_rate_end=0.0,
                                              clip_range=0.2, clip_range_end=0.0),
}

# SB3 logger keys -> docs/design.md tags
LOSS_TAGS = {
    "dqn": {"train/loss": "losses/td_loss"},
    "ppo": {"train/policy_gradient_loss": "losses/policy_loss", "train/value_loss": "losses/value_loss",
            "train/entropy_loss": "losses/entropy_loss", "train/approx_kl": "losses/approx_kl"},
    "a2c": {"train/policy_loss": "losses/policy_loss", "train/value_loss": "losses/value_loss",
            "train/entropy_loss": "losses/entropy_loss"},
}
LOSS_TAGS["recurrent-ppo"] = LOSS_TAGS["ppo"]



# -- hyperparameters -------------------------------------------------------------------------
def default_hyperparameters(algo: str, config: RunConfig) -> dict:
    """Every SB3 hyperparameter of `algo` for this preset, before `sb3:` overrides."""
    a = config.agent
    n_envs = config.env.num_envs
    if algo == "dqn":
        # ours: `updates_per_step` gradient steps per agent step, n_envs agent steps per env.step
        steps_per_update = 1.0 / a.updates_per_step
        if n_envs >= steps_per_update:
            train_freq, gradient_steps = 1, max(1, round(n_envs / steps_per_update))
        else:
            train_freq, gradient_steps = max(1, round(steps_per_update / n_envs)), 1
        hard = a.target_update == "hard"
        return dict(
            n_envs=n_envs, total_steps=0, learning_rate=a.lr, learning_rate_end=a.lr_end,
            gamma=a.gamma, batch_size=a.batch_size, buffer_size=config.replay.capacity,
            learning_starts=a.learning_starts, train_freq=train_freq, gradient_steps=gradient_steps,
            n_steps=a.n_step,
            # SB3 counts the target period in agent steps; ours in gradient steps
            target_update_interval=max(1, round(a.target_period * steps_per_update if hard else steps_per_update)),
            tau=1.0 if hard else a.tau,
            max_grad_norm=a.max_grad_norm if a.max_grad_norm else 1e9,  # SB3 always clips
            optimizer=a.optimizer, adam_eps=a.adam_eps, weight_decay=a.weight_decay, clip_rewards=a.clip_rewards,
            policy=dict(net_arch=[], activation_fn="relu"),
        )
    on_policy = dict(policy=dict(net_arch=[], activation_fn="tanh", share_features_extractor=False,
                                 ortho_init=True))
    if algo == "recurrent-ppo":  # sb3-contrib's MlpLstmPolicy defaults; the preset's net is not used
        on_policy = dict(policy=dict(lstm_hidden_size=256, n_lstm_layers=1, enable_critic_lstm=True,
                                     activation_fn="tanh", ortho_init=True))
    if algo in ("ppo", "recurrent-ppo"):
        values = dict(n_envs=n_envs, total_steps=0, learning_rate=3e-4, learning_rate_end=None,
                      n_steps=2048, batch_size=64, n_epochs=10, gamma=a.gamma, gae_lambda=0.95,
                      clip_range=0.2, clip_range_end=None, ent_coef=0.0, vf_coef=0.5,
                      max_grad_norm=0.5, normalize_advantage=True, **on_policy)
    else:  # a2c (runner.resolve_config refuses any name outside presets.SB3_ALGOS)
        values = dict(n_envs=n_envs, total_steps=0, learning_rate=7e-4, learning_rate_end=None,
                      n_steps=5, gamma=a.gamma, gae_lambda=1.0, ent_coef=0.0, vf_coef=0.5,
                      max_grad_norm=0.5, use_rms_prop=True, rms_prop_eps=1e-5,
                      normalize_advantage=False, **on_policy)
    return merge(values, TUNED.get((algo, config.env.name), {}))


def resolve_hyperparameters(algo: str, config: RunConfig, overrides: dict | None) -> dict:
    """Defaults merged with the config's `sb3:` section; an unknown key is a ConfigError."""
    defaults = default_hyperparameters(algo, config)
    overrides = dict(overrides or {})
    for key, value in overrides.items():
        if key not in defaults:
            raise ConfigError(tr("config: unknown key 'sb3.{key}' for SB3 {algo}; allowed: {choices}").format(
                key=key, algo=algo, choices=', '.join(defaults)))
        if key == "policy":
            if not isinstance(value, dict):
                raise ConfigError(tr("config: sb3.policy must be a mapping, got {value}").format(value=repr(value)))
            for sub in value:
                if sub not in defaults["policy"]:
                    raise ConfigError(tr("config: unknown key 'sb3.policy.{sub}' for SB3 {algo}; allowed: {choices}").format(
                        sub=sub, algo=algo, choices=', '.join(defaults['policy'])))
    values = merge(defaults, overrides)
    if values["policy"]["activation_fn"] not in ACTIVATION_FNS:
        raise ConfigError(tr("config: sb3.policy.activation_fn must be one of: {choices}; got {activation_fn}").format(
            choices=', '.join(ACTIVATION_FNS), activation_fn=repr(values['policy']['activation_fn'])))
    values = {key: check_hyperparameter(key, value) for key, value in values.items()}
    values["policy"] = {key: check_hyperparameter(f"policy.{key}", value) for key, value in values["policy"].items()}
    if algo in ("ppo", "recurrent-ppo") and values["n_steps"] * values["n_envs"] < 2:
        raise ConfigError(tr("config: sb3.n_steps * sb3.n_envs must be >= 2 (PPO normalises advantages over a "
                             "rollout)"))
    if algo in ("ppo", "recurrent-ppo") and values["batch_size"] < 2:
        raise ConfigError(tr("config: sb3.batch_size must be >= 2 for PPO, got {value}").format(
            value=values["batch_size"]))
    if algo == "dqn" and values["optimizer"] not in ("adam", "rmsprop"):
        raise ConfigError(tr("config: sb3.optimizer must be one of: adam, rmsprop; got {value}").format(
            value=repr(values["optimizer"])))
    if algo == "dqn" and values["buffer_size"] < values["batch_size"]:
        raise ConfigError(tr("config: sb3.buffer_size ({size}) must hold at least a batch (sb3.batch_size "
                             "{batch})").format(size=values["buffer_size"], batch=values["batch_size"]))
    return values


#: what each SB3 hyperparameter may be: (kind, least, most, least included); kinds: "count"
#: (a whole number), "real" (a finite number), "flag" (true or false)
LIMITS = {
    "n_envs": ("count", 1, 1024), "total_steps": ("count", 0, 10**10), "n_steps": ("count", 1, 10**7),
    "batch_size": ("count", 1, 10**7), "n_epochs": ("count", 1, 10**4), "buffer_size": ("count", 1, 10**9),
    "learning_starts": ("count", 0, 10**10), "train_freq": ("count", 1, 10**7), "gradient_steps": ("count", 1, 10**4),
    "target_update_interval": ("count", 1, 10**10), "lstm_hidden_size": ("count", 1, 2**16),
    "n_lstm_layers": ("count", 1, 64), "learning_rate": ("real", 0.0, 10.0, False), "gamma": ("real", 0.0, 1.0),
    "gae_lambda": ("real", 0.0, 1.0), "clip_range": ("real", 0.0, 10.0, False), "ent_coef": ("real", 0.0, 10.0),
    "vf_coef": ("real", 0.0, 10.0), "max_grad_norm": ("real", 0.0, 1e10, False), "tau": ("real", 0.0, 1.0, False),
    "rms_prop_eps": ("real", 0.0, 1.0, False), "adam_eps": ("real", 0.0, 1.0, False),
    "learning_rate_end": ("real", 0.0, 10.0), "clip_range_end": ("real", 0.0, 10.0),
    "normalize_advantage": ("flag",), "use_rms_prop": ("flag",), "clip_rewards": ("flag",),
    "enable_critic_lstm": ("flag",), "share_features_extractor": ("flag",), "ortho_init": ("flag",),
}


def check_hyperparameter(key: str, value):
    """`value` (whole numbers as int), or one line naming `sb3.KEY` when it is a value SB3 or
    sb3-contrib would crash on."""
    if key == "policy.net_arch":
        layers = [size for sizes in value.values() for size in (sizes if isinstance(sizes, list) else [None])] \
            if isinstance(value, dict) else value
        if not isinstance(layers, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1
                                                   for s in layers):
            raise ConfigError(tr("config: sb3.policy.net_arch must be a list of positive integers (or pi:/vf: "
                                 "lists of them), got {value}").format(value=repr(value)))
        return value
    limits = LIMITS.get(key.split(".")[-1])
    if limits is None or (value is None and key.endswith("_end")):
        return value
    kind = limits[0]
    if kind == "flag":
        if not isinstance(value, bool):
            raise ConfigError(tr("config: sb3.{key} must be true or false, got {value}").format(
                key=key, value=repr(value)))
        return value
    least, most = limits[1], limits[2]
    strict = len(limits) > 3 and not limits[3]
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "count" and not (number and float(value).is_integer()):
        raise ConfigError(tr("config: sb3.{key} must be a whole number, got {value}").format(key=key, value=repr(value)))
    if not number or value > most or value < least or (strict and value == least):
        bound = f"> {least}" if strict else f">= {least}"
        raise ConfigError(tr("config: sb3.{key} must be a number {bound} and <= {most:g}, got {value}").format(
            key=key, bound=bound, most=most, value=repr(value)))
    return int(value) if kind == "count" else value


def budget_line(algo: str, config: RunConfig) -> str:
    """Which budget the run used and why (a tuned budget replaces the preset's silently otherwise)."""
    tuned = TUNED.get((algo, config.env.name), {}).get("total_steps")
    used = int(config.sb3["total_steps"])
    if used and used == tuned:
        return (f"budget: {used:,} steps, RL-Zoo's tuned budget for {algo} on {config.env.name} "
                "(--set total_steps=N or total_episodes=N gives yours)")
    if used:
        return f"budget: {used:,} steps, from sb3.total_steps"
    own = " or ".join(f"{value:,} {unit}" for value, unit in ((config.total_episodes, "episodes"),
                                                              (config.total_steps, "steps")) if value)
    own += ", whichever ends first" if config.total_episodes and config.total_steps else ""
    if tuned:
        return f"budget: {own}, as set (instead of RL-Zoo's tuned {tuned:,} steps for {algo} on {config.env.name})"
    return f"budget: {own}, the config's (RL-Zoo has no tuned budget for {algo} on {config.env.name})"


def unmapped_options(algo: str, config: RunConfig) -> list[str]:
    """Preset options SB3's algorithm has no counterpart for (named in the summary)."""
    if algo != "dqn":
        return []
    a, missing = config.agent, []
    if a.double:
        missing.append("double=true (SB3 DQN is not Double DQN)")
    if a.dueling:
        missing.append("dueling=true (SB3 DQN has no dueling head)")
    if a.loss != "huber":
        missing.append(f"loss={a.loss} (SB3 DQN uses the Huber loss)")
    if config.replay.prioritized:
        missing.append("replay.prioritized=true (SB3 has no prioritized replay)")
    defaults = type(a)()
    missing += [f"{name}={getattr(a, name)} (not in SB3 DQN)"
                for name in ("distributional", "augmentation", "n_step_start", "gamma_start", "reset_every", "spr_weight",
                             "precision")
                if getattr(a, name) != getattr(defaults, name)]
    return missing


def policy_class(algo: str):
    return DQNPolicy if algo == "dqn" else ActorCriticPolicy


def policy_kwargs(algo: str, hyper: dict, config: RunConfig) -> dict:
    """SB3 policy_kwargs: the preset's network as features extractor, then SB3's heads
    (RecurrentPPO: sb3-contrib's own LSTM policy, sized by `sb3.policy`)."""
    policy = hyper["policy"]
    if algo == "recurrent-ppo":
        return dict(policy, activation_fn=ACTIVATION_FNS[policy["activation_fn"]])
    net_arch = policy["net_arch"]
    kwargs = extractors.policy_kwargs(
        config.net.kind, config.net.options,
        net_arch=dict(net_arch) if isinstance(net_arch, dict) else list(net_arch),
        activation_fn=ACTIVATION_FNS[policy["activation_fn"]],
    )
    if algo == "dqn":
        if hyper["optimizer"] == "rmsprop":  # the Nature paper's, as agents.algorithms.dqn builds it
            kwargs |= dict(optimizer_class=torch.optim.RMSprop,
                           optimizer_kwargs=dict(alpha=0.95, eps=0.01, centered=True))
        elif hyper["optimizer"] == "adamw":
            kwargs |= dict(optimizer_class=torch.optim.AdamW,
                           optimizer_kwargs=dict(eps=hyper["adam_eps"], weight_decay=hyper["weight_decay"]))
        else:
            kwargs["optimizer_kwargs"] = dict(eps=hyper["adam_eps"])
    else:
        kwargs |= dict(share_features_extractor=bool(policy["share_features_extractor"]),
                       ortho_init=bool(policy["ortho_init"]))
    return kwargs
