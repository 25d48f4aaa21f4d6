"""The one run engine behind every agent and backend (docs/design.md: data flow; chapters 66-75).

Dopamine's split: agents act and learn, a runner runs. The engine owns everything a run is
beyond acting and learning — the budget (steps or episodes), the exploration schedule's
position, log windows, periodic evaluation that keeps ``checkpoints/best``, the checkpoint
cadence and resume, the final evaluation, the task's report, the recording and the summary —
and returns a :class:`RunResult` (data; the printed summary is made from it). What people see
of the finished run (the task's plots, the learning curve, the recording) is drawn by the
`finish` callable the engine is given (`agents.watch.finish.finish_run`); the engine imports no
drawing.

A learner plugs in through the :class:`Learner` protocol. ``advance(epsilon)`` is one unit of
acting and learning: a vector-env step for the DQN, an episode for the tabular agents (which
learn an episode at a time), a chunk of Stable-Baselines3's own ``learn``. Adding an agent means
writing a learner (docs/adding-an-agent.md), not a loop.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from lab.checkpoint import CheckpointError, library_version, load_checkpoint, save_checkpoint
from lab.cli import RunFailed, UsageError
from lab.config import to_dict
from lab.i18n import decimal, number, tr
from lab.logger import Logger
from lab.progress import progress_bar
from lab.rundir import RunDir
from lab.stats import summarize

from agents.config import RunConfig
from agents.contract import Experience, Finisher, FinishedRun, Learner
from agents.tasks import Task, task_for

#: Checkpoints of this engine carry ``engine_format: 2``; earlier ones (library 0.1.0's three
#: loops) are refused with a line naming the version that wrote them.
ENGINE_FORMAT = 2
#: the largest counter a checkpoint may hold: every whole number up to it is exact as a float
#: (metrics.csv) and fits TensorBoard's 64-bit steps
MAX_COUNTER = 2**53
EVAL_SEED_OFFSET = 10_000  # evaluations never share seeds with training episodes


@dataclasses.dataclass
class RunResult:
    """A finished run as data: what `bench.py`, sweeps and the summary read."""

    preset: str
    algo: str
    backend: str
    seed: int
    steps: int
    episodes: int
    updates: int
    seconds: float  # training, without the final evaluation and report
    cpu_seconds: float  # CPU time of all the process's threads over the same training
    steps_per_second: float
    evaluation: dict  # eval.json: mean, std, ci95, episodes, protocol, the task's figures
    run_dir: Path
    report: list[str] = dataclasses.field(default_factory=list)
    backend_label: str = ""  # the learner's: who trained it, when not this library
    episode_budget: int = 0  # total_episodes when the run counted episodes

    def episodes_said(self) -> str:
        """'100,000': the budget, not 100,001, when lanes stepped together finished more episodes
        in the budget's last step than it had left (those are said apart)."""
        extra = self.episodes - self.episode_budget if self.episode_budget else 0
        if extra <= 0:
            return number(self.episodes)
        return tr("{budget} (+{extra} finished by other lanes in the last step)").format(
            budget=number(self.episode_budget), extra=extra)

    def summary(self) -> str:
        by = f" ({self.backend_label})" if self.backend_label else ""
        e = self.evaluation
        head = tr("{preset}{by}: {steps} steps, {episodes} episodes, {updates} updates in {seconds:.1f} s "
                  "({sps:.0f} steps/s, seed {seed})").format(
            preset=self.preset, by=by, steps=number(self.steps), episodes=self.episodes_said(),
            updates=number(self.updates),
            seconds=self.seconds, sps=self.steps_per_second, seed=self.seed)
        evaluation = tr("evaluation over {episodes} episodes (epsilon {epsilon:g}): "
                        "mean return {mean:.4f} +- {ci95:.4f} (95% CI)").format(
            episodes=e["episodes"], epsilon=e["protocol"]["epsilon"], mean=e["mean"], ci95=e["ci95"])
        runs = Path("runs").resolve()
        logdir = "runs" if Path(self.run_dir).resolve().is_relative_to(runs) else self.run_dir
        return "\n".join([head, evaluation, *self.report, tr("run directory: {path}").format(path=self.run_dir),
                          tr("watch: tensorboard --logdir {logdir}").format(logdir=logdir)])


