"""Results across seeds, as the field now reports them (docs/design.md: scale-out; chapters 66-75).

One seed proves little in reinforcement learning. Agarwal et al. 2021 ("Deep Reinforcement
Learning at the Edge of the Statistical Precipice", NeurIPS) report the interquartile mean (IQM:
the mean of the middle 50% of runs) beside the mean and the median, each with a 95%
stratified-bootstrap confidence interval; their package `rliable` computes them here. With one
task the strata are that task's seeds. rliable's own `aggregate_median` is the median of the
per-task means, which for one task is the mean, so the median here is taken across seeds.

The per-seed figure is read from each finished trial's `eval.json`: Blackjack's exact regret
against the DP optimum (lower is better), else the final evaluation's mean return.
:func:`summarize_sweep` groups the seeds of each configuration and writes `summary.csv`,
`trials.csv`, `plots/learning_curves.png` (the IQM across seeds of each run's training return,
and of its periodic evaluations when it has them, with a 95% band) and, under `tensorboard/`,
TensorBoard's hparams dashboard (one session per configuration) and the plot as an image.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import shutil
import warnings
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Sequence

import numpy as np

from lab.cli import UsageError
from lab.config import load_yaml
from lab.i18n import N_, decimal, listed, ngettext, tr
from lab.logger import Logger
from lab.plots import new_figure, save_figure

from agents.sweeps.manifest import Manifest, config_value, label_of, require

TABLE_REPS = 5_000  # bootstrap resamples behind each interval of the table (arch loops in Python)
CURVE_REPS = 1_000  # per point of a learning curve
CURVE_POINTS = 60
#: eval.json key -> (name, better): the per-seed figure of a finished run
FIGURES = {"regret": (N_("exact regret"), N_("lower")), "mean": (N_("mean return"), N_("higher"))}
EVAL_TAGS = {"regret": "eval/regret", "mean": "eval/mean_return"}
STATISTICS = ("mean", "median", "iqm")
STATISTIC_NAMES = {"mean": N_("mean"), "median": N_("median"), "iqm": N_("IQM")}


class Estimate(NamedTuple):
    """A point estimate and its 95% stratified-bootstrap interval."""

    point: float
    low: float
    high: float


def require_rliable() -> None:
    require("rliable.library", tr("aggregating seeds"))  # arch's bootstrap is behind it


@contextlib.contextmanager
def _quiet_arch() -> Iterator[None]:
    """rliable seeds arch's bootstrap with a RandomState, which arch 7 warns it will stop taking."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "random_state is deprecated", FutureWarning)
        yield


def _per_run_statistics(scores: np.ndarray) -> np.ndarray:
    """mean, median, IQM of a (runs, 1) score matrix, as rliable's bootstrap calls it."""
    from rliable import metrics

    return np.array([metrics.aggregate_mean(scores), float(np.median(scores)), metrics.aggregate_iqm(scores)])


def interval_estimates(values: Sequence[float], reps: int = TABLE_REPS, seed: int = 0) -> dict[str, Estimate]:
    """{'mean', 'median', 'iqm'} of per-seed values, each with a 95% percentile interval from
    rliable's stratified bootstrap (`reps` resamples, seeded: the same values give the same CI)."""
    require_rliable()
    from rliable import library

    scores = np.asarray(values, dtype=float).reshape(-1, 1)  # runs x tasks, one task
    if scores.size == 0:
        raise ValueError("interval_estimates() needs at least one value")
    with _quiet_arch():
        points, intervals = library.get_interval_estimates(
            {"x": scores}, _per_run_statistics, reps=reps, random_state=np.random.RandomState(seed))
    return {name: Estimate(float(points["x"][k]), float(intervals["x"][0, k]), float(intervals["x"][1, k]))
            for k, name in enumerate(STATISTICS)}


