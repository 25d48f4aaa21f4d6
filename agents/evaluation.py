"""Evaluating a trained run (chapter 75's evaluation; chapter 69's Atari protocol).

Chapter 75 ends the Blackjack project by playing the trained agent and measuring how well it
does; chapter 69 scores the Boxing agent. `scripts/evaluate.py RUN_DIR` does both for any run
of this project: it loads `checkpoints/best` (or `--checkpoint latest`), plays N episodes with
a chosen epsilon, and writes eval.json with the mean, std, median and the half-width of a 95%
confidence interval, the protocol used and the task's own figures:

- Blackjack: the exact expected return of the greedy policy, the optimum and the regret
  (envs.blackjack_solver), which do not depend on the sampled episodes.
- Atari Boxing: the human-normalised score (score - random) / (human - random) with the
  references random 0.1 and human 12.1. The protocol is the training protocol's (sticky actions
  or not, up to 30 no-op starts, the 108,000-frame episode cap) with epsilon 0.05 by default,
  as DQN papers evaluate (the Atari presets set `evaluation.epsilon`; `--epsilon 0.001` gives
  the near-greedy evaluation of later papers).
- Tabular runs: greedy (epsilon 0) by default; tic-tac-toe adds win/draw/loss rates,
  FrozenLake its success rate.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from lab.cli import UsageError
from lab.rundir import RunDir

CHECKPOINT_CHOICES = ("best", "latest")
DEEP_ALGOS = ("dqn",)
TABULAR_ALGOS = ("q-learning", "value-function")
RANDOM_BOXING, HUMAN_BOXING = 0.1, 12.1


@dataclasses.dataclass
class LoadedRun:
    """A run directory with its trained agent, ready to play."""

    run: RunDir
    agent: Any
    config: Any  # DeepConfig or TabularConfig
    state: dict  # the checkpoint's state (counters, score, ...)
    checkpoint: str
    kind: str  # "deep" or "tabular"


def open_run(run_dir: str | os.PathLike) -> RunDir:
    """The run directory, or a one-line UsageError if `run_dir` is not one."""
    path = Path(run_dir)
    if not path.is_dir():
        raise UsageError(f"run directory {path}: no such folder; give a folder made by train.py "
                         f"(e.g. runs/blackjack-dqn/<time>-s0)")
    if not (path / "config.yaml").is_file():
        raise UsageError(f"run directory {path}: no config.yaml here, so it is not a run directory "
                         f"made by train.py")
    return RunDir.open(path)


def load_run(run_dir: str | os.PathLike, checkpoint: str = "best", device: str = "auto") -> LoadedRun:
    """Open `run_dir` and load its agent from checkpoints/<checkpoint>, whatever its algorithm.

    User mistakes (not a run directory, an unknown or missing checkpoint, a bad device) raise
    UsageError; a damaged checkpoint raises lab.checkpoint.CheckpointError.
    """
    run = open_run(run_dir)
    if checkpoint not in CHECKPOINT_CHOICES:
        raise UsageError(f"--checkpoint {checkpoint!r} is not valid; choose one of: {', '.join(CHECKPOINT_CHOICES)}")
    algo = run.read_config().get("algo")
    if algo not in DEEP_ALGOS + TABULAR_ALGOS:
        raise UsageError(f"run directory {run.path}: config.yaml has algo {algo!r}; "
                         f"known: {', '.join(DEEP_ALGOS + TABULAR_ALGOS)}")
    if not (run.checkpoints / checkpoint).is_dir():
        present = [name for name in CHECKPOINT_CHOICES if (run.checkpoints / name).is_dir()]
        hint = (f"available: {', '.join(present)} (use --checkpoint {present[0]})" if present
                else "the run saved no checkpoint yet")
        raise UsageError(f"run directory {run.path}: checkpoints/{checkpoint} does not exist; {hint}")
    if algo in DEEP_ALGOS:
        from agents import deep_loop

        from lab.device import resolve_device

        try:
            resolve_device(device)
        except ValueError as err:  # e.g. --device cuda on a machine without CUDA
            raise UsageError(str(err)) from None
        if run.read_config().get("backend") == "sb3":  # trained by Stable-Baselines3
            from agents import sb3_backend

            agent, config, state = sb3_backend.load_agent(run, checkpoint, device)
        else:
            agent, config, state = deep_loop.load_agent(run, checkpoint, device)
        return LoadedRun(run, agent, config, state, checkpoint, "deep")
    from agents import tabular_loop

    agent, config, state = tabular_loop.load_agent(run, checkpoint)
    return LoadedRun(run, agent, config, state, checkpoint, "tabular")


def default_episodes(loaded: LoadedRun) -> int:
    """The preset's own evaluation size (the final evaluation's, for deep runs)."""
    if loaded.kind == "deep":
        return loaded.config.evaluation.final_episodes or loaded.config.evaluation.episodes
    return loaded.config.eval_episodes


def default_epsilon(loaded: LoadedRun) -> float:
    """The evaluation protocol's epsilon: the preset's (0.05 on Atari), greedy for tables."""
    return float(loaded.config.evaluation.epsilon) if loaded.kind == "deep" else 0.0


def atari_protocol(options: dict) -> dict:
    """The Atari evaluation protocol in force: the training env's, with raw (unclipped) scores."""
    from envs.atari import MAX_EPISODE_FRAMES, NOOP_MAX, resolve_protocol

    protocol = resolve_protocol(options.get("protocol", "machado"))
    return {
        "atari_protocol": protocol.name,
        "repeat_action_probability": protocol.repeat_action_probability,
        "noop_max": int(options.get("noop_max", NOOP_MAX)),
        "max_episode_frames": int(options.get("max_episode_frames", MAX_EPISODE_FRAMES)),
        "rewards": "raw (unclipped)",
        "reference": protocol.reference,
    }