def check_state(state: dict, where: Path, config: RunConfig) -> None:
    """Refuse a checkpoint this engine cannot read (naming the version that wrote it), one that
    belongs to another run, or one whose counters are out of range: one line naming the field."""
    if state.get("engine_format") != ENGINE_FORMAT:
        raise CheckpointError(
            tr("checkpoint {where}: written by dlbook-agents {value} in checkpoint format {value2}; this version "
               "({value3}) reads format {ENGINE_FORMAT}: train the run again").format(
                where=where, value=state.get('library_version', '(unknown)'), value2=state.get('engine_format', 1),
                value3=library_version(), ENGINE_FORMAT=ENGINE_FORMAT))
    for key in ("steps", "episodes", "updates"):
        value = state.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNTER:
            raise CheckpointError(tr("checkpoint {where}: state.json field {key} must be a whole number in "
                                     "[0, 2**53], got {value}").format(where=where, key=key, value=repr(value)))
    if not isinstance(state.get("best_score"), (int, float)) or math.isnan(state["best_score"]):
        raise CheckpointError(tr("checkpoint {where}: state.json field best_score must be a number").format(
            where=where))
    expected = {"preset": config.preset, "algo": config.algo, "backend": config.backend, "env": to_dict(config.env)}
    for key, value in expected.items():
        if state.get(key) != value:
            raise CheckpointError(tr("checkpoint {where}: state.json field {key} is {value} but this run's "
                                     "config.yaml says {value2}: the checkpoint belongs to another run").format(
                where=where, key=key, value=repr(state.get(key)), value2=repr(value)))
    for key in ("training_seconds", "training_cpu_seconds"):  # absent in checkpoints before they were kept
        value = state.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
            raise CheckpointError(tr("checkpoint {where}: state.json field {key} must be a number of seconds "
                                     ">= 0, got {value}").format(where=where, key=key, value=repr(value)))
    if not isinstance(state.get("agent"), dict):
        raise CheckpointError(tr("checkpoint {where}: state.json has no agent state").format(where=where))
    rng = state.get("torch_rng")
    if not isinstance(rng, torch.Tensor) or rng.dtype != torch.uint8 or rng.shape != torch.get_rng_state().shape:
        raise CheckpointError(tr("checkpoint {where}: its torch_rng is not torch's random state").format(where=where))


def load_learner_state(learner, state: dict, where: Path, weights_only: bool) -> None:
    """`learner.load_state_dict` with every failure turned into one line naming the file."""
    try:
        learner.load_state_dict(state["agent"], weights_only=weights_only)
    except CheckpointError as err:
        raise CheckpointError(f"{where}: {err}") from None
    except (KeyError, TypeError, ValueError, RuntimeError, OverflowError) as err:  # (e.g. an RNG state out of range)
        raise CheckpointError(tr("checkpoint {where}: the agent state does not fit this run's agent ({name}: "
                                 "{value})").format(
            where=where, name=type(err).__name__, value=str(err).splitlines()[0] if str(err) else '')) from None


