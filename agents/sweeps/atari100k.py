"""Our Boxing sweeps beside the Atari 100k literature (docs/design.md: data-efficient Atari; ch 70).

`scripts/bench.py atari100k --from DIR [--from DIR ...]` reads finished runs (a sweep
directory, whose configurations are grouped as `sweep.py` groups them; one run directory; or a
folder of run directories, those that differ only in their seed grouped, e.g. SB3's DQN trained
by `train.py boxing-100k --backend sb3 --seed S` into runs/boxing-100k-sb3-dqn/) and prints one
table: for each, the final agent's score per seed in raw Boxing points, the IQM over seeds with
rliable's stratified-bootstrap 95% interval, the agent steps it trained, the episodes its final
score averages, and the training minutes per seed (wall-clock and CPU, summed over resumes, from
the run's last checkpoint; marked ~ where only the files' times give them). Under it, the
published Boxing figures on the same benchmark, each with its source. Nothing is measured here:
the runs are whatever the directories hold, so a tuning sweep at 20k steps reads as 20k steps,
not as Atari 100k.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from lab.cli import UsageError
from lab.config import load_yaml
from lab.i18n import N_, decimal, listed, tr

from agents.sweeps.aggregate import group, interval_estimates, interval_text, load_trials, require_rliable
from agents.sweeps.manifest import Manifest

#: Boxing on Atari 100k (100k agent steps = 400k frames), the final agent's raw points, as published
PUBLISHED = (
    (N_("random"), 0.1, N_("Kaiser et al. 2020 (SimPLe), Atari 100k table")),
    (N_("human"), 12.1, N_("Kaiser et al. 2020 (SimPLe), Atari 100k table")),
    ("DER", 0.2, "van Hasselt et al. 2019"),
    ("DrQ", 6.0, "Kostrikov et al. 2021"),
    ("DrQ(eps)", 9.0, "Agarwal et al. 2021"),
    ("SPR", 35.7, "Schwarzer et al. 2021"),
    ("EfficientZero", 52.7, "Ye et al. 2021"),
    ("IRIS", 70.1, "Micheli et al. 2023"),
    ("BBF", 86.3, N_("Schwarzer et al. 2023: mean of the per-run scores released in "
                     "google-research/bigger_better_faster")),
    ("DIAMOND", 86.9, "Alonso et al. 2024"),
)


def _cost(run_dir: Path) -> tuple[float | None, float | None, bool]:
    """Training minutes (wall, CPU) from the last checkpoint, and whether they are only
    approximate: a run from before checkpoints kept them gives the time from its config.yaml to
    its eval.json (the final evaluation included; CPU unknown)."""
    try:
        state = json.loads((run_dir / "checkpoints" / "latest" / "state.json").read_text())["state"]
    except (OSError, ValueError, KeyError, TypeError):
        state = {}
    if isinstance(state.get("training_seconds"), (int, float)) and state["training_seconds"] > 0:
        return state["training_seconds"] / 60, state.get("training_cpu_seconds", 0.0) / 60 or None, False
    try:
        return ((run_dir / "eval.json").stat().st_mtime - (run_dir / "config.yaml").stat().st_mtime) / 60, None, True
    except OSError:
        return None, None, True


def _episodes(run_dir: Path) -> int | None:
    try:
        return int(json.loads((run_dir / "eval.json").read_text())["episodes"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Row:
    """One configuration of ours: its finished seeds' scores and what they cost."""

    def __init__(self, label: str, runs: list[tuple[int, float, Path]], steps: int | None) -> None:
        self.label, self.runs, self.steps = label, sorted(runs), steps
        self.estimates = interval_estimates([value for _, value, _ in self.runs]) if self.runs else None
        costs = [_cost(run_dir) for _, _, run_dir in self.runs]
        walls = [wall for wall, _, _ in costs if wall is not None]
        cpus = [cpu for _, cpu, _ in costs if cpu is not None]
        self.approximate = any(approximate for _, _, approximate in costs)
        self.wall_minutes = sum(walls) / len(walls) if walls else None
        self.cpu_minutes = sum(cpus) / len(cpus) if len(cpus) == len(costs) and cpus else None
        episodes = {_episodes(run_dir) for _, _, run_dir in self.runs}
        self.episodes = episodes.pop() if len(episodes) == 1 else None


