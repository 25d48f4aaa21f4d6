"""Tests of lab/: checkpoints, config validation, logging, run directories, statistics."""

from __future__ import annotations

import csv
import dataclasses
import pickle
from typing import Literal

import numpy as np
import pytest
import torch

from lab import (
    CheckpointError, ConfigError, Logger, RunDir, from_dict, load_checkpoint, merge,
    parse_overrides, resolve_device, save_checkpoint, seed_everything, summarize, to_dict,
)
from lab.cli import UsageError


def _model() -> torch.nn.Module:
    torch.manual_seed(3)
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 2))


def _state(model: torch.nn.Module) -> dict:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(4, 5)).sum().backward()
    optimizer.step()
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "step": 123,
        "epsilon": 0.25,
        "table": np.arange(12, dtype=np.float64).reshape(3, 4),
        "env": {"name": "five-rooms", "options": [1, 2]},
    }


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    model = _model()
    state = _state(model)
    save_checkpoint(tmp_path / "latest", state)
    loaded = load_checkpoint(tmp_path / "latest")
    fresh = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 2))
    fresh.load_state_dict(loaded["model"])
    x = torch.randn(16, 5)
    assert torch.equal(fresh(x), model(x))
    assert loaded["step"] == 123 and loaded["epsilon"] == 0.25
    assert np.array_equal(loaded["table"], state["table"])
    assert loaded["env"] == {"name": "five-rooms", "options": [1, 2]}
    # the optimizer state (int keys, nested tensors) loads back into a real optimizer
    optimizer = torch.optim.Adam(fresh.parameters(), lr=1e-3)
    optimizer.load_state_dict(loaded["optimizer"])
    assert optimizer.state_dict()["state"][0]["step"] == state["optimizer"]["state"][0]["step"]


def test_checkpoint_overwrite_is_atomic_and_leaves_no_temporaries(tmp_path):
    save_checkpoint(tmp_path / "latest", {"step": 1, "w": torch.zeros(3)})
    save_checkpoint(tmp_path / "latest", {"step": 2, "w": torch.ones(3)})
    assert load_checkpoint(tmp_path / "latest")["step"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest"]


def test_checkpoint_recovers_previous_when_killed_between_renames(tmp_path):
    save_checkpoint(tmp_path / "latest", {"step": 7, "w": torch.ones(2)})
    (tmp_path / "latest").rename(tmp_path / ".latest.old-deadbeef")  # the state a kill leaves
    assert load_checkpoint(tmp_path / "latest")["step"] == 7


def test_truncated_checkpoint_is_rejected(tmp_path):
    save_checkpoint(tmp_path / "c", _state(_model()))
    weights = tmp_path / "c" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-40])
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(tmp_path / "c")


def test_tampered_checkpoint_is_rejected(tmp_path):
    save_checkpoint(tmp_path / "c", _state(_model()))
    weights = tmp_path / "c" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF  # flip bits in a weight: same size, wrong numbers
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "c")


def test_missing_or_foreign_checkpoint_is_rejected(tmp_path):
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(tmp_path / "nothing")
    save_checkpoint(tmp_path / "c", {"w": torch.ones(1)})
    (tmp_path / "c" / "state.json").write_text('{"format": "other"}')
    with pytest.raises(CheckpointError, match="unknown format"):
        load_checkpoint(tmp_path / "c")


def test_loading_never_unpickles(tmp_path, monkeypatch):
    save_checkpoint(tmp_path / "c", _state(_model()))

    def forbidden(*args, **kwargs):
        raise AssertionError("a checkpoint load tried to unpickle")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    assert load_checkpoint(tmp_path / "c")["step"] == 123
    raw = (tmp_path / "c" / "model.safetensors").read_bytes()
    assert b"\x80\x04\x95" not in raw[:64]  # no pickle protocol-4 header


@dataclasses.dataclass
class _Agent:
    lr: float = 0.1
    gamma: float = 0.99
    hidden: list[int] = dataclasses.field(default_factory=lambda: [64, 64])
    loss: Literal["mse", "huber"] = "huber"
    double: bool = False


@dataclasses.dataclass
class _Config:
    preset: str = "x"
    steps: int = 100
    agent: _Agent = dataclasses.field(default_factory=_Agent)


