"""Many seeds on Ray Tune and their aggregation (agents.sweeps, scripts/sweep.py).

The aggregation is checked against hand computations on known inputs; the sweeps run tiny
blackjack-q trials through Ray for real. Without the `scale` extra these tests are skipped with
the command that installs it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from extras import needs
from lab import i18n
from lab.config import dump_yaml

ROOT = Path(__file__).resolve().parents[1]
needs_rliable = needs("scale", "rliable")


# -- aggregation against hand computations ------------------------------------------------------
@needs_rliable
def test_point_estimates_are_the_hand_computed_mean_median_and_iqm():
    from agents.sweeps.aggregate import interval_estimates

    five = interval_estimates([10, 1, 3, 2, 4], reps=200)
    # mean 20/5; median of 1 2 3 4 10 is 3; IQM drops int(0.25*5) = 1 run at each end: (2+3+4)/3
    assert (five["mean"].point, five["median"].point, five["iqm"].point) == pytest.approx((4.0, 3.0, 3.0))
    eight = interval_estimates([1, 2, 3, 4, 5, 6, 7, 100], reps=200)
    # the outlier moves the mean to 128/8 = 16 but not the IQM: (3+4+5+6)/4 = 4.5
    assert (eight["mean"].point, eight["median"].point, eight["iqm"].point) == pytest.approx((16.0, 4.5, 4.5))


@needs_rliable
def test_bootstrap_intervals_match_the_exact_resampling_distribution():
    from agents.sweeps.aggregate import interval_estimates

    # Resampling [0, 0, 0, 1] with replacement: K ones ~ Binomial(4, 1/4), P(K=0) = 81/256 = 0.32,
    # P(K <= 2) = 243/256 = 0.949, P(K <= 3) = 0.996. The mean K/4 has its 2.5% point at 0 and its
    # 97.5% point at 3/4; median and IQM (the middle two of four) are 1 once K >= 3 (P = 0.051).
    est = interval_estimates([0, 0, 0, 1], reps=1000)
    assert (est["mean"].point, est["mean"].low, est["mean"].high) == pytest.approx((0.25, 0.0, 0.75))
    assert (est["median"].low, est["median"].high) == pytest.approx((0.0, 1.0))
    assert (est["iqm"].point, est["iqm"].low, est["iqm"].high) == pytest.approx((0.0, 0.0, 1.0))
    constant = interval_estimates([0.003, 0.003, 0.003], reps=200)
    assert all(e == pytest.approx((0.003, 0.003, 0.003)) for e in constant.values())
    assert interval_estimates([0, 0, 0, 1], reps=1000) == est  # seeded: the same values give the same interval


@needs_rliable
def test_curve_band_brackets_the_iqm_of_each_point():
    from agents.sweeps.aggregate import curve_band

    curves = np.array([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [3.0, 4.0, 9.0]])
    iqm, low, high = curve_band(curves, reps=500)
    assert iqm == pytest.approx([1.5, 2.5, 3.5])  # the middle two seeds at each point
    assert np.all(low <= iqm) and np.all(iqm <= high)
    assert np.all(low >= curves.min(axis=0)) and np.all(high <= curves.max(axis=0))


def _fake_trial(sweep_dir: Path, name: str, seed: int, alpha: float, regret: float | None) -> None:
    """A run directory as the engine leaves it: config.yaml, metrics.csv and (finished) eval.json."""
    run = sweep_dir / name
    (run / "checkpoints" / "latest").mkdir(parents=True)
    dump_yaml({"preset": "blackjack-q", "algo": "q-learning", "seed": seed, "agent": {"alpha": alpha}},
              run / "config.yaml")
    with open(run / "metrics.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "charts/episodic_return"])
        writer.writerows([[100 * k + seed, -0.5 + 0.1 * k + 0.01 * seed] for k in range(1, 6)])
    if regret is not None:
        (run / "eval.json").write_text(json.dumps({"mean": -0.1, "regret": regret, "exact_return": -0.05}))


@needs_rliable
def test_summarize_sweep_groups_seeds_by_swept_values_and_writes_the_table(tmp_path):
    from agents.sweeps.aggregate import summarize_sweep
    from agents.sweeps.manifest import Manifest

    Manifest("blackjack-q", [0, 1, 2], [], ["agent.alpha"], grid={"agent.alpha": [0.1, 0.5]}).write(tmp_path)
    for seed, regret in enumerate([0.004, 0.001, 0.002]):
        _fake_trial(tmp_path, f"agent.alpha=0.1-s{seed}", seed, 0.1, regret)
    _fake_trial(tmp_path, "agent.alpha=0.5-s0", 0, 0.5, 0.010)
    _fake_trial(tmp_path, "agent.alpha=0.5-s1", 1, 0.5, None)  # stopped before its end
    summary = summarize_sweep(tmp_path, reps=500)

    assert summary.figure == "regret"
    best, worst = summary.configurations  # lower regret first
    assert best.label == "agent.alpha=0.1" and len(best.finished) == 3
    assert best.estimates["mean"].point == pytest.approx(0.007 / 3)
    assert best.estimates["median"].point == pytest.approx(0.002)
    assert worst.estimates["iqm"].point == pytest.approx(0.010) and len(worst.trials) == 2
    with open(tmp_path / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["configuration"] for r in rows] == ["agent.alpha=0.1", "agent.alpha=0.5"]
    assert float(rows[0]["mean"]) == pytest.approx(0.007 / 3) and rows[0]["seeds_finished"] == "3"
    assert float(rows[0]["iqm_ci_low"]) <= float(rows[0]["iqm"]) <= float(rows[0]["iqm_ci_high"])
    assert rows[1]["seeds_unfinished"] == "1" and rows[0]["agent.alpha"] == "0.1"
    table = summary.table()
    assert "exact regret per seed (lower is better)" in table and "s1 (unfinished)" in table
    assert re.search(r"\nagent\.alpha=0\.1 +3 +0\.002333 \[", table)  # three seeds: point and interval
    assert re.search(r"\nagent\.alpha=0\.5 +1 +0\.01 +0\.01 +0\.01\n", table)  # one seed: the score, no interval
    i18n.set_language("pt")  # a Portuguese reader's table: its words, decimal commas, "; " between numbers
    table = summary.table()
    assert "arrependimento exato por semente (menor é melhor)" in table and "s1 (não terminada)" in table
    assert re.search(r"\nagent\.alpha=0\.1 +3 +0,002333 \[0,\d+; 0,\d+\]", table)
    assert "agent.alpha=0.1: s0 0,004; s1 0,001; s2 0,002" in table
    i18n.set_language(None)
    assert (tmp_path / "plots" / "learning_curves.png").stat().st_size > 10_000
    assert len(list((tmp_path / "tensorboard").glob("config-*/events.out.tfevents.*"))) == 2
    summarize_sweep(tmp_path, reps=500)  # a second aggregation replaces, not adds, the hparams sessions
    assert len(list((tmp_path / "tensorboard").glob("config-*/events.out.tfevents.*"))) == 2


@needs_rliable
def test_summarize_refuses_a_folder_that_is_not_a_sweep(tmp_path):
    from agents.sweeps.aggregate import summarize_sweep
    from lab.cli import UsageError

    with pytest.raises(UsageError, match="no sweep.json"):
        summarize_sweep(tmp_path)


# -- the sweep command ------------------------------------------------------------------------------
needs_ray = needs("scale", "ray", "rliable")
SWEEP = str(ROOT / "scripts" / "sweep.py")
#: a blackjack-q trial of a few seconds with a checkpoint every 1,000 episodes and an evaluation
#: (reported to Tune) every 2,000
TINY = ["--set", "total_episodes=20000", "--set", "checkpoint_every=1000", "--set", "log_every=1000",
        "--set", "evaluation.every=2000", "--set", "evaluation.episodes=200", "--set", "record_episodes=0"]


def _load_script(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sweep_command(*args: str, timeout: int = 300, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SWEEP, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid == ancestor:
            return True
    return False


def trial_workers(sweep_process: int, trial: str) -> list[int]:
    """Ray worker processes of our sweep that run `trial` (Tune starts them in working_dirs/<trial>)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.readlink(entry / "cwd").endswith(f"/working_dirs/{trial}") \
                    and _descends_from(int(entry.name), sweep_process):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _wait_for(path: Path, process: subprocess.Popen, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, f"the sweep ended (exit {process.returncode}) before {path} appeared"
        assert time.monotonic() < deadline, f"no {path} within {seconds} s"
        time.sleep(0.02)


def start_sweep(*args: str, logs: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, SWEEP, *args], cwd=ROOT, start_new_session=True,
                            stdout=open(logs / "stdout", "w"), stderr=open(logs / "stderr", "w"))