def rows_from(directory: str | Path) -> list[Row]:
    """The configurations of a sweep directory, or the one run of a run directory."""
    path = Path(directory)
    if (path / "sweep.json").is_file():
        manifest = Manifest.read(path)
        trials = load_trials(path, manifest)
        rows = []
        for configuration in group(trials):
            finished = configuration.finished
            swept = [configuration.label] if manifest.swept else []
            name = " ".join([manifest.preset, *manifest.overrides, *swept])
            steps = max((t.steps for t in finished if t.steps is not None), default=None)
            rows.append(Row(f"{name} ({path.name})", [(t.seed, t.value, t.run_dir) for t in finished], steps))
        return rows
    if (path / "config.yaml").is_file():
        if not (path / "eval.json").is_file():
            raise UsageError(tr("--from {path}: this run has not finished (no eval.json); continue it with "
                                "train.py --resume {path}").format(path=path))
        return [_runs_row([(path, load_yaml(path / "config.yaml"))], path.name)]
    runs = sorted(run for run in path.iterdir() if (run / "config.yaml").is_file()) if path.is_dir() else []
    if not runs:
        raise UsageError(tr("--from {path}: not a sweep directory (sweep.json), a run directory (config.yaml) nor "
                            "a folder of run directories").format(path=path))
    configurations: dict[str, list[tuple[Path, dict]]] = {}  # runs that differ only in their seed: one row
    for run in runs:
        config = load_yaml(run / "config.yaml")
        key = json.dumps({k: v for k, v in config.items() if k != "seed"}, sort_keys=True, default=str)
        configurations.setdefault(key, []).append((run, config))
    return [_runs_row(members, path.name) for members in configurations.values()]


def _runs_row(runs: list[tuple[Path, dict]], folder: str) -> Row:
    """One configuration trained by train.py, one (run directory, its config) per seed (e.g. SB3's
    DQN: `train.py boxing-100k --backend sb3 --seed S`); unfinished runs are counted, not scored."""
    first, config = runs[0]
    backend = config.get("backend", "native")
    name = f"{config.get('preset', first.name)}" + (f" [{backend}]" if backend != "native" else "")
    finished = [(run, seeded) for run, seeded in runs if (run / "eval.json").is_file()]
    if len(finished) < len(runs):
        name += " " + tr("({finished} of {runs} runs finished)").format(finished=len(finished), runs=len(runs))
    scores = [(int(seeded.get("seed", 0)), float(json.loads((run / "eval.json").read_text())["mean"]), run)
              for run, seeded in finished]
    return Row(f"{name} ({folder})", scores, int(config.get("total_steps", 0)) or None)


def _number(value: float | None) -> str:
    return "-" if value is None else decimal(f"{value:.1f}")


def table(directories: list[str]) -> str:
    """Our rows from `directories`, then the published ones."""
    require_rliable()
    rows = [row for directory in directories for row in rows_from(directory)]
    lines = [tr("bench atari100k: Boxing, the final agent's score in raw points (IQM over seeds, "
                "95% CI of rliable's stratified bootstrap)"),
             tr("ours: per seed | IQM [95% CI] | agent steps | episodes per score | minutes per seed "
                "(training, wall / CPU)")]
    for row in rows:
        lines.append(f"  {row.label}")
        if row.estimates is None:
            lines.append("    " + tr("no seed finished"))
            continue
        iqm = row.estimates["iqm"]
        seeds = listed([f"s{seed} {_number(value)}" for seed, value, _ in row.runs])
        spread = (interval_text(iqm, _number) if len(row.runs) > 1
                  else tr("(one seed: no interval)"))  # a bootstrap over one score is that score
        lines.append(f"    {seeds} | {_number(iqm.point)} {spread} | "
                     f"{row.steps or '-'} | {row.episodes or '-'} | "
                     f"{'~' if row.approximate else ''}{_number(row.wall_minutes)} / {_number(row.cpu_minutes)}")
    if any(row.approximate for row in rows):
        lines.append("  " + tr("~: the run's checkpoints predate kept training times: from its config.yaml to its "
                               "eval.json, the final evaluation included"))
    if not rows:
        lines.append("  " + tr("(none given: python scripts/sweep.py boxing-100k --seeds 0-4, then "
                               "--from runs/boxing-100k/sweep-...)"))
    lines.append(tr("published (Atari 100k, Boxing):"))
    published = [(tr(name), score, tr(source)) for name, score, source in PUBLISHED]
    width = max(len(name) for name, _, _ in published)
    lines += [f"  {name:{width}s} {_number(score):>6s}  {source}" for name, score, source in published]
    return "\n".join(lines)