def test_config_builds_nested_dataclasses_with_overrides():
    data = merge({"steps": 5, "agent": {"lr": 0.5}}, parse_overrides(["agent.gamma=0.9", "agent.hidden=[8, 8]", "agent.lr=1e-3"]))
    config = from_dict(_Config, data)
    assert config.steps == 5 and config.agent.gamma == 0.9 and config.agent.hidden == [8, 8]
    assert config.agent.lr == pytest.approx(1e-3)
    assert to_dict(config)["agent"]["hidden"] == [8, 8]


def test_config_rejects_unknown_key_with_one_line_naming_allowed():
    with pytest.raises(ConfigError) as err:
        from_dict(_Config, {"agent": {"gama": 0.9}})
    message = str(err.value)
    assert "agent.gama" in message and "gamma" in message and "\n" not in message


def test_config_rejects_wrong_type_and_bad_choice():
    with pytest.raises(ConfigError, match=r"agent\.gamma must be a number, got 'high'"):
        from_dict(_Config, {"agent": {"gamma": "high"}})
    with pytest.raises(ConfigError, match=r"steps must be an integer"):
        from_dict(_Config, {"steps": 2.5})
    with pytest.raises(ConfigError, match=r"agent\.loss must be one of: mse, huber"):
        from_dict(_Config, {"agent": {"loss": "l1"}})
    with pytest.raises(ConfigError, match=r"agent\.double must be true or false"):
        from_dict(_Config, {"agent": {"double": "yes"}})
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["agent.lr"])


def test_logger_writes_tensorboard_and_csv(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with Logger(tmp_path) as logger:
        logger.scalars(10, {"charts/episodic_return": 1.5})
        logger.scalars(20, {"charts/episodic_return": 2.5, "losses/td_loss": 0.25})
        logger.video("videos/test", np.random.default_rng(0).integers(0, 255, (3, 8, 8, 3), dtype=np.uint8))
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [r["step"] for r in rows] == ["10", "20"]
    assert float(rows[1]["losses/td_loss"]) == 0.25 and rows[0]["losses/td_loss"] == ""
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    values = [e.value for e in events.Scalars("charts/episodic_return")]
    assert values == [1.5, 2.5]
    assert "videos/test" in events.Tags()["images"]


def test_logger_resume_purges_rows_after_checkpoint(tmp_path):
    with Logger(tmp_path) as logger:
        for step in (10, 20, 30):
            logger.scalars(step, {"a": step})
    with Logger(tmp_path, purge_step=20) as logger:
        logger.scalars(20, {"a": 200})
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [(r["step"], r["a"]) for r in rows] == [("10", "10.0"), ("20", "200.0")]


def test_run_dir_layout(tmp_path):
    run = RunDir.create("rooms-q", seed=3, root=tmp_path)
    assert run.path.parent == tmp_path / "rooms-q" and run.path.name.endswith("-s3")
    assert run.checkpoints.is_dir() and run.plots.is_dir() and run.videos.is_dir()
    run.write_config({"preset": "rooms-q", "seed": 3})
    assert RunDir.open(run.path).read_config()["seed"] == 3
    second = RunDir.create("rooms-q", seed=3, root=tmp_path)
    assert second.path != run.path
    exact = RunDir.create("rooms-q", seed=3, path=tmp_path / "mine")
    assert exact.path == tmp_path / "mine"
    with pytest.raises(UsageError, match="nowhere: no such folder"):
        RunDir.open(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="no config.yaml here"):
        RunDir.open(tmp_path / "rooms-q")


def test_summarize_and_seeding():
    stats = summarize([1.0, 2.0, 3.0, 4.0])
    assert stats["mean"] == 2.5 and stats["median"] == 2.5
    assert stats["std"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert stats["ci95"] == pytest.approx(1.96 * stats["std"] / 2)
    a = seed_everything(5).random(3), torch.rand(2)
    b = seed_everything(5).random(3), torch.rand(2)
    assert np.array_equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.raises(ValueError):
        seed_everything(-1)


def test_device_choice():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in {"cpu", "cuda"}
    with pytest.raises(ValueError, match="auto, cpu, cuda"):
        resolve_device("tpu")
