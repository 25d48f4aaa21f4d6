"""Many seeds on Ray Tune and their aggregation (agents.sweeps, scripts/sweep.py).

The aggregation is checked against hand computations on known inputs; the sweeps run tiny
blackjack-q trials through Ray for real. Without the `scale` extra these tests are skipped with
the command that installs it.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lab.config import dump_yaml

ROOT = Path(__file__).resolve().parents[1]
SCALE = 'the sweep tests need the scale extra: pip install -e ".[scale]"'

try:
    import rliable  # noqa: F401
    HAVE_RLIABLE = True
except ImportError:
    HAVE_RLIABLE = False
needs_rliable = pytest.mark.skipif(not HAVE_RLIABLE, reason=SCALE)


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
try:
    import ray  # noqa: F401
    HAVE_RAY = HAVE_RLIABLE
except ImportError:
    HAVE_RAY = False
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason=SCALE)
SWEEP = str(ROOT / "scripts" / "sweep.py")
#: a blackjack-q trial of a few seconds with a checkpoint every 1,000 episodes
TINY = ["--set", "total_episodes=2000", "--set", "checkpoint_every=500", "--set", "log_every=250",
        "--set", "evaluation.episodes=200", "--set", "record_episodes=0"]


def _load_script(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sweep_command(*args: str, timeout: int = 300, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SWEEP, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """Two seeds of blackjack-q through Ray, one CPU per trial."""
    root = tmp_path_factory.mktemp("sweep")
    result = sweep_command("blackjack-q", "--seeds", "0-1", *TINY, "--cpus-per-trial", "1", "--cpus", "2",
                           "--sweep-dir", str(root / "sweep"))
    return result, root / "sweep"


@needs_ray
def test_a_tiny_sweep_makes_one_ordinary_run_per_seed_and_aggregates_them(tiny_sweep, tmp_path):
    from agents import runner
    from lab.config import load_yaml

    result, sweep = tiny_sweep
    assert result.returncode == 0, result.stderr[-3000:]
    regrets = {}
    for seed in (0, 1):
        run = sweep / f"s{seed}"
        for part in ("config.yaml", "eval.json", "metrics.csv", "checkpoints/latest/state.json",
                     "checkpoints/best/model.safetensors"):
            assert (run / part).exists(), f"{run}/{part}"
        assert list(run.glob("events.out.tfevents.*"))
        config = load_yaml(run / "config.yaml")
        assert config["seed"] == seed and config["total_episodes"] == 2000 and config["torch_threads"] == 1
        regrets[seed] = json.loads((run / "eval.json").read_text())["regret"]
    # an ordinary run: the same preset, overrides and seed outside Ray give the same exact regret
    alone = runner.train("blackjack-q", overrides=TINY[1::2] + ["torch_threads=1"], seed=1,
                         run_dir=str(tmp_path / "alone"), quiet=True)
    assert alone.evaluation["regret"] == pytest.approx(regrets[1], abs=1e-12)
    with open(sweep / "summary.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["configuration"] == "preset" and row["seeds_finished"] == "2" and row["figure"] == "regret"
    assert float(row["mean"]) == pytest.approx((regrets[0] + regrets[1]) / 2)
    assert "exact regret per seed" in result.stdout and f"s1 {regrets[1]:.5f}" in result.stdout
    assert json.loads((sweep / "sweep.json").read_text())["seeds"] == [0, 1]
    assert list((sweep / "tensorboard").glob("config-000/events.out.tfevents.*"))


@needs_ray
def test_evaluate_py_aggregates_an_existing_sweep(tiny_sweep):
    result, sweep = tiny_sweep
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep / "summary.csv").unlink()
    evaluate = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate.py"), str(sweep)],
                              capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert evaluate.returncode == 0, evaluate.stderr[-2000:]
    assert "exact regret per seed" in evaluate.stdout and (sweep / "summary.csv").is_file()


BAD = [
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
    (["blackjack-q", "--sweep-dir", "FILE"], "FILE"),
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


def test_without_ray_sweep_py_says_how_to_install_it():
    hide = ("import sys, runpy; sys.modules['ray'] = None; sys.argv = ['sweep.py', 'blackjack-q']; "
            f"runpy.run_path({SWEEP!r}, run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, timeout=120, cwd=ROOT)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert 'pip install -e ".[scale]"' in lines[0] and "ray" in lines[0]