def finish(process: subprocess.Popen, timeout: float = 300) -> None:
    try:
        process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the sweep's own session: its Ray and nothing else
            process.wait()


def _latest(run: Path) -> dict:
    return json.loads((run / "checkpoints" / "latest" / "state.json").read_text())["state"]


def _files(folder: Path) -> dict:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def _episodes_logged(run: Path, after: float, before: float = float("inf")) -> list[float]:
    """The episode counts of the log rows written between two wall-clock times."""
    with open(run / "metrics.csv", newline="") as handle:
        return [float(r["charts/episodes"]) for r in csv.DictReader(handle)
                if r.get("charts/episodes") and after < float(r["wall_time"]) < before]


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """Two seeds of blackjack-q through Ray, one CPU per trial and one at a time, put through
    what happens to real sweeps: once one trial has finished and the other has saved a checkpoint,
    the second's worker process is killed with SIGKILL (Tune retries it); once the retry has saved
    a later checkpoint, the sweep is interrupted with Ctrl+C (SIGINT); then `--resume` ends it."""
    root = tmp_path_factory.mktemp("sweep")
    sweep = root / "sweep"
    process = start_sweep("blackjack-q", "--seeds", "0-1", *TINY, "--cpus-per-trial", "1", "--cpus", "1",
                          "--sweep-dir", str(sweep), logs=root)
    facts: dict = {"sweep": sweep}
    try:
        deadline = time.monotonic() + 300
        while not any((sweep / s / "eval.json").exists() for s in ("s0", "s1")):
            assert process.poll() is None and time.monotonic() < deadline, (root / "stderr").read_text()[-3000:]
            time.sleep(0.02)
        first, second = ("s0", "s1") if (sweep / "s0" / "eval.json").exists() else ("s1", "s0")
        _wait_for(sweep / second / "checkpoints" / "latest" / "state.json", process)
        (worker,) = trial_workers(process.pid, second)
        os.kill(worker, signal.SIGKILL)
        facts |= {"first": first, "second": second, "killed": _latest(sweep / second), "killed_time": time.time()}
        assert not (sweep / second / "eval.json").exists(), "the trial finished before the kill; raise TINY's budget"
        while _latest(sweep / second)["steps"] <= facts["killed"]["steps"]:  # the retry's own checkpoint
            assert process.poll() is None and time.monotonic() < deadline, (root / "stderr").read_text()[-3000:]
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        facts |= {"interrupted_time": time.time(), "interrupted": _latest(sweep / second)}
    finally:
        finish(process)
    facts |= {"code": process.returncode, "stdout": (root / "stdout").read_text(),
              "stderr": (root / "stderr").read_text(), "first_files": _files(sweep / first),
              "unfinished": not (sweep / second / "eval.json").exists()}
    facts["resumed"] = sweep_command("--resume", str(sweep), "--cpus", "1")
    return facts


