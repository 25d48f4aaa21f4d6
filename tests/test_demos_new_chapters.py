"""Chapters 11, 21 and 33: the computations behind their demos, and every figure line judged."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from supervised import demos
from supervised.demos import ch11_output_encoding as ch11
from supervised.demos import ch21_polynomial as ch21
from supervised.demos import ch33_parity_circuits as ch33


def test_four_bit_code_round_trips_every_digit():
    digits = torch.arange(10)
    codes = ch11.binary_targets(digits)
    assert codes[6].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert ch11.decode_binary(codes).tolist() == digits.tolist()
    assert ch11.decode_binary(torch.tensor([[0.9, 0.2, 0.1, 0.6]])).tolist() == [9]


def test_degree_nine_polynomial_interpolates_ten_points_and_the_line_has_slope_two():
    rng = np.random.default_rng(1)
    x = np.linspace(0.1, 1.0, 10)
    y = 2 * x + rng.normal(0, 0.05, 10)
    exact = ch21.polynomial_fit(x, y, 9)
    assert np.max(np.abs(np.polyval(exact, x) - y)) < 1e-8
    assert abs(ch21.slope_through_origin(x, y) - 2.0) < 0.1
    ridge = ch21.polynomial_fit(x, y, 9, l2=1e-3)
    assert abs(np.polyval(ridge, 2.0) - 4.0) < abs(np.polyval(exact, 2.0) - 4.0)


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_parity_circuits_compute_parity_with_exponential_vs_linear_gates(n):
    inputs = ch33.all_inputs(n)
    parity = inputs.sum(axis=1) % 2 == 1
    shallow, deep = ch33.shallow_parity_circuit(n), ch33.deep_parity_circuit(n)
    assert np.array_equal(ch33.run_shallow(shallow, inputs), parity)
    assert np.array_equal(ch33.run_deep(deep, inputs), parity)
    assert len(shallow) == 2 ** (n - 1)
    assert sum(len(layer) for layer in deep) == n - 1


@pytest.mark.parametrize("key", ["ch11", "ch21", "ch33"])
def test_new_demos_judge_every_figure(key, tmp_path):
    result = demos.run(key, quick=True, run_dir=str(tmp_path / key), quiet=True, data="mnist-subset", device="cpu")
    assert result["figures"]
    for figure in result["figures"]:
        assert figure["verdict"] in ("match", "differs", "not comparable")
        assert figure["verdict"] == "match" or figure["reason"]
