"""Damaged runs and bad numbers: a NaN loss stops a run, a finished run is not run again,
a save killed between its two renames is recovered by the step it recorded, and checkpoints
whose hash was forged to match wrong contents are refused with one line naming the field."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from agents import runner
from agents.evaluation import load_run
from lab.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from lab.cli import RunFailed, UsageError
from lab.config import ConfigError



@pytest.fixture(scope="module")
def runs(shared_runs):
    return shared_runs


def test_a_nan_loss_stops_the_run_and_no_nan_is_saved(tmp_path):
    overrides = ["total_steps=3000", "agent.learning_starts=100", "agent.train_every=1", "agent.lr=1e12",
                 "agent.loss=mse", "agent.max_grad_norm=null", "checkpoint_every=100", "evaluation.every=0",
                 "record_episodes=0", "torch_threads=1"]
    with pytest.raises(RunFailed, match=r"non-finite learning at step \d+ .*last good checkpoint") as stopped:
        runner.train("cartpole-dqn", overrides=overrides, run_dir=str(tmp_path / "nan"), quiet=True)
    assert len(str(stopped.value).splitlines()) == 1
    assert not (tmp_path / "nan" / "eval.json").exists()
    for name in ("latest", "best"):
        folder = tmp_path / "nan" / "checkpoints" / name
        if folder.is_dir():
            weights = load_checkpoint(folder)["agent"]["dqn"]["online"]
            assert all(bool(torch.isfinite(w).all()) for w in weights.values()), name


@pytest.mark.parametrize("kind", ["cartpole", "rooms"])
def test_resuming_a_finished_run_changes_nothing(runs, kind):
    run = runs / kind
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    with pytest.raises(UsageError, match="already finished"):
        runner.train("", resume=str(run), quiet=True)
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_a_finished_run_continues_when_its_budget_is_raised(runs, tmp_path):
    run = tmp_path / "rooms"
    shutil.copytree(runs / "rooms", run)
    result = runner.train("", overrides=["total_episodes=45"], resume=str(run), quiet=True)
    assert result.episodes == 45
    with open(run / "metrics.csv", newline="") as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle) if row.get("charts/sps")]
    assert steps == sorted(set(steps))  # no row lost or doubled


def test_recovery_after_a_kill_between_the_two_renames_picks_the_most_steps(tmp_path):
    latest = tmp_path / "checkpoints" / "latest"
    save_checkpoint(latest, {"steps": 100, "w": torch.ones(3)})
    older = latest.parent / ".latest.old-1111"
    latest.rename(older)  # the kill fell after the first rename ...
    save_checkpoint(tmp_path / "newer", {"steps": 200, "w": torch.full((3,), 2.0)})
    (tmp_path / "newer").rename(latest.parent / ".latest.tmp-2222")  # ... with the new save complete
    half_deleted = latest.parent / ".latest.old-3333"  # newest mtime, but not intact
    shutil.copytree(older, half_deleted)
    (half_deleted / "model.safetensors").unlink()
    state = load_checkpoint(latest)
    assert state["steps"] == 200 and torch.equal(state["w"], torch.full((3,), 2.0))
    save_checkpoint(latest, {"steps": 300, "w": torch.zeros(3)})
    assert sorted(p.name for p in latest.parent.iterdir()) == ["latest"]  # stale folders cleaned


def _forge(run: Path, name: str, change) -> None:
    """Rewrite checkpoints/<name> with `change(state)` applied; the hash is recomputed, as a
    forger would."""
    folder = run / "checkpoints" / name
    state = load_checkpoint(folder)
    change(state)
    save_checkpoint(folder, state)


def _cast_online(dtype):
    def change(state):
        online = state["agent"]["dqn"]["online"]
        for key in online:
            online[key] = online[key].to(dtype)
    return change


def _nan_weight(state):
    online = state["agent"]["dqn"]["online"]
    key = next(iter(online))
    online[key] = online[key].clone()
    online[key].view(-1)[0] = float("nan")


@pytest.mark.parametrize("change, named", [
    (_cast_online(torch.float64), "torch.float64"),
    (_cast_online(torch.int8), "torch.int8"),
    (_nan_weight, "NaN"),
    (lambda s: s.update(steps=-100), "steps"),
    (lambda s: s.update(episodes="many"), "episodes"),
    (lambda s: s.update(preset="boxing-dqn"), "another run"),
    (lambda s: s.update(agent="junk"), "agent state"),
    (lambda s: s["agent"].update(dqn={"junk": 1}), "does not fit"),
    (lambda s: s.update(engine_format=1), "format 1"),
    (lambda s: s.update(steps=10**30), "steps"),
    (lambda s: s.update(torch_rng=None), "torch_rng"),
], ids=["float64", "int8", "nan", "negative-steps", "junk-episodes", "preset", "agent-junk", "dqn-junk", "old-format",
        "huge-steps", "no-rng"])
def test_a_forged_deep_checkpoint_is_refused_naming_the_field(runs, tmp_path, change, named):
    run = tmp_path / "cartpole"
    shutil.copytree(runs / "cartpole", run)
    _forge(run, "latest", change)
    with pytest.raises(CheckpointError, match=named) as refused:
        load_run(run, "latest", device="cpu")
    message = str(refused.value)
    assert len(message.splitlines()) == 1 and "latest" in message


def test_another_runs_q_table_is_refused(runs, tmp_path):
    run = tmp_path / "blackjack"
    shutil.copytree(runs / "blackjack", run)
    shutil.rmtree(run / "checkpoints" / "best")
    shutil.copytree(runs / "rooms" / "checkpoints" / "best", run / "checkpoints" / "best")
    with pytest.raises(CheckpointError, match="another run"):
        load_run(run, "best")


def test_a_forged_q_table_is_refused(runs, tmp_path):
    run = tmp_path / "rooms"
    shutil.copytree(runs / "rooms", run)

    def wrong_shape(state):
        state["agent"]["table"]["q"] = np.zeros((2, 2))

    _forge(run, "best", wrong_shape)
    with pytest.raises(CheckpointError, match="table q"):
        load_run(run, "best")


def _edit_state_json(run: Path, change) -> None:
    """Rewrite checkpoints/latest/state.json's document by hand (the weights' hash still holds)."""
    path = run / "checkpoints" / "latest" / "state.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


@pytest.mark.parametrize("change, named", [
    (lambda d: d.update(state=None), "state must be a mapping"),
    (lambda d: d["state"].update(steps=10**30), "steps"),
], ids=["null-state", "huge-steps"])
def test_a_hand_edited_state_json_is_refused_by_evaluate_and_resume(runs, tmp_path, change, named):
    run = tmp_path / "cartpole"
    shutil.copytree(runs / "cartpole", run)
    (run / "eval.json").unlink()  # resumable again: killed before its final report
    _edit_state_json(run, change)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    with pytest.raises(CheckpointError, match=named):
        load_run(run, "latest", device="cpu")
    with pytest.raises(CheckpointError, match=named):
        runner.train("", resume=str(run), quiet=True)
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_evaluate_names_the_yaml_error_of_a_broken_config_yaml(runs, tmp_path):
    run = tmp_path / "rooms"
    shutil.copytree(runs / "rooms", run)
    (run / "config.yaml").write_text("preset: rooms-q\nagent: {alpha: [\n")
    with pytest.raises(ConfigError, match="config.yaml is not valid YAML"):
        load_run(run, "best")
