"""Tests for the chapter 83 demo and nets/liquid.py: the liquid time-constant cell follows the paper
(Hasani et al. 2021: the fused solver, the exact solution of the linear ODE, the bounds of its
Theorems 1 and 2), the irregular series is what it says, and the demo judges both models."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from demo_checks import one_figure, run_quick

import nets
from nets.liquid import LiquidTimeConstantNet
from supervised.demos import ch83_liquid as liquid_demo

# -- chapter 83: the liquid time-constant cell ----------------------------------------------------------

def _liquid(**options) -> LiquidTimeConstantNet:
    torch.manual_seed(0)
    return nets.build("liquid", **{"input_size": 2, "hidden_size": 5, **options})

def _run(key: str, tmp_path, overrides: list[str] | None = None) -> dict[str, dict]:
    return run_quick(key, tmp_path / key, overrides, data="mnist-subset")


def test_one_solver_step_is_the_papers_fused_euler_step():
    model = _liquid(ode_unfolds=1, tau=0.5, gate_scale=2.0)
    x, elapsed = torch.randn(3, 1, 2), torch.tensor([[0.3], [0.1], [1.0]])
    with torch.no_grad():
        f = model.log_gate_scale.exp() * torch.sigmoid(model.sensory(x[:, 0]))  # the state starts at 0
        by_hand = (0 + elapsed * f * model.bias_vector) / (1 + elapsed * (1 / model.tau + f))
        assert torch.allclose(model(x, elapsed)[:, 0], by_hand, atol=1e-6)


def test_many_unfolds_follow_the_exact_solution_of_the_linear_ode():
    """Without recurrent weights f is constant over the interval, eq. 1 is linear and
    x(t) = x* (1 - exp(-(1/tau + f) t)) from 0, with x* = f A / (1/tau + f)."""
    model = _liquid(ode_unfolds=400, tau=0.7, gate_scale=1.5)
    with torch.no_grad():
        model.recurrent.weight.zero_()
        x, elapsed = torch.randn(4, 1, 2), torch.full((4, 1), 1.3)
        f = model.log_gate_scale.exp() * torch.sigmoid(model.sensory(x[:, 0]))
        rate = 1 / model.tau + f
        exact = f * model.bias_vector / rate * (1 - torch.exp(-rate * 1.3))
        assert torch.allclose(model(x, elapsed)[:, 0], exact, atol=2e-3)


def test_state_stays_between_zero_and_a_and_time_constants_within_the_papers_bounds():
    model = _liquid(hidden_size=8, ode_unfolds=2)
    x, elapsed = 5 * torch.randn(6, 30, 2), torch.rand(6, 30) * 20  # large inputs and long gaps
    with torch.no_grad():
        states = model(x, elapsed)
        a = model.bias_vector
        assert (states >= torch.minimum(a, torch.zeros_like(a)) - 1e-6).all()
        assert (states <= torch.maximum(a, torch.zeros_like(a)) + 1e-6).all()  # Theorem 2
        constants = model.time_constants(x, elapsed)
        tau, w = model.tau, model.log_gate_scale.exp()
        assert (constants <= tau + 1e-6).all() and (constants >= tau / (1 + tau * w) - 1e-6).all()  # Theorem 1
        assert float((constants.amax((0, 1)) / constants.amin((0, 1))).min()) > 1.0  # they do move


def test_no_time_no_change_and_regular_sampling_by_default():
    model = _liquid()
    x = torch.randn(2, 4, 2)
    with torch.no_grad():
        assert float(model(x, torch.zeros(2, 4)).abs().max()) == 0.0
        assert torch.equal(model(x), model(x, torch.ones(2, 4)))
    with pytest.raises(ValueError, match="elapsed"):
        model(x, -torch.ones(2, 4))
    with pytest.raises(ValueError, match="ode_unfolds"):
        nets.build("liquid", input_size=2, ode_unfolds=0)


def test_irregular_series_targets_are_the_next_clean_value_and_the_lstm_matches_in_size():
    inputs, elapsed, targets, raw = liquid_demo.irregular_oscillations(50, seed=3)
    assert inputs.shape == (50, liquid_demo.SAMPLES, 2) and torch.equal(inputs[..., 1], elapsed)
    low, high = liquid_demo.GAP_RANGE
    assert float(elapsed.min()) >= low and float(elapsed.max()) <= high
    assert np.allclose(raw["times"][:, 1:] - raw["times"][:, :-1], elapsed.numpy(), atol=1e-6)
    assert np.allclose(targets.numpy(), raw["clean"][:, 1:], atol=1e-6)
    assert torch.equal(liquid_demo.irregular_oscillations(50, seed=3)[0], inputs)  # same seed, same data
    noisy_inputs, noisy_elapsed, noisy_targets, _ = liquid_demo.irregular_oscillations(50, seed=3, noise=0.15)
    assert torch.equal(noisy_elapsed, elapsed) and torch.equal(noisy_targets, targets)  # same signals and times
    clean = torch.from_numpy(raw["clean"][:, :-1]).float()
    assert torch.allclose(noisy_inputs[..., 0] - clean, 5 * (inputs[..., 0] - clean), atol=1e-5)  # same draws, x5
    pair = liquid_demo.build_pair(0)
    counts = [nets.count_parameters(m) for m in pair.values()]
    assert abs(counts[1] / counts[0] - 1) < 0.02


def test_ch83_short_run_judges_both_models(tmp_path):
    figures = _run("ch83", tmp_path, ["steps=40", "train_sequences=200"])
    liquid_mse, lstm_mse = (float(v) for v in re.findall(r"([\d.]+) vs ([\d.]+)",
                                                          one_figure(figures, "test MSE at the next")["measured"])[0])
    assert 0 < liquid_mse < 0.183 and 0 < lstm_mse < 0.183  # below the target's variance: both learnt something
    assert one_figure(figures, "parameters: liquid network vs LSTM")["measured"].startswith("1,321 (33 neurons) vs 1,297")
    noisy = one_figure(figures, "rise of the test MSE when the same sequences are observed with noise")
    assert noisy["verdict"] in ("match", "differs") and "LSTM - liquid" in noisy["measured"]
    assert {"ch83_predictions.png", "ch83_time_constants.png"} <= {p.name for p in (tmp_path / "ch83" / "plots").glob("*.png")}


@pytest.mark.slow
def test_ch83_quick_time_constants_move_with_the_input(tmp_path):
    figures = _run("ch83", tmp_path)
    assert one_figure(figures, "effective time constant")["verdict"] == "match"
    liquid_mse, lstm_mse = (float(v) for v in re.findall(r"([\d.]+) vs ([\d.]+)",
                                                          one_figure(figures, "test MSE at the next")["measured"])[0])
    persistence = float(re.search(r"persistence: ([\d.]+)", one_figure(figures, "test MSE at the next")["label"]).group(1))
    assert liquid_mse < persistence and lstm_mse < persistence