def curve_band(curves: np.ndarray, reps: int = CURVE_REPS, seed: int = 0) -> tuple[np.ndarray, ...]:
    """IQM across seeds at each point of (seeds, points) curves, and its 95% band (rliable's
    stratified bootstrap with the points as strata, as its sample-efficiency curves do)."""
    require_rliable()
    import scipy.stats
    from rliable import library

    scores = np.asarray(curves, dtype=float)[:, None, :]  # runs x tasks x points

    def iqm_per_point(s: np.ndarray) -> np.ndarray:  # metrics.aggregate_iqm of each point, in one call
        return scipy.stats.trim_mean(s[:, 0, :], proportiontocut=0.25, axis=0)

    with _quiet_arch():
        points, intervals = library.get_interval_estimates(
            {"x": scores}, iqm_per_point, reps=reps, random_state=np.random.RandomState(seed))
    return points["x"], intervals["x"][0], intervals["x"][1]


@dataclasses.dataclass
class Trial:
    """One trial's run directory as the aggregation sees it."""

    name: str
    seed: int
    params: dict
    run_dir: Path
    finished: bool  # eval.json written: the run reached the end of its budget
    figure: str | None  # "regret" or "mean"
    value: float | None  # the per-seed figure of a finished run
    steps: int | None  # where it ended (or stopped)
    last_eval: float | None = None  # an unfinished run's last periodic evaluation of the figure


@dataclasses.dataclass
class Configuration:
    """The seeds of one configuration and their aggregate."""

    label: str
    params: dict
    trials: list[Trial]
    estimates: dict[str, Estimate] | None  # None when no seed finished

    @property
    def finished(self) -> list[Trial]:
        return [t for t in self.trials if t.finished]


def load_trials(sweep_dir: Path, manifest: Manifest) -> list[Trial]:
    """Every run directory in the sweep, finished or not, sorted by name."""

    trials = []
    for config_path in sorted(Path(sweep_dir).glob("*/config.yaml")):
        run_dir = config_path.parent
        config = load_yaml(config_path)
        params = {key: config_value(config, key) for key in manifest.swept}
        trial = Trial(run_dir.name, int(config.get("seed", 0)), params, run_dir, False, None, None, None)
        if (run_dir / "eval.json").is_file():
            evaluation = json.loads((run_dir / "eval.json").read_text())
            trial.figure = "regret" if "regret" in evaluation else "mean"
            trial.finished, trial.value = True, float(evaluation[trial.figure])
            state = run_dir / "checkpoints" / "latest" / "state.json"
            trial.steps = _steps_of(state)
        trials.append(trial)
    return trials


