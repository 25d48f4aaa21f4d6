"""One process at a time trains into a run directory (lab.rundir's lock, issue 28): a second
train.py on the same run is refused with one line naming the holder's process, and a holder
killed with SIGKILL leaves no stale lock behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents import runner
from lab.rundir import LOCK_FILE, RunDir

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
ROOMS = ["total_episodes=30", "evaluation.episodes=5", "record_episodes=0"]
LONG = ["--set", "total_episodes=10000000", "--set", "checkpoint_every=100000000"]  # runs until killed


def _train(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "scripts" / "train.py"), *args, "--quiet"]


def _holding(run: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    """Wait until `process` holds the run's lock (its PID written in the lock file)."""
    deadline = time.monotonic() + seconds
    while f"process {process.pid} " not in ((run / LOCK_FILE).read_text() if (run / LOCK_FILE).exists() else ""):
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline, "the first run never took the lock"
        time.sleep(0.05)


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.communicate()


def test_the_lock_is_taken_again_by_its_holder_and_refused_to_another_descriptor(tmp_path):
    run = RunDir(tmp_path)
    with run.locked():
        with run.locked():  # a sweep trial holds it around the run it starts
            pass
        assert f"process {os.getpid()} on host" in (tmp_path / LOCK_FILE).read_text()
        holder = subprocess.run([sys.executable, "-c", "import sys; from lab.rundir import RunDir\n"
                                 "with RunDir(sys.argv[1]).locked(): pass", str(tmp_path)],
                                cwd=ROOT, env=ENVIRONMENT, capture_output=True, text=True, timeout=60)
        assert holder.returncode != 0 and "RunDirInUse" in holder.stderr and f"process {os.getpid()}" in holder.stderr
    with run.locked():  # released at the end of the block
        pass


def test_a_second_resume_is_refused_naming_the_holder_and_a_killed_holder_frees_the_run(tmp_path):
    run = tmp_path / "run"
    runner.train("rooms-q", overrides=ROOMS, run_dir=str(run), quiet=True)
    rows = (run / "metrics.csv").read_text()
    first = subprocess.Popen(_train("--resume", str(run), *LONG), cwd=ROOT, env=ENVIRONMENT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _holding(run, first)
        second = subprocess.run(_train("--resume", str(run), "--set", "total_episodes=40"), cwd=ROOT,
                                env=ENVIRONMENT, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr, second.stderr
        assert f"process {first.pid} on host" in second.stderr and str(run) in second.stderr, second.stderr
        writers = {int(path.name.split(".")[-2]) for path in run.glob("events.out.tfevents.*")}
        assert writers <= {os.getpid(), first.pid}  # (an event file's name ends with its writer's PID)
    finally:
        _kill(first)
    # SIGKILL leaves the lock file, but the operating system has freed the lock itself
    third = subprocess.run(_train("--resume", str(run), "--set", "total_episodes=40"), cwd=ROOT,
                           env=ENVIRONMENT, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stderr
    assert (run / "metrics.csv").read_text().startswith(rows)


def test_two_new_runs_on_one_run_dir_leave_one_run(tmp_path):
    run = tmp_path / "run"
    command = _train("rooms-q", "--run-dir", str(run), *LONG, "--set", "evaluation.episodes=5",
                     "--set", "record_episodes=0")
    both = [subprocess.Popen(command, cwd=ROOT, env=ENVIRONMENT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)]
    try:
        deadline = time.monotonic() + 180
        while all(p.poll() is None for p in both):  # one of them must give up at once
            assert time.monotonic() < deadline, "neither run was refused"
            time.sleep(0.05)
        loser = next(p for p in both if p.poll() is not None)
        winner = next(p for p in both if p is not loser)
        stderr = loser.communicate()[1].decode()
        assert loser.returncode == 2, stderr
        assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
        assert str(run) in stderr and any(words in stderr for words in (
            f"process {winner.pid} on host", "another run took it first", "is not empty")), stderr
        _holding(run, winner)
        assert winner.poll() is None
    finally:
        for process in both:
            _kill(process)


@pytest.mark.parametrize("reader", ["evaluate", "record"])
def test_reading_a_run_while_it_trains_takes_no_lock(shared_runs, tmp_path, reader):
    run = RunDir(shutil.copytree(shared_runs / "rooms", tmp_path / "rooms"))
    with run.locked():
        from importlib.util import module_from_spec, spec_from_file_location

        spec = spec_from_file_location(f"script_{reader}", ROOT / "scripts" / f"{reader}.py")
        script = module_from_spec(spec)
        spec.loader.exec_module(script)
        extra = ["--episodes", "2", "--quiet"] if reader == "evaluate" else ["--episodes", "1", "--format", "gif"]
        assert script.main([str(run.path), *extra]) == 0
