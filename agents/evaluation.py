"""Evaluating a trained run again (docs/design.md: run directory; chapters 69 and 75).

Chapter 75 ends the Blackjack project by playing the trained agent and measuring how well it
does; chapter 69 scores the Boxing agent. `scripts/evaluate.py RUN_DIR` does both for any run
of this project: it loads `checkpoints/best` (or `--checkpoint latest`), plays N episodes with
a chosen epsilon and writes `eval-s<seed>-n<episodes>-<checkpoint>.json` (with `-eps<epsilon>`
when the epsilon is not the run's protocol's) beside the training's own `eval.json` (which it
never overwrites), with the mean, std, median, the half-width of a
95% confidence interval, the protocol and the task's own figures (agents.tasks): Blackjack's
exact return and regret, Boxing's human-normalised score, tic-tac-toe's rates, FrozenLake's
success rate. Defaults are the run's: its final evaluation's episodes and epsilon.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from lab.checkpoint import CheckpointError, load_checkpoint
from lab.cli import UsageError
from lab.config import ConfigError
from lab.i18n import tr
from lab.rundir import RunDir
from lab.stats import summarize

from agents.config import RunConfig
from agents.engine import check_state, load_learner_state
from agents.playing import check_play_options
from agents.runner import build_learner, device_of
from agents.tasks import summary_lines, task_for

CHECKPOINT_CHOICES = ("best", "latest")


@dataclasses.dataclass
class LoadedRun:
    """A run directory with its trained learner, ready to play (see docs/api.md)."""

    run: RunDir
    learner: Any  # TabularLearner, DQNLearner or SB3Learner: q_values, decide, play
    config: RunConfig
    state: dict  # the checkpoint's state (counters, score, ...)
    checkpoint: str


def load_run(run_dir: str | os.PathLike, checkpoint: str = "best", device: str = "auto") -> LoadedRun:
    """Open `run_dir` and load its learner's weights from checkpoints/<checkpoint>.

    User mistakes (not a run directory, an unknown or missing checkpoint, a bad device) raise
    UsageError; a damaged or foreign checkpoint raises lab.checkpoint.CheckpointError.
    """
    run = RunDir.open(run_dir)
    if checkpoint not in CHECKPOINT_CHOICES:
        raise UsageError(tr("--checkpoint {value} is not valid; choose one of: {choices}").format(
            value=repr(checkpoint), choices=", ".join(CHECKPOINT_CHOICES)))
    folder = run.checkpoints / checkpoint
    if not folder.is_dir():
        present = [name for name in CHECKPOINT_CHOICES if (run.checkpoints / name).is_dir()]
        hint = (tr("available: {names} (use --checkpoint {first})").format(names=", ".join(present), first=present[0])
                if present else tr("the run saved no checkpoint yet"))
        raise UsageError(tr("run directory {path}: checkpoints/{checkpoint} does not exist; {hint}").format(
            path=run.path, checkpoint=checkpoint, hint=hint))
    torch_device = device_of(device)
    state = load_checkpoint(folder)
    raw = run.read_config()  # a config.yaml that is no YAML is named as such (exit 2)
    try:
        config = RunConfig.parse(raw)
    except ConfigError as err:
        version = state.get("library_version", "(unknown)")
        raise CheckpointError(tr("run directory {path}: its config.yaml (written by dlbook-agents {version}) is "
                                 "not one this version reads: {err}").format(
            path=run.path, version=version, err=err)) from None
    check_state(state, folder, config)
    learner = build_learner(config, torch_device, train=False)
    load_learner_state(learner, state, folder, weights_only=True)
    return LoadedRun(run, learner, config, state, checkpoint)


#: scripts/evaluate.py's seed: the training's own evaluations play seeds 10,000 + its seed
HELD_OUT_SEED = 12345


def evaluate_run(run_dir: str | os.PathLike, checkpoint: str = "best", episodes: int | None = None,
                 epsilon: float | None = None, seed: int = HELD_OUT_SEED, device: str = "auto",
                 quiet: bool = False) -> str:
    """Play `episodes` episodes with the run's trained agent, write the result beside eval.json,
    and return a report that shows it under the training's own final evaluation."""
    result, path, loaded = evaluate_checkpoint(run_dir, checkpoint, episodes, epsilon, seed, device, quiet)
    return format_report(result, loaded.config, path, loaded.run)