def _steps_of(state_json: Path) -> int | None:
    try:
        return int(json.loads(state_json.read_text())["state"]["steps"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def group(trials: list[Trial], reps: int = TABLE_REPS) -> list[Configuration]:
    """Configurations (trials with equal swept values) with the aggregate of their finished seeds,
    best IQM first."""
    by_label: dict[str, list[Trial]] = {}
    for trial in trials:
        by_label.setdefault(label_of(trial.params), []).append(trial)
    configurations = []
    for label, members in by_label.items():
        values = [t.value for t in members if t.finished]
        estimates = interval_estimates(values, reps) if values else None
        configurations.append(Configuration(label, members[0].params, sorted(members, key=lambda t: t.seed),
                                            estimates))
    figure = next((t.figure for t in trials if t.figure), "mean")
    sign = 1.0 if FIGURES[figure][1] == "lower" else -1.0
    return sorted(configurations, key=lambda c: (c.estimates is None,
                                                 sign * c.estimates["iqm"].point if c.estimates else 0.0, c.label))


@dataclasses.dataclass
class SweepSummary:
    """What :func:`summarize_sweep` found and wrote."""

    manifest: Manifest
    sweep_dir: Path
    configurations: list[Configuration]
    figure: str
    reps: int  # bootstrap resamples behind each interval
    files: list[Path]

    def table(self) -> str:
        name, better = FIGURES[self.figure]
        head = tr("{preset}: {figure} per seed ({better} is better); stratified-bootstrap 95% intervals "
                  "(rliable, {reps} resamples)").format(preset=self.manifest.preset, figure=tr(name),
                                                        better=tr(better), reps=self.reps)
        columns = [tr("configuration"), tr("seeds")] + [tr(STATISTIC_NAMES[s]) for s in STATISTICS]
        width = max([len(columns[0])] + [len(c.label) for c in self.configurations])
        lines = [head, f"{columns[0]:{width}s}  {columns[1]:>5s}  " + "  ".join(f"{c:>27s}" for c in columns[2:])]
        for config in self.configurations:
            done = config.finished
            row = f"{config.label:{width}s}  {len(done):>5d}  "
            if config.estimates:
                row += "  ".join(_estimate_text(config.estimates[s], len(done)).rjust(27) for s in STATISTICS)
            else:
                row += tr("no seed finished")
            lines.append(row)
        for config in self.configurations:
            lines.append(f"  {config.label}: " + listed([_seed_text(t) for t in config.trials]))
        best = self.configurations[0]
        if self.manifest.search and best.estimates:
            sets = " ".join(f"--set {o}" for o in self.manifest.overrides)
            sets += "".join(f" --set {k}={json.dumps(v)}" for k, v in best.params.items())
            lines.append(tr("best: {label}; at more seeds: {command}").format(
                label=best.label, command=f"python scripts/sweep.py {self.manifest.preset} --seeds 0-9 {sets.strip()}"))
        return "\n".join(lines + [tr("written: {path}").format(path=", ".join(str(p) for p in self.files))])


def _seed_text(trial: Trial) -> str:
    if trial.finished:
        return f"s{trial.seed} {_fmt(trial.value)}"
    if trial.last_eval is not None:
        return tr("s{seed} stopped at step {steps} (last evaluation {value})").format(
            seed=trial.seed, steps=trial.steps, value=_fmt(trial.last_eval))
    return tr("s{seed} (unfinished)").format(seed=trial.seed)


def _estimate_text(estimate: Estimate, seeds: int) -> str:
    # a bootstrap over one score is that score: its "interval" would only repeat it
    if seeds == 1:
        return _fmt(estimate.point)
    return f"{_fmt(estimate.point):>8s} {interval_text(estimate, _fmt)}"


def interval_text(estimate: Estimate, fmt: Callable[[float], str]) -> str:
    """An estimate's 95% interval as the reader writes it: [low, high], in Portuguese [low; high]."""
    return f"[{listed([fmt(estimate.low), fmt(estimate.high)])}]"


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    # a regret of 0.0019 needs its significant digits, a score of 7.01 only two decimals
    return decimal(f"{value:.4g}" if abs(value) < 1 else f"{value:.2f}")


def summarize_sweep(sweep_dir: str | Path, reps: int = TABLE_REPS, write: bool = True) -> SweepSummary:
    """Aggregate a sweep directory's finished trials; write the files when `write`."""
    require_rliable()
    sweep_dir = Path(sweep_dir)
    manifest = Manifest.read(sweep_dir)
    trials = load_trials(sweep_dir, manifest)
    if not any(t.finished for t in trials):
        raise UsageError(tr("sweep directory {sweep_dir}: no trial has finished yet (no eval.json in its {value} "
                            "run directories); continue it with sweep.py --resume {sweep_dir}").format(
            sweep_dir=sweep_dir, value=len(trials)))
    configurations = group(trials, reps)
    figure = next(t.figure for t in trials if t.figure)
    for trial in trials:  # trials a scheduler stopped (or still running) show their last evaluation
        steps, values = read_curve(trial.run_dir, EVAL_TAGS[figure]) if not trial.finished else ((), ())
        if len(values):
            trial.steps, trial.last_eval = int(steps[-1]), float(values[-1])
    summary = SweepSummary(manifest, sweep_dir, configurations, figure, reps, [])
    if write:
        summary.files = [write_summary_csv(summary), write_trials_csv(summary)]
        curves = plot_learning_curves(summary)
        if curves is not None:
            summary.files.append(curves)
        summary.files.append(log_hparams(summary, curves))
    return summary


def write_summary_csv(summary: SweepSummary) -> Path:
    path = summary.sweep_dir / "summary.csv"
    keys = summary.manifest.swept
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["configuration", *keys, "figure", "seeds_finished", "seeds_unfinished",
                         *(f"{s}{part}" for s in STATISTICS for part in ("", "_ci_low", "_ci_high")),
                         "per_seed"])
        for config in summary.configurations:
            numbers = ([x for s in STATISTICS for x in config.estimates[s]] if config.estimates
                       else [""] * 3 * len(STATISTICS))
            writer.writerow([config.label, *(config.params[k] for k in keys), summary.figure,
                             len(config.finished), len(config.trials) - len(config.finished), *numbers,
                             ";".join(f"s{t.seed}={t.value!r}" for t in config.finished)])
    return path


def write_trials_csv(summary: SweepSummary) -> Path:
    path = summary.sweep_dir / "trials.csv"
    keys = summary.manifest.swept
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["trial", "configuration", *keys, "seed", "finished", summary.figure, "steps", "run_dir"])
        for config in summary.configurations:
            for t in config.trials:
                writer.writerow([t.name, config.label, *(t.params[k] for k in keys), t.seed, t.finished,
                                 "" if t.value is None else repr(t.value), t.steps or "", t.run_dir.name])
    return path


