"""The runner: preset -> config -> the trainer of its kind (DESIGN.md: data flow of train.py).

One trainer loop per kind: `agents.tabular_loop` for the episodic tabular agents
(chapters 66-68) and `agents.deep_loop` for the off-policy deep agents (chapters 69-75);
`agents.sb3_backend` hands the same run directory to Stable-Baselines3.
"""

from __future__ import annotations

import importlib

from lab.cli import UsageError
from lab.config import ConfigError, merge, parse_overrides
from lab.rundir import RunDir

from agents import presets

# algo name in a preset -> module whose `train(...)` runs it
TRAINERS = {
    "q-learning": "agents.tabular_loop",
    "value-function": "agents.tabular_loop",
    "dqn": "agents.deep_loop",
}


def resolve_config(preset: str, overrides: list[str] | None) -> dict:
    """The preset's YAML merged with --set overrides (validated by the trainer's dataclass)."""
    config = merge(presets.load(preset), parse_overrides(overrides))
    algo = config.get("algo")
    if algo not in TRAINERS:
        raise ConfigError(f"config: algo must be one of: {', '.join(TRAINERS)}; got {algo!r}")
    return config


def train(
    preset: str,
    overrides: list[str] | None = None,
    seed: int = 0,
    device: str = "auto",
    run_dir: str | None = None,
    quiet: bool = False,
    resume: str | None = None,
    save_replay: bool = False,
    backend: str = "native",
    algo: str | None = None,
) -> str:
    """Train `preset` (or resume RUN_DIR) and return the one-paragraph summary to print."""
    if resume:
        run = RunDir.open(resume)
        config = merge(run.read_config(), parse_overrides(overrides))
        seed = int(config.get("seed", seed))
    else:
        config = resolve_config(preset, overrides)
        config["seed"] = seed
        run = None
    if backend == "sb3":
        module = importlib.import_module("agents.sb3_backend")
        return module.train(config, seed=seed, device=device, run_dir=run_dir, quiet=quiet,
                            algo=algo or "dqn", run=run)
    if backend != "native":
        raise UsageError(f"--backend {backend!r} is not valid; choose native or sb3")
    module = importlib.import_module(TRAINERS[config["algo"]])
    _check_env(config)
    return module.train(config, seed=seed, device=device, run_dir=run_dir, quiet=quiet,
                        run=run, save_replay=save_replay)


def _check_env(config: dict) -> None:
    """A bad environment name or option in a preset or --set is a config mistake: one line."""
    import envs

    env = config.get("env")
    if not isinstance(env, dict) or not isinstance(env.get("name"), str):
        raise ConfigError("config: env.name must name an environment (see envs.available())")
    if env["name"] in ("boxing",):  # native vector envs are checked when built
        return
    try:
        envs.make(env["name"], **dict(env.get("options") or {})).close()
    except ValueError as err:
        raise ConfigError(f"config: env: {err}") from None