def evaluate_checkpoint(run_dir: str | os.PathLike, checkpoint: str = "best", episodes: int | None = None,
                        epsilon: float | None = None, seed: int = HELD_OUT_SEED, device: str = "auto",
                        quiet: bool = False) -> tuple[dict, Path, LoadedRun]:
    """:func:`evaluate_run`'s figures: the result written, where, and the loaded run."""
    check_play_options(episodes, epsilon, seed)
    loaded = load_run(run_dir, checkpoint, device)
    config = loaded.config
    episodes = config.final_episodes if episodes is None else episodes
    epsilon = config.evaluation.epsilon if epsilon is None else epsilon

    task = task_for(config.env.name)
    returns, infos = loaded.learner.play(episodes, float(epsilon), seed,
                                         env_options=task.eval_options(config.env.options), quiet=quiet)
    result = summarize(returns) | {"protocol": {"epsilon": float(epsilon), "seed": seed, "env": config.env.name,
                                                "options": config.env.options, "source": "scripts/evaluate.py"}}
    result |= task.figures(loaded.learner, returns, infos, config, seed)
    state = loaded.state
    result["checkpoint"] = {"name": checkpoint} | {k: state[k] for k in ("steps", "episodes", "score") if k in state}
    result["preset"] = config.preset
    path = loaded.run.write_json(evaluation_name(seed, episodes, checkpoint, float(epsilon), config), result)
    return result, path, loaded


def evaluation_name(seed: int, episodes: int, checkpoint: str, epsilon: float, config: RunConfig) -> str:
    """eval-s<seed>-n<episodes>-<checkpoint>.json, with -eps<epsilon> when the epsilon is not the
    run's protocol's, so two evaluations that differ in any of these never share a file."""
    explored = "" if epsilon == float(config.evaluation.epsilon) else f"-eps{epsilon:g}"
    return f"eval-s{seed}-n{episodes}-{checkpoint}{explored}.json"


def format_report(result: dict, config: RunConfig, path: Path, run: RunDir) -> str:
    """Printable lines: this evaluation, then the training's own final evaluation."""
    checkpoint = result["checkpoint"]
    counted = {"steps": tr("steps {count}"), "episodes": tr("episodes {count}")}
    where = ", ".join(counted[k].format(count=checkpoint[k]) for k in counted if k in checkpoint)
    trained_by = f"sb3 {config.sb3_algo}" if config.backend == "sb3" else config.algo
    lines = [
        tr("{preset} ({trained_by}), checkpoint {checkpoint}").format(
            preset=config.preset, trained_by=trained_by, checkpoint=checkpoint["name"])
        + (f" ({where})" if where else "")
        + tr(": {episodes} episodes, epsilon {epsilon:g}, seed {seed}").format(
            episodes=result["episodes"], epsilon=result["protocol"]["epsilon"], seed=result["protocol"]["seed"]),
        tr("mean return {mean:.4f} +- {ci95:.4f} (95% CI), std {std:.4f}, median {median:.4f}").format(
            mean=result["mean"], ci95=result["ci95"], std=result["std"], median=result["median"]),
        *summary_lines(result, task_for(config.env.name).references),
        tr("written: {path}").format(path=path),
    ]
    if (run.path / "eval.json").is_file():
        training = run.read_json("eval.json")
        lines.append(tr("the training's final evaluation (eval.json, kept): {episodes} episodes, seed {seed}: "
                        "mean return {mean:.4f} +- {ci95:.4f}").format(
            episodes=training["episodes"], seed=training["protocol"]["seed"], mean=training["mean"],
            ci95=training["ci95"])
            + (tr(", regret {regret:.5f}").format(regret=training["regret"]) if "regret" in training else ""))
    return "\n".join(lines)