class Engine:
    """Runs one learner under one config into one run directory."""

    def __init__(self, config: RunConfig, learner: Learner, run: RunDir, quiet: bool = False,
                 on_evaluation: Callable[[dict], None] | None = None, finish: Finisher | None = None) -> None:
        self.config, self.learner, self.run, self.quiet = config, learner, run, quiet
        # called after each evaluation with its logged values, the counters and `final` (a sweep
        # reports them to Ray Tune, whose scheduler may stop the run there)
        self.on_evaluation = on_evaluation
        self.finish = finish  # None: no drawings (eval.json and checkpoints only)
        self.task: Task = task_for(config.env.name)
        self.schedule = config.exploration.over(config.budget)
        self.steps = self.episodes = 0
        self.best_score = -math.inf
        # training's wall-clock and CPU seconds over every process that trained this run (a
        # resumed run adds its own): the cost a sweep reports per seed
        self.spent = {"training_seconds": 0.0, "training_cpu_seconds": 0.0}
        self._clocks: tuple[float, float] | None = None  # (perf_counter, process_time) at this process's start

    # -- where the run stands ------------------------------------------------------------------
    def progress(self) -> int:
        return self.episodes if self.config.budget_in_episodes else self.steps

    def finished(self) -> bool:
        c = self.config
        return (c.total_episodes > 0 and self.episodes >= c.total_episodes) or \
               (c.total_steps > 0 and self.steps >= c.total_steps) or \
               (c.time_limit_minutes > 0 and self.spent_so_far()["training_seconds"] >= 60 * c.time_limit_minutes)

    def cadence(self) -> int:
        return self.episodes if self.learner.cadence_unit == "episodes" else self.steps

    def spent_so_far(self) -> dict[str, float]:
        """`spent` plus what this process has trained so far."""
        if self._clocks is None:
            return dict(self.spent)
        return {"training_seconds": self.spent["training_seconds"] + time.perf_counter() - self._clocks[0],
                "training_cpu_seconds": self.spent["training_cpu_seconds"] + time.process_time() - self._clocks[1]}

    # -- checkpoints ---------------------------------------------------------------------------
    def save(self, name: str, **extra) -> None:
        c = self.config
        save_checkpoint(self.run.checkpoints / name, {
            "agent": self.learner.state_dict(), "steps": self.steps, "episodes": self.episodes,
            "updates": self.learner.updates, "best_score": self.best_score, "preset": c.preset,
            "algo": c.algo, "backend": c.backend, "env": to_dict(c.env), "seed": c.seed,
            "torch_rng": torch.get_rng_state(), "library_version": library_version(),
            "engine_format": ENGINE_FORMAT, **self.spent_so_far(), **extra,
        })

    def checkpoint(self) -> None:
        self.learner.on_checkpoint(self.run, self.steps)  # e.g. the replay, before `latest`
        self.save("latest")

    def resume(self) -> int:
        """Load checkpoints/latest; returns the metrics step from which rows are rewritten."""
        latest = self.run.checkpoints / "latest"
        if not latest.is_dir() and not any(self.run.checkpoints.glob(".latest.*-*")):
            raise UsageError(tr("--resume {path}: no checkpoints/latest yet (the run was stopped before its "
                                "first checkpoint); start it again").format(path=self.run.path))
        state = load_checkpoint(latest)
        check_state(state, latest, self.config)
        load_learner_state(self.learner, state, latest, weights_only=False)
        torch.set_rng_state(state["torch_rng"])
        self.steps, self.episodes = int(state["steps"]), int(state["episodes"])
        self.best_score = float(state["best_score"])
        self.spent = {key: float(state.get(key, 0.0)) for key in self.spent}
        best = self.run.checkpoints / "best"
        if best.is_dir():  # a best saved after latest must stay the best
            score = load_checkpoint(best).get("score")
            if isinstance(score, (int, float)) and score > self.best_score:
                self.best_score = float(score)
        # a run killed between its last checkpoint and eval.json resumes into its final
        # evaluation and report; one with eval.json is done
        if self.finished() and (self.run.path / "eval.json").is_file():
            raise UsageError(tr("--resume {path}: this run already finished its budget ({steps} steps, "
                                "{episodes} episodes); raise it with --set total_steps=..., "
                                "--set total_episodes=... or --set time_limit_minutes=... to continue").format(
                path=self.run.path, steps=self.steps, episodes=self.episodes))
        return self.steps + 1  # the checkpoint at step C was written after logging step C

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, episodes: int, logger: Logger, final: bool = False) -> dict:
        c = self.config
        seed = EVAL_SEED_OFFSET + c.seed
        returns, infos = self.learner.play(episodes, c.evaluation.epsilon, seed,
                                           env_options=self.task.eval_options(c.env.options))
        result = summarize(returns) | {"protocol": {"epsilon": c.evaluation.epsilon, "seed": seed,
                                                    "env": c.env.name, "options": c.env.options}}
        result |= self.task.figures(self.learner, returns, infos, c, seed)
        values = {"eval/mean_return": result["mean"], "eval/ci95": result["ci95"],
                  "eval/training_minutes": self.spent_so_far()["training_seconds"] / 60}
        if "regret" in result:
            values |= {"eval/exact_return": result["exact_return"], "eval/regret": result["regret"]}
        logger.scalars(self.steps, values)
        if result["score"] > self.best_score:
            self.best_score = result["score"]
            self.save("best", score=result["score"])
        if self.on_evaluation is not None:
            every = c.evaluation.every
            self.on_evaluation(values | {"steps": self.steps, "episodes": self.episodes, "final": final,
                                         "evaluation_index": self.cadence() // every if every else 0})
        return result

    # -- the run -------------------------------------------------------------------------------
    def run_to_end(self, resume: bool = False) -> RunResult:
        """Continue `checkpoints/latest` if `resume`, train to the end of the budget, then
        evaluate, checkpoint and finish: the run as data."""
        purge = self.resume() if resume else None
        if resume:  # what --set changed (a raised budget) is what the next --resume and evaluate.py read
            self.run.write_config(to_dict(self.config))
        self.learner.start(self.run, self.steps if resume else None)
        logger = Logger(self.run.path, purge_step=purge)
        steps_at_start = self.steps
        seconds, cpu_seconds = self.train(logger)
        return self.conclude(logger, seconds, cpu_seconds, steps_at_start)

    def train(self, logger: Logger) -> tuple[float, float]:
        """Act and learn until the budget is spent, logging, evaluating and checkpointing on
        their cadences (the last evaluation and checkpoint are `conclude`'s); the wall-clock and
        CPU seconds it took. A non-finite loss stops the run (RunFailed) before it is saved."""
        c, learner = self.config, self.learner
        label = c.preset + (f" [{learner.backend_label}]" if learner.backend_label else "")
        bar = progress_bar(c.budget, label, quiet=self.quiet, unit=tr("ep") if c.budget_in_episodes else tr("step"))
        bar.update(self.progress())
        window, marks = Window(), Marks(self.cadence(), c.log_every, c.checkpoint_every, c.evaluation.every)
        started, cpu_started, steps_at_start = time.perf_counter(), time.process_time(), self.steps
        self._clocks = (started, cpu_started)
        try:
            while not self.finished():
                epsilon = self.schedule(self.progress())
                experience = learner.advance(epsilon)
                self.steps += experience.steps
                self.episodes += len(experience.returns)
                window.add(experience, epsilon)
                bar.update(len(experience.returns) if c.budget_in_episodes else experience.steps)
                if experience.losses and not all(map(math.isfinite, experience.losses.values())):
                    raise RunFailed(self._non_finite(experience.losses))
                done = self.finished()
                due = marks.due(self.cadence())
                if "log" in due:
                    window.log(logger, bar, self.steps, self.episodes, started, steps_at_start)
                if "evaluate" in due and not done:
                    self.evaluate(c.evaluation.episodes, logger)
                if "checkpoint" in due and not done:
                    self.checkpoint()
            window.log(logger, bar, self.steps, self.episodes, started, steps_at_start, only_if_new=True)
        finally:
            bar.close()
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        self.spent = {"training_seconds": self.spent["training_seconds"] + seconds,
                      "training_cpu_seconds": self.spent["training_cpu_seconds"] + cpu_seconds}
        self._clocks = None  # the final evaluation is not training
        return seconds, cpu_seconds

    def conclude(self, logger: Logger, seconds: float, cpu_seconds: float, steps_at_start: int) -> RunResult:
        """The final evaluation and checkpoint, what `finish` draws, eval.json, the hparams."""
        c, learner = self.config, self.learner
        evaluation = self.evaluate(c.final_episodes, logger, final=True)
        self.checkpoint()
        report = learner.report_lines() + ([] if self.finish is None else self.finish(
            FinishedRun(self.run, learner, c, evaluation, logger, self.steps)))
        self.run.write_json("eval.json", evaluation)
        logger.hparams({"preset": c.preset, "algo": c.algo, "backend": c.backend, "seed": c.seed},
                       {"hparam/score": float(evaluation["score"])})
        logger.close()
        learner.close()
        sps = (self.steps - steps_at_start) / max(seconds, 1e-9)
        return RunResult(c.preset, c.sb3_algo or c.algo, c.backend, c.seed, self.steps, self.episodes,
                         learner.updates, seconds, cpu_seconds, sps, evaluation, self.run.path, report,
                         learner.backend_label, c.total_episodes)

    def _non_finite(self, losses: dict) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in losses.items())
        latest = self.run.checkpoints / "latest"
        kept = (f"the last good checkpoint is {latest}" if latest.is_dir()
                else "no checkpoint was saved yet")
        return (f"non-finite learning at step {self.steps} ({shown}): training stopped; {kept} "
                f"(try a smaller agent.lr or gradient clipping)")


class Marks:
    """The next cadence count at which to log, evaluate and checkpoint (every 0: never)."""

    def __init__(self, now: int, log_every: int, checkpoint_every: int, evaluate_every: int) -> None:
        self.every = {"log": log_every, "evaluate": evaluate_every, "checkpoint": checkpoint_every}
        self.next = {name: (now // every + 1) * every for name, every in self.every.items() if every}

    def due(self, now: int) -> set[str]:
        """The marks reached at `now`, each moved on by its period."""
        reached = {name for name, mark in self.next.items() if now >= mark}
        for name in reached:
            self.next[name] += self.every[name]
        return reached


class Window:
    """Training figures between two log rows."""

    def __init__(self) -> None:
        self.returns: list[float] = []
        self.lengths: list[int] = []
        self.losses: dict[str, list[float]] = {}
        self.epsilon = 1.0

    def add(self, experience: Experience, epsilon: float) -> None:
        self.returns += experience.returns
        self.lengths += experience.lengths
        for name, value in experience.losses.items():
            self.losses.setdefault(name, []).append(value)
        self.epsilon = epsilon if experience.epsilon is None else experience.epsilon

    def log(self, logger: Logger, bar, steps: int, episodes: int, started: float, steps_at_start: int,
            only_if_new: bool = False) -> None:
        if only_if_new and not self.returns:
            return
        sps = (steps - steps_at_start) / max(time.perf_counter() - started, 1e-9)
        values = {"charts/epsilon": self.epsilon, "charts/sps": sps, "charts/episodes": episodes}
        if self.returns:
            values |= {"charts/episodic_return": float(np.mean(self.returns)),
                       "charts/episodic_length": float(np.mean(self.lengths))}
            bar.set_postfix({tr("return"): decimal(f"{np.mean(self.returns):.3f}"),
                             tr("epsilon"): decimal(f"{self.epsilon:.3f}"), tr("steps/s"): f"{sps:.0f}"})
        values |= {f"losses/{name}": float(np.mean(v)) for name, v in self.losses.items()}
        logger.scalars(steps, values)
        self.returns, self.lengths, self.losses = [], [], {}