def _checkpoint_summary(loaded: LoadedRun) -> dict:
    state = loaded.state
    summary = {"name": loaded.checkpoint}
    for key in ("steps", "episodes", "episode", "updates", "score"):
        if key in state and isinstance(state[key], (int, float)):
            summary[key] = state[key]
    return summary


def evaluate_run(
    run_dir: str | os.PathLike,
    checkpoint: str = "best",
    episodes: int | None = None,
    epsilon: float | None = None,
    seed: int = 12345,
    device: str = "auto",
    quiet: bool = False,
) -> str:
    """Play `episodes` episodes with the run's trained agent, write eval.json, return a report.

    Defaults come from the run's config: the preset's evaluation episodes and epsilon (0.05 on
    Atari, 0 for tabular runs).
    """
    loaded = load_run(run_dir, checkpoint, device)
    episodes = default_episodes(loaded) if episodes is None else episodes
    epsilon = default_epsilon(loaded) if epsilon is None else epsilon
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise UsageError(f"--episodes must be a positive integer, got {episodes!r}")
    if not 0.0 <= float(epsilon) <= 1.0:
        raise UsageError(f"--epsilon must be between 0 and 1, got {epsilon!r}")
    if loaded.kind == "deep":
        from agents import deep_loop

        result = deep_loop.evaluate(loaded.agent, loaded.config, episodes, float(epsilon), seed,
                                    quiet=quiet)
    else:
        from agents import tabular_loop

        result = tabular_loop.evaluate(loaded.agent, loaded.config, episodes, seed, float(epsilon))
    config = loaded.config
    result["protocol"] = dict(result.get("protocol", {})) | {"epsilon": float(epsilon), "seed": seed,
                                                             "env": config.env.name, "source": "scripts/evaluate.py"}
    if config.env.name == "boxing":
        result["protocol"] |= atari_protocol(config.env.options)
        result["human_normalized"] = (result["mean"] - RANDOM_BOXING) / (HUMAN_BOXING - RANDOM_BOXING)
    result["checkpoint"] = _checkpoint_summary(loaded)
    result["preset"] = config.preset
    path = loaded.run.write_json("eval.json", result)
    return format_report(result, config, path)


def format_report(result: dict, config, path: Path) -> str:
    """A few printable lines: mean, std, 95% CI, and the task's own figures."""
    checkpoint = result["checkpoint"]
    where = ", ".join(f"{k} {checkpoint[k]}" for k in ("steps", "episodes", "episode") if k in checkpoint)
    raw = RunDir(path.parent).read_config() if (path.parent / "config.yaml").is_file() else {}
    trained_by = f"sb3 {raw.get('sb3_algo')}" if raw.get("backend") == "sb3" else config.algo
    lines = [
        f"{config.preset} ({trained_by}), checkpoint {checkpoint['name']}" + (f" ({where})" if where else "")
        + f": {result['episodes']} episodes, epsilon {result['protocol']['epsilon']}, seed {result['protocol']['seed']}",
        f"mean return {result['mean']:.4f} +- {result['ci95']:.4f} (95% CI), std {result['std']:.4f}, "
        f"median {result['median']:.4f}",
    ]
    if "regret" in result:
        lines.append(f"exact expected return {result['exact_return']:+.5f} vs optimal "
                     f"{result['optimal_return']:+.5f}: regret {result['regret']:.5f}")
    if "human_normalized" in result:
        lines.append(f"human-normalised score {result['human_normalized']:.3f} "
                     f"(random {RANDOM_BOXING}, human {HUMAN_BOXING})")
        protocol = result["protocol"]
        lines.append(f"protocol: {protocol['atari_protocol']} (sticky actions {protocol['repeat_action_probability']}), "
                     f"up to {protocol['noop_max']} no-op starts, {protocol['max_episode_frames']}-frame cap, "
                     f"raw scores")
    if "win_rate" in result:
        lines.append(f"win {result['win_rate']:.1%} draw {result['draw_rate']:.1%} loss {result['loss_rate']:.1%}")
    if "success_rate" in result:
        lines.append(f"success rate {result['success_rate']:.3f}")
    lines.append(f"written: {path}")
    return "\n".join(lines)
