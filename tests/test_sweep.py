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
