"""Resume (`scripts/train.py --resume RUN_DIR`, chapters 69-75): a run killed with SIGKILL
continues from checkpoints/latest and loses at most one checkpoint interval; `--save-replay`
brings the replay memory back, without it the memory is refilled before learning resumes."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from agents import runner
from lab.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
TOTAL, CHECKPOINT_EVERY, LOG_EVERY, LEARNING_STARTS, TRAIN_EVERY = 4000, 500, 250, 1000, 2
# cartpole-dqn with a small budget: CartPole steps are cheap, so the test spends its time on
# what it checks rather than on an emulator.
CARTPOLE = [f"total_steps={TOTAL}", f"checkpoint_every={CHECKPOINT_EVERY}", f"log_every={LOG_EVERY}",
            f"agent.learning_starts={LEARNING_STARTS}", f"agent.train_every={TRAIN_EVERY}",
            "evaluation.every=0", "evaluation.episodes=2", "evaluation.final_episodes=2",
            "record_episodes=0", "torch_threads=1"]


def _train_command(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "scripts" / "train.py"), *args, "--quiet"]


def _metrics(run_dir: Path) -> list[dict]:
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _latest_state(run_dir: Path) -> dict:
    return json.loads((run_dir / "checkpoints" / "latest" / "state.json").read_text())["state"]


def test_sigkilled_run_resumes_from_its_last_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    environment = dict(os.environ, OMP_NUM_THREADS="1")
    command = _train_command("cartpole-dqn", "--run-dir", str(run_dir), "--seed", "3",
                             *[arg for override in CARTPOLE for arg in ("--set", override)])
    process = subprocess.Popen(command, cwd=ROOT, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    state_file = run_dir / "checkpoints" / "latest" / "state.json"
    try:
        deadline = time.monotonic() + 60
        while not state_file.exists():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint within 60 s"
            time.sleep(0.02)
        time.sleep(0.3)  # let it run past the checkpoint: that work is what a kill loses
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
    killed_at = time.time()
    assert process.returncode == -signal.SIGKILL
    assert not (run_dir / "eval.json").exists(), "the run finished before it was killed"

    checkpoint = _latest_state(run_dir)
    saved_steps, saved_updates = checkpoint["steps"], checkpoint["updates"]
    assert saved_steps >= CHECKPOINT_EVERY and saved_steps % CHECKPOINT_EVERY == 0
    logged_before_kill = max(int(row["step"]) for row in _metrics(run_dir))
    # what the kill lost: the steps logged after the last checkpoint, at most one interval
    assert 0 <= logged_before_kill - saved_steps <= CHECKPOINT_EVERY

    resumed = subprocess.run(_train_command("--resume", str(run_dir)), cwd=ROOT, env=environment,
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"cartpole-dqn: {TOTAL:,} steps" in resumed.stdout  # the summary groups thousands
    final = _latest_state(run_dir)
    assert final["steps"] == TOTAL
    assert json.loads((run_dir / "eval.json").read_text())["episodes"] == 2
    # the training cost adds up over both processes: the killed one's seconds are kept
    assert 0 < checkpoint["training_seconds"] < final["training_seconds"]
    assert 0 < checkpoint["training_cpu_seconds"] < final["training_cpu_seconds"]

    rows = _metrics(run_dir)
    steps = [int(row["step"]) for row in rows if row.get("charts/sps")]
    # continued, not restarted: everything logged after the kill lies past the checkpoint,
    # and the purged rows after the checkpoint were logged once more, not twice
    after_kill = [int(row["step"]) for row in rows if float(row["wall_time"]) > killed_at]
    assert after_kill and min(after_kill) > saved_steps
    assert steps == sorted(set(steps)) and steps[-1] == TOTAL
    assert set(range(LOG_EVERY, TOTAL + 1, LOG_EVERY)) <= set(steps)

    # without --save-replay the memory is refilled: no update before learning_starts new steps
    assert final["agent"]["learn_from"] == saved_steps + LEARNING_STARTS
    first_learning_step = max(LEARNING_STARTS, saved_steps + LEARNING_STARTS)
    expected_updates = saved_updates + (TOTAL - first_learning_step) / TRAIN_EVERY
    assert abs(final["updates"] - expected_updates) <= 2  # reset steps add no agent step


def test_save_replay_restores_the_frame_memory(tmp_path):
    """(The refill without --save-replay is checked by the SIGKILL test above.)"""
    from agents.config import RunConfig
    from agents.engine import Engine
    from lab.config import merge
    from lab.rundir import RunDir

    run_dir = tmp_path / "run"
    quick = ["evaluation.every=0", "record_episodes=0"]
    done = subprocess.run(_train_command("boxing-tiny", "--set", "total_steps=300", *(f"--set={o}" for o in quick),
                                         "--seed", "1", "--device", "cpu", "--run-dir", str(run_dir), "--save-replay"),
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first = _latest_state(run_dir)
    replay = load_checkpoint(run_dir / "checkpoints" / "replay")
    stored = int(np.asarray(replay["memory"]["valid"]).sum())
    assert stored > 0 and first["steps"] == 300 and replay["steps"] == 300

    # resume with a learner the test holds, so its memory can be looked at afterwards
    run = RunDir.open(run_dir)
    config = RunConfig.parse(merge(run.read_config(), {"total_steps": 500}))
    assert config.replay.saved  # --save-replay is written into config.yaml, so a resume keeps saving it
    learner = runner.build_learner(config, runner.device_of("cpu"))
    Engine(config, learner, run, quiet=True).run_to_end(resume=True)
    final = _latest_state(run_dir)
    assert final["steps"] == 500 and final["episodes"] > first["episodes"]
    # the restored transitions are still there: 200 new steps alone could not hold this many
    assert len(learner.memory) >= stored + 150
    assert final["agent"]["learn_from"] == first["agent"]["learn_from"]
    # no refill: learning went on at once, one update per train_every agent steps
    train_every = runner.resolve_config("boxing-tiny", []).agent.train_every
    assert final["updates"] - first["updates"] == pytest.approx(200 / train_every, abs=1)


def test_resuming_a_finished_run_changes_nothing(tmp_path):
    run_dir = tmp_path / "done"
    runner.train("rooms-q", overrides=["total_episodes=40", "record_episodes=0"], run_dir=str(run_dir), quiet=True)
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    result = subprocess.run(_train_command("--resume", str(run_dir)), cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "already finished" in result.stderr
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


def test_a_seed_on_resume_must_be_the_runs_own(tmp_path):
    run_dir = tmp_path / "seeded"
    runner.train("rooms-q", overrides=["total_episodes=40", "record_episodes=0"], seed=2, run_dir=str(run_dir),
                 quiet=True)
    result = subprocess.run(_train_command("--resume", str(run_dir), "--seed", "5"), cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--seed 5 differs from the run's seed 2" in result.stderr


def test_a_budget_raised_on_resume_is_written_to_the_run(tmp_path):
    run_dir = tmp_path / "raised"
    runner.train("rooms-q", overrides=["total_episodes=40", "record_episodes=0"], run_dir=str(run_dir), quiet=True)
    result = runner.train("rooms-q", overrides=["total_episodes=60"], resume=str(run_dir), quiet=True)
    assert result.episodes == 60
    assert "total_episodes: 60" in (run_dir / "config.yaml").read_text()
    again = subprocess.run(_train_command("--resume", str(run_dir)), cwd=ROOT, capture_output=True, text=True,
                           timeout=120)  # the stored budget is now 60: nothing is left to run
    assert again.returncode == 2 and "already finished" in again.stderr and "60 episodes" in again.stderr


@pytest.mark.parametrize("preset, backend", [("rooms-q", "native"), ("boxing-r2d2-tiny", "native"),
                                             ("cartpole-dqn", "sb3")])
def test_save_replay_is_refused_where_no_replay_would_be_stored(tmp_path, preset, backend):
    done = subprocess.run(_train_command(preset, "--backend", backend, "--save-replay", "--run-dir", str(tmp_path / "r")),
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "replay.saved (--save-replay)" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


def test_a_time_limit_ends_training_early_and_a_resume_can_raise_it(tmp_path):
    run_dir = tmp_path / "timed"
    quick = ["total_episodes=1000000", "record_episodes=0", "log_every=100", "time_limit_minutes=0.01"]
    first = runner.train("rooms-q", overrides=quick, run_dir=str(run_dir), quiet=True)
    assert 0 < first.episodes < 1_000_000 and 0.6 <= first.seconds < 5  # 0.01 minutes = 0.6 s
    minutes = [float(row["eval/training_minutes"]) for row in _metrics(run_dir) if row.get("eval/training_minutes")]
    assert minutes and 0.01 <= minutes[-1] < 0.1
    again = subprocess.run(_train_command("--resume", str(run_dir)), cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 2 and "--set time_limit_minutes=..." in again.stderr
    more = runner.train("rooms-q", overrides=["time_limit_minutes=0.02"], resume=str(run_dir), quiet=True)
    assert more.episodes > first.episodes and 0.3 <= more.seconds < 5  # the limit counts the first 0.6 s too
    assert json.loads((run_dir / "checkpoints" / "latest" / "state.json").read_text())["state"][
        "training_seconds"] >= 1.2
