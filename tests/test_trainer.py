"""Tests for supervised.trainer: costs, penalties, updates, schedules, early stopping, learning."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch
from torch import nn

import nets
from lab.logger import Logger
from supervised.data import load_dataset
from supervised.trainer import (
    Arrays,
    TrainerError,
    cost_function,
    evaluate,
    regularization_penalty,
    train,
)


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def _tiny_mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nets.build("mlp", sizes=[3, 4, 2], activation="sigmoid", init="normal")


def _tiny_data(n: int = 6, seed: int = 0) -> Arrays:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3), dtype=np.float32)
    y = rng.integers(0, 2, n)
    return Arrays(train=(x, y), validation=(x, y), test=(x, y))


# -- costs: gradients against the book's formulas, on chapter 17's neuron (x=1, y=0) ------------


@pytest.mark.parametrize("w, b", [(0.6, 0.9), (2.0, 2.0)])
def test_quadratic_and_cross_entropy_gradients_match_the_hand_formulas(w, b):
    z = w * 1.0 + b
    a = _sigmoid(z)
    expected = {
        # dC/dw = (a - y) sigma'(z) x: slow when the neuron saturates (chapter 17)
        "quadratic": (a - 0.0) * a * (1 - a),
        # dC/dw = (a - y) x: sigma'(z) cancels
        "cross_entropy": a - 0.0,
    }
    for name, gradient in expected.items():
        weight = torch.tensor([[w]], requires_grad=True)
        bias = torch.tensor([b], requires_grad=True)
        z_tensor = torch.tensor([[1.0]]) @ weight.T + bias
        loss = cost_function(name, z_tensor, torch.tensor([0]), one_hot=torch.tensor([[0.0]]))
        loss.backward()
        assert weight.grad.item() == pytest.approx(gradient, rel=1e-5)
        assert bias.grad.item() == pytest.approx(gradient, rel=1e-5)
    assert cost_function("quadratic", torch.tensor([[z]]), torch.tensor([0]), torch.tensor([[0.0]])).item() \
        == pytest.approx(0.5 * a * a, rel=1e-5)
    assert cost_function("cross_entropy", torch.tensor([[z]]), torch.tensor([0]), torch.tensor([[0.0]])).item() \
        == pytest.approx(-math.log(1 - a), rel=1e-5)


def test_cross_entropy_sums_over_outputs_and_log_likelihood_is_minus_log_softmax():
    z = torch.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    label = torch.tensor([2])
    a = torch.sigmoid(z.detach())[0]
    expected = -(math.log(1 - a[0]) + math.log(1 - a[1]) + math.log(a[2]))
    assert cost_function("cross_entropy", z, label).item() == pytest.approx(expected, rel=1e-5)

    loss = cost_function("log_likelihood", z, label)
    softmax = torch.softmax(z.detach(), dim=1)[0]
    assert loss.item() == pytest.approx(-math.log(softmax[2]), rel=1e-5)
    loss.backward()  # dC/dz_j = a_j - y_j (chapter 18)
    assert torch.allclose(z.grad[0], softmax - torch.tensor([0.0, 0.0, 1.0]), atol=1e-6)


def test_costs_are_means_over_the_mini_batch():
    z = torch.tensor([[0.3, -0.2], [1.0, 0.4]])
    labels = torch.tensor([0, 1])
    for name in ("quadratic", "cross_entropy", "log_likelihood"):
        pair = cost_function(name, z, labels).item()
        singles = [cost_function(name, z[i:i + 1], labels[i:i + 1]).item() for i in range(2)]
        assert pair == pytest.approx(sum(singles) / 2, rel=1e-6)


# -- penalties and updates -------------------------------------------------------------------


def test_penalties_count_weights_only_with_the_books_scaling():
    model = _tiny_mlp()
    weights = [model.layers[0].weight.detach(), model.layers[1].weight.detach()]
    sum_squares = sum(float((w ** 2).sum()) for w in weights)
    sum_abs = sum(float(w.abs().sum()) for w in weights)
    n = 50
    assert regularization_penalty(model, n, l2=0.1).item() == pytest.approx(0.1 / (2 * n) * sum_squares, rel=1e-5)
    assert regularization_penalty(model, n, l1=0.3).item() == pytest.approx(0.3 / n * sum_abs, rel=1e-5)
    with torch.no_grad():
        for layer in model.layers:
            layer.bias.fill_(100.0)  # biases are never penalised
    assert regularization_penalty(model, n, l2=0.1).item() == pytest.approx(0.1 / (2 * n) * sum_squares, rel=1e-5)


@pytest.mark.parametrize("l2, l1", [(0.0, 0.0), (0.7, 0.0), (0.0, 0.4), (0.5, 0.2)])
def test_one_sgd_step_matches_the_hand_update(l2, l1):
    data = _tiny_data(n=6)
    model = _tiny_mlp()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    x, y = (torch.tensor(a) for a in data.train)
    loss = cost_function("cross_entropy", model(x), y)
    grads = dict(zip([name for name, _ in model.named_parameters()], torch.autograd.grad(loss, list(model.parameters()))))

    lr, n = 0.3, 6
    train(model, data, cost="cross_entropy", lr=lr, batch_size=6, epochs=1, l2=l2, l1=l1, quiet=True)
    for name, p in model.named_parameters():
        expected = before[name] - lr * grads[name]
        if name.endswith("weight"):
            # w -> (1 - eta lambda/n) w - eta grad C  and  w -> w - (eta lambda'/n) sgn(w) - eta grad C
            expected = expected - lr * l2 / n * before[name] - lr * l1 / n * torch.sign(before[name])
        assert torch.allclose(p.detach(), expected, atol=1e-6), name


def test_momentum_update_is_v_mu_minus_eta_grad():
    data = _tiny_data(n=4)
    model = _tiny_mlp()
    x, y = (torch.tensor(a) for a in data.train)
    before = [p.detach().clone() for p in model.parameters()]
    g1 = torch.autograd.grad(cost_function("quadratic", model(x), y), list(model.parameters()))
    train(model, data, cost="quadratic", optimizer="momentum", momentum=0.8, lr=0.5, batch_size=4,
          epochs=1, quiet=True)
    middle = [p.detach().clone() for p in model.parameters()]
    for p0, p1, g in zip(before, middle, g1):
        assert torch.allclose(p1, p0 - 0.5 * g, atol=1e-6)  # v starts at zero


@pytest.mark.parametrize("cost", ["quadratic", "cross_entropy", "log_likelihood"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_manual_backprop_matches_autograd(cost, activation):
    data = _tiny_data(n=23)  # 23 = two full mini-batches of 10 and one of 3

    def run(backprop, **options):
        torch.manual_seed(3)
        model = nets.build("mlp", sizes=[3, 5, 4, 2], activation=activation, init="normal")
        history = train(model, data, cost=cost, lr=0.2, epochs=2, quiet=True, backprop=backprop,
                        eval_sets=("validation",), **options)
        return model, history

    for options in ({}, {"l2": 0.3, "l1": 0.1, "optimizer": "momentum"}):
        manual, manual_history = run("manual", **options)
        reference, reference_history = run("autograd", **options)
        for a, b in zip(manual.parameters(), reference.parameters()):
            assert torch.allclose(a, b, atol=1e-6), (cost, activation, options)
        assert manual_history.train_cost == pytest.approx(reference_history.train_cost, rel=1e-5)


def test_manual_backprop_refuses_models_it_does_not_cover():
    with pytest.raises(TrainerError, match="autograd"):
        train(nets.build("mlp", sizes=[3, 4, 2], dropout=0.5), _tiny_data(), epochs=1, quiet=True, backprop="manual")
    # "auto" takes autograd for them, and learns all the same
    history = train(nets.build("mlp", sizes=[3, 4, 2], dropout=0.5), _tiny_data(), epochs=1, quiet=True)
    assert history.epochs == 1


# -- schedule, early stopping, callback --------------------------------------------------------


def test_early_stopping_stops_after_n_stale_epochs():
    # eta this small changes nothing, so validation accuracy never improves after epoch 1
    history = train(_tiny_mlp(), _tiny_data(), lr=1e-12, epochs=50, early_stopping=3, quiet=True)
    assert history.epochs == 4
    assert history.best_epoch == 1
    assert history.stopped_early and history.stop_reason == "early_stopping"


def test_halve_on_plateau_halves_eta_and_stops_at_one_128th():
    history = train(_tiny_mlp(), _tiny_data(), lr=1e-9, epochs=50, lr_schedule="halve_on_plateau", quiet=True)
    # epoch 1 sets the best; from epoch 2 on every epoch is stale, so eta halves after each
    assert history.lr == pytest.approx([1e-9] + [1e-9 / 2 ** k for k in range(8)], rel=1e-9)
    assert history.stop_reason == "lr_floor"


def test_callable_schedule_and_stopping_callback():
    seen = []
    history = train(_tiny_mlp(), _tiny_data(), lr=0.1, epochs=10, quiet=True,
                    lr_schedule=lambda epoch, h: 0.1 / (epoch + 1),
                    callback=lambda epoch, h, m: seen.append(epoch) or epoch == 3)
    assert history.lr == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert seen == [1, 2, 3] and history.stop_reason == "callback"


# -- learning, determinism, logging, errors ---------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits-8x8", split=(1200, 297, 300), seed=0)


def test_learns_the_8x8_digits(digits):
    torch.manual_seed(0)
    model = nets.build("mlp", sizes=[64, 30, 10], activation="sigmoid", init="scaled")
    history = train(model, digits, cost="cross_entropy", lr=0.5, batch_size=10, epochs=5, quiet=True)
    assert history.final("test_accuracy") > 0.85
    assert history.final("train_accuracy") > 0.85
    assert history.train_cost[-1] < history.train_cost[0]
    assert evaluate(model, torch.tensor(digits.test_images), torch.tensor(digits.test_labels))[1] \
        == pytest.approx(history.final("test_accuracy"))


@pytest.mark.parametrize("optimizer, lr", [("momentum", 0.05), ("adam", 0.02)])
def test_momentum_and_adam_learn_the_8x8_digits(digits, optimizer, lr):
    torch.manual_seed(0)
    model = nets.build("mlp", sizes=[64, 30, 10], init="scaled")
    history = train(model, digits, optimizer=optimizer, lr=lr, epochs=3, quiet=True, eval_sets=("test",))
    assert history.final("test_accuracy") > 0.85


def test_same_seed_same_history_with_dropout(digits):
    def run(seed):
        torch.manual_seed(0)
        model = nets.build("mlp", sizes=[64, 30, 10], init="scaled", dropout=0.3)
        return train(model, digits, lr=0.5, epochs=2, train_subset=300, seed=seed, quiet=True)

    first, second, other = run(1), run(1), run(2)
    assert first.train_cost == second.train_cost
    assert first.validation_accuracy == second.validation_accuracy
    assert first.train_cost != other.train_cost


def test_train_subset_and_eval_sets(digits):
    model = nets.build("mlp", sizes=[64, 10, 10], init="scaled")
    history = train(model, digits, epochs=1, train_subset=100, eval_sets=("validation",), quiet=True)
    assert math.isnan(history.train_accuracy[0]) and math.isnan(history.test_accuracy[0])
    assert 0 <= history.validation_accuracy[0] <= 1


def test_logs_the_supervised_tags(tmp_path):
    with Logger(tmp_path) as logger:
        train(_tiny_mlp(), _tiny_data(), epochs=2, logger=logger, log_prefix="run_a/", quiet=True)
    with open(tmp_path / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["step"] for row in rows] == ["1", "2"]
    for tag in ("train/loss", "train/accuracy", "val/accuracy", "test/accuracy"):
        assert float(rows[-1]["run_a/" + tag]) >= 0


@pytest.mark.parametrize("options, named", [
    ({"cost": "hinge"}, "quadratic"),
    ({"optimizer": "rmsprop"}, "momentum"),
    ({"lr_schedule": "cosine"}, "halve_on_plateau"),
    ({"batch_size": 0}, "batch_size"),
    ({"early_stopping": 2, "eval_sets": ("train",)}, "validation"),
])
def test_bad_arguments_raise_a_clear_error(options, named):
    with pytest.raises(TrainerError, match=named):
        train(_tiny_mlp(), _tiny_data(), epochs=1, quiet=True, **options)


def test_rejects_a_model_that_already_applies_the_output_activation():
    model = nets.build("mlp", sizes=[3, 2], output_activation="sigmoid")
    with pytest.raises(TrainerError, match="output_activation"):
        train(model, _tiny_data(), epochs=1, quiet=True)


def test_manual_backprop_is_chosen_by_what_the_model_computes_not_its_class_name():
    from supervised.trainer import ManualBackprop

    class Chain(nn.Module):  # any name: it offers layers + activation and computes the plain chain
        def __init__(self, doubled: bool = False):
            super().__init__()
            torch.manual_seed(0)
            self.layers = nn.ModuleList([nn.Linear(3, 4), nn.Linear(4, 2)])
            self.activation, self.doubled = nn.Sigmoid(), doubled

        def forward(self, x):
            out = self.layers[1](self.activation(self.layers[0](x)))
            return 2 * out if self.doubled else out

    assert isinstance(ManualBackprop.offered_by(Chain(), "quadratic"), ManualBackprop)
    assert ManualBackprop.offered_by(Chain(doubled=True), "quadratic") is None  # its forward is not the chain
    with pytest.raises(TrainerError, match="autograd"):
        train(Chain(doubled=True), _tiny_data(), epochs=1, quiet=True, backprop="manual")
    trained = {}
    for backprop in ("manual", "autograd"):
        model = Chain()
        train(model, _tiny_data(), cost="quadratic", lr=0.3, epochs=2, quiet=True, backprop=backprop)
        trained[backprop] = [p.detach().clone() for p in model.parameters()]
    for a, b in zip(trained["manual"], trained["autograd"]):
        assert torch.allclose(a, b, atol=1e-6)


def test_stopping_rules_are_small_pieces_the_history_drives():
    from supervised.trainer import EarlyStopping, HalveOnPlateau, History

    history = History()
    early, halve = EarlyStopping(2), HalveOnPlateau(first_lr=1.0, patience=1, floor_factor=1 / 4)
    reasons, rates = [], []
    for epoch, validation in enumerate([0.5, 0.6, 0.6, 0.55, 0.55], start=1):
        rates.append(halve.next_lr(epoch - 1, history, 1.0))
        history.record(train_cost=1.0, train_accuracy=0.5, validation_accuracy=validation, test_accuracy=0.5,
                       seconds=0.0, lr=rates[-1])
        reasons.append((early.after_epoch(epoch, history, None), halve.after_epoch(epoch, history, None)))
    assert history.best_epoch == 2
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.25]
    assert [r[0] for r in reasons] == ["", "", "", "early_stopping", "early_stopping"]
    assert reasons[-1][1] == "lr_floor"  # 0.25 / 2 would fall under 1/4 of the first eta