@needs_ray
def test_a_tiny_sweep_makes_one_ordinary_run_per_seed_and_aggregates_them(tiny_sweep, tmp_path):
    from agents import runner
    from lab.config import load_yaml

    sweep, resumed = tiny_sweep["sweep"], tiny_sweep["resumed"]
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    regrets = {}
    for seed in (0, 1):
        run = sweep / f"s{seed}"
        for part in ("config.yaml", "eval.json", "metrics.csv", "checkpoints/latest/state.json",
                     "checkpoints/best/model.safetensors"):
            assert (run / part).exists(), f"{run}/{part}"
        assert list(run.glob("events.out.tfevents.*"))
        config = load_yaml(run / "config.yaml")
        assert config["seed"] == seed and config["total_episodes"] == 20000 and config["torch_threads"] == 1
        regrets[seed] = json.loads((run / "eval.json").read_text())["regret"]
    # an ordinary run: the same preset, overrides and seed outside Ray give the same exact regret
    seed = int(tiny_sweep["first"][1:])
    alone = runner.train("blackjack-q", overrides=TINY[1::2] + ["torch_threads=1"], seed=seed,
                         run_dir=str(tmp_path / "alone"), quiet=True)
    assert alone.evaluation["regret"] == pytest.approx(regrets[seed], abs=1e-12)
    with open(sweep / "summary.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["configuration"] == "preset" and row["seeds_finished"] == "2" and row["figure"] == "regret"
    assert float(row["mean"]) == pytest.approx((regrets[0] + regrets[1]) / 2)
    assert "exact regret per seed" in resumed.stdout and f"s1 {regrets[1]:.4g}" in resumed.stdout
    assert json.loads((sweep / "sweep.json").read_text())["seeds"] == [0, 1]
    # the engine's periodic evaluations reached Tune (what a scheduler decides on), then the final one
    results = [json.loads(line) for line in (sweep / "tune" / tiny_sweep["first"] / "result.json").read_text().splitlines()]
    periodic = [r for r in results if not r["final"]]
    assert [r["evaluation_index"] for r in periodic] == list(range(1, 10))
    assert [r["episodes"] for r in periodic] == list(range(2000, 20000, 2000))
    assert all(0 <= r["eval/regret"] < 0.5 for r in periodic) and results[-1]["eval/regret"] == regrets[int(tiny_sweep["first"][1:])]
    assert list((sweep / "tensorboard").glob("config-000/events.out.tfevents.*"))


@needs_ray
def test_a_killed_trial_is_retried_from_its_last_checkpoint(tiny_sweep):
    second, killed = tiny_sweep["second"], tiny_sweep["killed"]
    assert f"{second}: its process failed" in tiny_sweep["stdout"]
    assert killed["episodes"] >= 1000
    # the retry continued past the checkpoint the kill left: every row it logged lies beyond it
    retried = _episodes_logged(tiny_sweep["sweep"] / second, tiny_sweep["killed_time"], tiny_sweep["interrupted_time"])
    assert retried and min(retried) > killed["episodes"]
    assert tiny_sweep["interrupted"]["steps"] > killed["steps"]


@needs_ray
def test_resume_continues_an_interrupted_sweep_without_redoing_finished_trials(tiny_sweep):
    sweep, first, second, resumed = (tiny_sweep[k] for k in ("sweep", "first", "second", "resumed"))
    assert tiny_sweep["code"] == 130 and f"--resume {sweep}" in tiny_sweep["stderr"], tiny_sweep["stderr"][-3000:]
    assert tiny_sweep["unfinished"]
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _files(sweep / first) == tiny_sweep["first_files"]  # not run again: no byte or timestamp changed
    assert f"[sweep] {first}:" not in resumed.stdout and f"[sweep] {second}: finished" in resumed.stdout
    results = [json.loads(line) for line in (sweep / "tune" / second / "result.json").read_text().splitlines()]
    # Tune stops a trial at its next report, so the retry may have saved a checkpoint or two more
    assert results[-1]["final"] and results[-1]["resumed_from"] >= tiny_sweep["interrupted"]["steps"]
    with open(sweep / second / "metrics.csv", newline="") as handle:
        episodes = [float(r["charts/episodes"]) for r in csv.DictReader(handle) if r.get("charts/episodes")]
    # one log row per 1,000 episodes, none twice, up to the budget: resumed twice, never restarted
    assert episodes == [float(e) for e in range(1000, 20001, 1000)]


def test_a_run_killed_after_its_last_checkpoint_resumes_into_its_final_report(tmp_path):
    """A trial killed between its final checkpoint and eval.json is retried like any other: the
    engine's resume then only makes the final evaluation and report (the same figures)."""
    from agents import runner

    overrides = ["total_episodes=300", "evaluation.episodes=20", "record_episodes=0"]
    first = runner.train("blackjack-q", overrides=overrides, seed=4, run_dir=str(tmp_path / "run"), quiet=True)
    (tmp_path / "run" / "eval.json").unlink()
    again = runner.train("blackjack-q", resume=str(tmp_path / "run"), quiet=True)
    assert again.episodes == 300 and again.evaluation["regret"] == first.evaluation["regret"]
    assert json.loads((tmp_path / "run" / "eval.json").read_text())["regret"] == first.evaluation["regret"]


@needs_ray
def test_evaluate_py_aggregates_an_existing_sweep(tiny_sweep):
    sweep = tiny_sweep["sweep"]
    assert tiny_sweep["resumed"].returncode == 0
    (sweep / "summary.csv").unlink()
    evaluate = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate.py"), str(sweep)],
                              capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert evaluate.returncode == 0, evaluate.stderr[-2000:]
    assert "exact regret per seed" in evaluate.stdout and (sweep / "summary.csv").is_file()


BAD = [
    (["--resume", "FILE"], "FILE"),
    (["blackjack-q", "--resume", "FILE"], "PRESET"),
    (["blackjack-q", "--seeds", "5-2"], "5-2"),
    (["blackjack-q", "--seeds", "zero"], "zero"),
    (["no-such-preset"], "no-such-preset"),
    (["blackjack-q", "--set", "agent.nope=1"], "nope"),
    (["blackjack-q", "--grid", "agent.alpha"], "agent.alpha"),
    (["blackjack-q", "--grid", "seed=1,2"], "--seeds"),
    (["blackjack-q", "--grid", "agent.alpha=0.1,0.1"], "repeated"),
    (["blackjack-q", "--cpus-per-trial", "0"], "--cpus-per-trial"),
    (["blackjack-q", "--cpus-per-trial", "4", "--cpus", "2"], "--cpus"),
    (["blackjack-q", "--set", "torch_threads=2"], "torch_threads"),
    (["blackjack-q", "--address", "no address"], "no address"),
    (["blackjack-q", "--address", "127.0.0.1:1"], "127.0.0.1:1"),  # nothing listens on port 1
    (["blackjack-q", "--sweep-dir", "FILE"], "FILE"),
    (["blackjack-q", "--range", "agent.alpha_power=0.5:1"], "--search"),
    (["blackjack-q", "--search", "optuna", "--trials", "3"], "space"),
    (["blackjack-q", "--search", "optuna", "--trials", "3", "--range", "agent.alpha_power=1:0.5"], "LOW < HIGH"),
    (["blackjack-q", "--search", "optuna", "--trials", "0", "--range", "agent.alpha_power=0.5:1"], "--trials"),
    (["blackjack-q", "--search", "optuna", "--seeds", "0-2", "--trials", "3", "--range", "agent.alpha_power=0.5:1"],
     "one seed"),
    (["blackjack-q", "--search", "optuna", "--trials", "3", "--range", "agent.alpha_power=0.5:20"], "alpha_power"),
    (["blackjack-q", "--search", "grid"], "grid"),
    (["blackjack-q", "--scheduler", "asha"], "evaluation.every"),
    (["cartpole-dqn", "--metric", "eval/regret"], "eval/regret"),
    (["blackjack-q", "--grid", "agent.alpha=,"], "no values"),
    # every value Optuna may sample is checked (burn_in must be a multiple of sequence_length / 2)
    (["cartpole-novel-lstm", "--search", "optuna", "--trials", "2", "--range", "agent.burn_in=0:20", "--set",
      "evaluation.every=1000"], "agent.burn_in=0:20: the value 1"),
    (["blackjack-q", "--set", "seed=3"], "--seeds"),
    (["blackjack-q", "--set", "preset=rooms-q"], "PRESET"),
    # --resume uses the sweep's own settings: a flag it would not use is refused, not ignored
    (["--resume", "FILE", "--seeds", "0-3"], "--seeds"),
    (["--resume", "FILE", "--device", "cpu"], "--device"),
    (["--resume", "FILE", "--max-failures", "2", "--gpus-per-trial", "0"], "--gpus-per-trial, --max-failures"),
]


@needs_ray
@pytest.mark.parametrize("argv,named", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, named, tmp_path, monkeypatch, capsys):
    from lab.cli import run_main

    (tmp_path / "a-file").write_text("not a folder")
    argv = [str(tmp_path / "a-file") if a == "FILE" else a for a in argv]
    named = str(tmp_path / "a-file") if named == "FILE" else named
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        run_main(_load_script("sweep").main, argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(err) == 1 and named in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@needs_ray
def test_sweep_device_is_checked_before_ray_starts_or_sweep_json_is_written(tmp_path, monkeypatch, capsys):
    import torch

    from lab.cli import run_main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        run_main(_load_script("sweep").main, ["blackjack-q", "--device", "cuda", "--sweep-dir", "s"])
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(err) == 1 and "--device cuda" in err[0], err
    assert list(tmp_path.iterdir()) == []


@needs_ray
@pytest.mark.parametrize("field, value, named", [("seeds", "abc", "seeds must be a list"),
                                                 ("ranges", {"agent.alpha": 5}, "ranges.agent.alpha"),
                                                 ("overrides", ["agent.alpha=abc"], "agent.alpha"),
                                                 ("device", "tpu", "tpu")])
def test_a_damaged_sweep_json_is_refused_on_resume_before_ray_starts(tmp_path, capsys, field, value, named):
    import dataclasses

    from agents.sweeps.manifest import Manifest
    from lab.cli import run_main

    manifest = dataclasses.asdict(Manifest("blackjack-q", [0], ["total_episodes=100"], [], directory=str(tmp_path)))
    (tmp_path / "sweep.json").write_text(json.dumps(manifest | {field: value}))
    with pytest.raises(SystemExit) as stop:
        run_main(_load_script("sweep").main, ["--resume", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(err) == 1 and named in err[0], err
    assert [p.name for p in tmp_path.iterdir()] == ["sweep.json"]  # no tune/ state: Ray never started


SEARCH_BUDGET = ["--set", "total_episodes=12000", "--set", "evaluation.every=1000", "--set", "evaluation.episodes=100",
                 "--set", "record_episodes=0", "--set", "log_every=1000"]


@needs_ray
@pytest.mark.slow
def test_a_grid_sweep_aggregates_each_configuration_over_its_seeds(tmp_path):
    result = sweep_command("blackjack-q", "--seeds", "0-1", "--grid", "exploration.end=0.1,0.4", *SEARCH_BUDGET,
                           "--sweep-dir", str(tmp_path / "sweep"))
    assert result.returncode == 0, result.stderr[-3000:]
    names = sorted(p.parent.name for p in (tmp_path / "sweep").glob("*/eval.json"))
    assert names == ["exploration.end=0.1-s0", "exploration.end=0.1-s1", "exploration.end=0.4-s0",
                     "exploration.end=0.4-s1"]
    with open(tmp_path / "sweep" / "summary.csv", newline="") as handle:
        rows = {r["configuration"]: r for r in csv.DictReader(handle)}
    assert set(rows) == {"exploration.end=0.1", "exploration.end=0.4"}
    for label, row in rows.items():
        regrets = [json.loads((tmp_path / "sweep" / f"{label}-s{s}" / "eval.json").read_text())["regret"] for s in (0, 1)]
        assert row["seeds_finished"] == "2" and float(row["mean"]) == pytest.approx(sum(regrets) / 2)


@needs_ray
@pytest.mark.slow
def test_an_optuna_search_with_asha_samples_the_ranges_and_stops_at_evaluations(tmp_path):
    from lab.config import load_yaml

    result = sweep_command("blackjack-q", "--search", "optuna", "--trials", "6", "--seeds", "3",
                           "--range", "agent.alpha_power=0.5:1.0", "--range", "exploration.end=0.05:0.5:log",
                           *SEARCH_BUDGET, "--sweep-dir", str(tmp_path / "sweep"))
    assert result.returncode == 0, result.stderr[-3000:]
    runs = sorted((tmp_path / "sweep").glob("trial-*-s3"))
    assert len(runs) == 6
    sampled = [load_yaml(run / "config.yaml") for run in runs]
    assert all(0.5 <= c["agent"]["alpha_power"] <= 1.0 and 0.05 <= c["exploration"]["end"] <= 0.5 for c in sampled)
    assert len({c["agent"]["alpha_power"] for c in sampled}) == 6 and all(c["seed"] == 3 for c in sampled)
    finished = [run for run in runs if (run / "eval.json").exists()]
    stopped = [run for run in runs if run not in finished]
    assert finished and "best: agent.alpha_power=" in result.stdout
    assert json.loads((tmp_path / "sweep" / "sweep.json").read_text())["scheduler"] == "asha"
    for run in stopped:  # ASHA stops a trial only at a periodic evaluation, which Tune was told
        results = [json.loads(line) for line in (tmp_path / "sweep" / "tune" / run.name / "result.json").read_text().splitlines()]
        assert not results[-1]["final"] and results[-1]["evaluation_index"] >= 2  # ASHA's grace period
        assert f"{run.name}: stopped by the scheduler" in result.stdout


@needs_ray
@pytest.mark.slow
def test_a_sweep_on_a_two_node_cluster_survives_a_killed_worker(tmp_path):
    """`--address` joins a running cluster (two nodes started here, one CPU each, so the two trials
    run on different nodes); one trial's worker is killed mid-run; both trials end complete under
    the sweep directory of the machine that started them (one filesystem here, NFS on a cluster)."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False,
                                                              "object_store_memory": 100 * 1024**2})
    try:
        cluster.add_node(num_cpus=1, object_store_memory=100 * 1024**2)
        cluster.wait_for_nodes()
        sweep = tmp_path / "sweep"
        process = start_sweep("blackjack-q", "--seeds", "0-1", *TINY, "--address", cluster.address,
                              "--sweep-dir", str(sweep), logs=tmp_path)
        try:
            _wait_for(sweep / "s1" / "checkpoints" / "latest" / "state.json", process)
            (worker,) = trial_workers(os.getpid(), "s1")  # the cluster's processes are this test's
            os.kill(worker, signal.SIGKILL)
            assert not (sweep / "s1" / "eval.json").exists(), "s1 finished before the kill; raise TINY's budget"
        finally:
            finish(process)
    finally:
        cluster.shutdown()
    stdout, stderr = (tmp_path / "stdout").read_text(), (tmp_path / "stderr").read_text()
    assert process.returncode == 0, stderr[-3000:]
    assert "s1: its process failed" in stdout and "resumed from step" in stdout
    assert "2 CPUs" in stdout  # both nodes' CPUs: the sweep ran on the cluster, not a local Ray
    for seed in (0, 1):
        for part in ("config.yaml", "eval.json", "metrics.csv", "checkpoints/latest/state.json"):
            assert (sweep / f"s{seed}" / part).exists()
    with open(sweep / "summary.csv", newline="") as handle:
        assert next(csv.DictReader(handle))["seeds_finished"] == "2"


def test_sweep_py_help_lists_every_option_with_its_default():
    result = subprocess.run([sys.executable, SWEEP, "--help"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    for option in ("--seeds", "--grid", "--search", "--range", "--trials", "--metric", "--scheduler",
                   "--cpus-per-trial", "--address", "--resume", "--max-failures"):
        assert option in result.stdout
    assert "(default: 0)" in result.stdout and "(default: 1.0)" in result.stdout


def test_without_ray_sweep_py_says_how_to_install_it():
    hide = ("import sys, runpy; sys.modules['ray'] = None; sys.argv = ['sweep.py', 'blackjack-q']; "
            f"runpy.run_path({SWEEP!r}, run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, timeout=120, cwd=ROOT)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert 'pip install -e ".[scale]"' in lines[0] and "ray" in lines[0]


@needs_ray
def test_progress_lines_speak_the_readers_language(capsys):
    from types import SimpleNamespace

    from agents.sweeps.tuning import Progress

    trial = SimpleNamespace(config={"params": {}, "seed": 1, "sweep": {"search": None}}, trial_id="t1",
                            last_result={"final": True, "eval/mean_return": 6.5, "resumed_from": 5000})
    i18n.set_language("pt")
    Progress().on_trial_complete(0, [trial, trial], trial)
    assert capsys.readouterr().out == "[sweep] s1: terminou (eval/mean_return 6,5, retomada do passo 5000) " \
                                      "[1 de 2 tentativas encerradas]\n"
    i18n.set_language("en")
    Progress().on_trial_recover(0, [trial], trial)
    assert "s1: its process failed; Tune starts it again" in capsys.readouterr().out