def read_curve(run_dir: Path, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of one tag in a run's metrics.csv."""
    path = run_dir / "metrics.csv"
    if not path.is_file():
        return np.empty(0), np.empty(0)
    with open(path, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get(tag) not in (None, "")]
    return np.array([float(r["step"]) for r in rows]), np.array([float(r[tag]) for r in rows])


def common_grid(curves: list[tuple[np.ndarray, np.ndarray]], points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray] | None:
    """Curves with different step counts (episodes end at different steps) interpolated onto
    `points` shared steps over the range every curve covers; None when that range is empty."""
    curves = [c for c in curves if len(c[0]) >= 2]
    if not curves:
        return None
    start, stop = max(c[0][0] for c in curves), min(c[0][-1] for c in curves)
    if stop <= start:
        return None
    grid = np.linspace(start, stop, points)
    return grid, np.stack([np.interp(grid, steps, values) for steps, values in curves])


def plot_learning_curves(summary: SweepSummary) -> Path | None:
    """IQM across seeds with a 95% band, per configuration: training return, and the per-seed
    figure at the periodic evaluations when the runs made them."""
    tags = ["charts/episodic_return", EVAL_TAGS[summary.figure]]
    panels = []
    for tag in tags:
        lines = []
        for config in summary.configurations:
            curves = [read_curve(t.run_dir, tag) for t in config.finished]
            shared = common_grid(curves)
            if shared is not None and (tag == tags[0] or min(len(c[0]) for c in curves) >= 3):
                lines.append((config, *shared))
        if lines:
            panels.append((tag, lines))
    if not panels:
        return None
    fig, axes = new_figure(1, len(panels), figsize=(7 * len(panels), 4.5), squeeze=False)
    for ax, (tag, lines) in zip(axes[0], panels):
        for k, (config, grid, curves) in enumerate(lines):
            iqm, low, high = curve_band(curves)
            colour = f"C{k % 10}"
            for curve in curves:
                ax.plot(grid, curve, color=colour, lw=0.5, alpha=0.3)
            label = ngettext("{config} (IQM of {count} seed)", "{config} (IQM of {count} seeds)", len(curves))
            ax.plot(grid, iqm, color=colour, lw=2, label=label.format(config=config.label, count=len(curves)))
            ax.fill_between(grid, low, high, color=colour, alpha=0.25)
        ax.set_xlabel(tr("agent steps"))
        ax.set_ylabel(tag)
        ax.set_title(tr("{preset}: {tag}, IQM across seeds, 95% band").format(
            preset=summary.manifest.preset, tag=tag),
                     fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    return save_figure(fig, summary.sweep_dir / "plots" / "learning_curves.png")


def log_hparams(summary: SweepSummary, curves: Path | None) -> Path:
    """One TensorBoard hparams session per configuration (its swept values, the aggregate and its
    interval), rewritten from scratch each time so a second aggregation shows no duplicates."""
    folder = summary.sweep_dir / "tensorboard"
    shutil.rmtree(folder, ignore_errors=True)
    for k, config in enumerate(summary.configurations):
        if config.estimates is None:
            continue
        params = {"preset": summary.manifest.preset, "configuration": config.label, **config.params,
                  "seeds": len(config.finished)}
        metrics = {f"sweep/{s}{part}": value for s in STATISTICS
                   for part, value in zip(("", "_ci_low", "_ci_high"), config.estimates[s])}
        with Logger(folder / f"config-{k:03d}") as logger:
            logger.hparams(params, metrics)
    if curves is not None:
        import imageio.v3 as iio

        with Logger(folder / "curves") as logger:
            logger.image("sweep/learning_curves", np.asarray(iio.imread(curves))[..., :3])
    return folder
