"""The chapter demos whose figures are exact (chapters 6-8, 12, 14-17, 25, 31-36): the numbers
the book prints, computed by the demos' own functions, plus a few demos run end to end."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from supervised import demos
from supervised.demos import ch06_perceptron as ch06
from supervised.demos import ch08_activations as ch08
from supervised.demos import ch12_gradient_descent as ch12
from supervised.demos import ch14_computational_graph as ch14
from supervised.demos import ch15_xor_network as ch15
from supervised.demos import ch16_backprop_check as ch16
from supervised.demos import ch17_learning_slowdown as ch17
from supervised.demos import ch25_weight_init as ch25
from supervised.demos import ch32_universality as ch32
from supervised.demos import ch34_vanishing_gradient as ch34

# -- chapters 6-7: perceptrons -------------------------------------------------------------------


def test_festival_decisions_follow_the_book():
    for x, decision in ch06.festival_decisions(threshold=5).items():
        assert decision == x[0]  # only the weather matters
    for x, decision in ch06.festival_decisions(threshold=3).items():
        assert decision == int(x[0] or (x[1] and x[2]))


def test_nand_perceptron_truth_table():
    assert ch06.nand_truth_table() == {(0, 0): 1, (0, 1): 1, (1, 0): 1, (1, 1): 0}


@pytest.mark.parametrize("gate", ["AND", "OR", "NAND"])
def test_perceptron_rule_learns_separable_gates(gate):
    weights, bias, correct, _ = ch06.train_perceptron(ch06.GATES[gate], epochs=100)
    assert correct[-1] == 4
    outputs = ch06.perceptron(ch06.BINARY_PAIRS, weights, bias)
    assert tuple(outputs) == ch06.GATES[gate]


def test_perceptron_rule_never_learns_xor():
    _, _, correct, visited = ch06.train_perceptron(ch06.GATES["XOR"], epochs=500)
    assert len(correct) == 500 and max(correct) < 4
    assert len(visited) >= 500  # it keeps making mistakes, epoch after epoch
    assert ch06.best_line_score(ch06.GATES["XOR"]) == 3
    assert ch06.best_line_score(ch06.GATES["AND"]) == 4


# -- chapter 8: activations and softmax ------------------------------------------------------------


def test_softmax_of_the_book_scores():
    probabilities = ch08.softmax([1.2, 0.9, 0.75])
    assert tuple(np.round(probabilities, 2)) == (0.42, 0.31, 0.27)
    assert probabilities.sum() == pytest.approx(1.0)
    assert np.allclose(probabilities, torch.softmax(torch.tensor([1.2, 0.9, 0.75], dtype=torch.float64), 0))


def test_hand_written_derivatives_match_autograd():
    errors = ch08.derivative_errors()
    assert set(errors) == {"step", "sigmoid", "tanh", "relu", "leaky_relu"}
    assert max(errors.values()) < 1e-12
    assert ch08.softmax_jacobian_error() < 1e-12


# -- chapter 12: gradient descent --------------------------------------------------------------------


def test_gradient_descent_reaches_the_bowl_minimum():
    path = ch12.gradient_descent(lr=0.1, steps=50)
    assert np.allclose(path[-1], ch12.MINIMUM, atol=1e-3)
    assert all(np.diff([ch12.bowl_cost(v) for v in path]) < 0)
    actual, estimate = ch12.first_step_change(lr=0.01)
    assert actual < 0 and actual == pytest.approx(estimate, rel=0.05)
    diverging = ch12.gradient_descent(lr=0.35, steps=20)
    assert ch12.bowl_cost(diverging[-1]) > ch12.bowl_cost(diverging[0])


# -- chapter 14: the computational graph e = (a + b)(b + 1) -----------------------------------------


def test_graph_values_by_hand_reverse_and_forward_mode():
    book = {"e": 6.0, "de/da": 2.0, "de/db": 5.0}
    assert ch14.by_hand(2.0, 1.0) == book
    reverse, backward_passes = ch14.by_reverse_mode(2.0, 1.0)
    forward, forward_passes = ch14.by_forward_mode(2.0, 1.0)
    assert reverse == book and backward_passes == 1
    assert forward == book and forward_passes == 2
    assert ch14.by_dual_numbers(2.0, 1.0) == book
    # Elsewhere too: de/da = b + 1, de/db = a + 2b + 1.
    assert ch14.by_dual_numbers(-3.0, 4.0) == {"e": 5.0, "de/da": 5.0, "de/db": 6.0}


# -- chapter 15: the 2-2-1 XOR network ---------------------------------------------------------------


def test_xor_forward_pass_reproduces_all_four_of_the_books_figures():
    hidden = ch15.hidden_layer([(0, 1)])[0]
    assert tuple(ch15.printed(h) for h in hidden) == (0.899, 0.593, 0.378)  # cut to 3 decimals, as printed
    assert ch15.printed(float(ch15.output_layer(hidden))) == 0.506
    assert float(ch15.output_layer(hidden)) == pytest.approx(0.5065, abs=1e-4)
    assert ch15.with_bias_column([(0, 1)]).tolist() == [[0.0, 1.0, 1.0]]


def test_xor_network_learns_by_backprop():
    outputs, costs, solved_at = ch15.train_xor(epochs=1500)
    assert np.all(np.abs(outputs - ch15.XOR_TARGETS) < 0.1)
    assert costs[-1] < costs[0] and solved_at is not None


# -- chapter 16: backprop vs finite differences -------------------------------------------------------


def test_backprop_equals_autograd_and_finite_differences():
    rng = np.random.default_rng(1)
    params = ch16.init_network([3, 4, 2], rng)
    x, y = ch16.random_batch([3, 4, 2], 5, rng)
    gradient = ch16.backprop(params, x, y)
    assert ch16.relative_difference(gradient, ch16.autograd_gradient(params, x, y)) < 1e-12
    central, passes = ch16.finite_difference_gradient(params, x, y, eps=1e-5, central=True)
    assert ch16.relative_difference(gradient, central) < 1e-8
    assert passes == 2 * ch16.count_parameters(params)
    forward, passes = ch16.finite_difference_gradient(params, x, y, eps=1e-6)
    assert passes == ch16.count_parameters(params) + 1  # one pass per weight, plus the base
    assert ch16.relative_difference(gradient, forward) < 1e-4


# -- chapter 17: the learning slowdown --------------------------------------------------------------


def test_single_neuron_quadratic_and_cross_entropy_figures():
    good, _ = ch17.train_neuron("quadratic", 0.15, 0.6, 0.9)
    bad, _ = ch17.train_neuron("quadratic", 0.15, 2.0, 2.0)
    assert round(good[0], 2) == 0.82 and round(bad[0], 2) == 0.98
    assert abs(good[300] - 0.09) < 0.01
    assert bad[150] > 0.9  # the saturated neuron has hardly learned after 150 epochs
    assert 120 <= ch17.plateau_length(bad) <= 200
    ce_bad, ce_costs = ch17.train_neuron("cross_entropy", 0.005, 2.0, 2.0)
    assert np.all(np.diff(ce_costs) < 0) and ce_bad[300] < ce_bad[0]


@pytest.mark.parametrize("cost", ["quadratic", "cross_entropy"])
def test_single_neuron_gradients_match_autograd(cost):
    for w, b in ((0.6, 0.9), (2.0, 2.0)):
        assert ch17.gradients(cost, w, b) == pytest.approx(ch17.autograd_gradient(cost, w, b), rel=1e-12)


# -- chapter 25: weight initialisation -----------------------------------------------------------------


def test_z_spread_exact_and_sampled():
    assert ch25.z_std_exact() == pytest.approx(math.sqrt(501))
    assert round(ch25.z_std_exact(), 1) == 22.4
    assert ch25.z_std_exact(scaled=True) == pytest.approx(math.sqrt(1.5))
    assert round(ch25.z_std_exact(scaled=True), 2) == 1.22
    rng = np.random.default_rng(0)
    assert ch25.sample_z(4000, rng).std() == pytest.approx(math.sqrt(501), rel=0.05)
    scaled = ch25.sample_z(4000, rng, scaled=True)
    assert scaled.std() == pytest.approx(math.sqrt(1.5), rel=0.05)
    assert ch25.saturated_fraction(scaled) < 0.01
    assert ch25.saturated_fraction(ch25.sample_z(4000, rng)) > 0.5


# -- chapters 31-32: universality -------------------------------------------------------------------------


def test_step_and_bump_neurons():
    assert ch32.step_neuron(np.array([0.39]), 0.4)[0] < 1e-4
    assert ch32.step_neuron(np.array([0.41]), 0.4)[0] > 1 - 1e-4
    inside, outside = ch32.bump(np.array([0.5, 0.7]), 0.4, 0.6, 0.8)
    assert inside == pytest.approx(0.8, abs=1e-4) and abs(outside) < 1e-4


@pytest.mark.parametrize("sigmoid_output", [False, True])
def test_approximation_error_falls_with_more_bumps(sigmoid_output):
    errors = ch32.approximation_errors((5, 10, 20, 50), points=2001, sigmoid_output=sigmoid_output)
    maxima = [errors[n][0] for n in (5, 10, 20, 50)]
    assert all(a > b for a, b in itertools.pairwise(maxima))
    assert maxima[-1] < 0.06


# -- chapters 34-36: unstable gradients ----------------------------------------------------------------


def test_exploding_chain_multiplies_by_25_per_layer():
    assert ch34.layer_factors([100.0] * 4) == pytest.approx([25.0] * 3, rel=1e-12)
    grads = ch34.chain_bias_gradients([100.0] * 4)
    assert grads[0] / grads[-1] == pytest.approx(25.0**3)
    assert ch34.typical_factor(10_000, np.random.default_rng(0)) < 0.25


def test_bias_gradients_shrink_towards_the_input():
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(200, 784, generator=generator)
    labels = torch.randint(0, 10, (200,), generator=generator)
    norms = ch34.initial_norms(3, images, labels, seeds=range(4))
    assert norms.shape == (4, 3)
    mean = norms.mean(axis=0)
    assert mean[0] < mean[1] < mean[2]
    evolution = ch34.norms_during_training(2, images, labels, epochs=5)
    assert evolution.shape == (5, 2)
    assert np.allclose(evolution[0], ch34.initial_norms(2, images, labels, seeds=[0])[0])


# -- demos end to end ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["ch06", "ch08", "ch14", "ch12", "ch17", "ch32"])
def test_demo_runs_and_every_figure_matches(key, tmp_path):
    run_dir = tmp_path / key
    result = demos.run(key, quick=True, run_dir=str(run_dir), quiet=True)
    saved = json.loads((run_dir / "results.json").read_text())
    assert saved["demo"] == key and saved["figures"] == result["figures"]
    assert len(saved["figures"]) >= 3
    assert all(figure["matches"] is True for figure in saved["figures"]), saved["figures"]
    assert list((run_dir / "plots").glob("*.png"))


def test_ch15_demo_reproduces_all_four_forward_pass_figures(tmp_path):
    result = demos.run("ch15", quick=True, run_dir=str(tmp_path / "ch15"), quiet=True)
    verdicts = {figure["label"]: figure["matches"] for figure in result["figures"]}
    for neuron in (1, 2, 3):
        assert verdicts[f"hidden neuron {neuron} for XOR input (0, 1)"] is True
    assert verdicts["output for XOR input (0, 1)"] is True
