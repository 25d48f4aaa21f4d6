"""One supervised trainer for every chapter demo (chapters 12-13 and 17-39).

The book's `network.py` (chapter 13) trains by stochastic gradient descent: shuffle the
training images, cut them into mini-batches, and after each mini-batch move every weight
against the gradient of the mean cost of that mini-batch. Later chapters change one piece at
a time, and each piece is an argument of :func:`train`:

* ``cost`` - ``"quadratic"``: C = (1/2n) sum_x ||y(x) - a(x)||^2 on sigmoid outputs (chapter
  13); ``"cross_entropy"``: sigmoid on every output and the binary cross-entropy
  -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)] summed over the outputs (chapters 17-18, the
  book's networks); ``"log_likelihood"``: softmax outputs and C = -ln a_y (chapter 18).
  The model returns the output layer's weighted input z; the cost applies sigmoid/softmax.
* ``l2`` / ``l1`` - the penalties (lambda/2n) sum w^2 and (lambda/n) sum |w| on the weights
  only, never the biases, with n the training-set size (chapters 19-22).
* dropout lives in the model (``nets.build("mlp", ..., dropout=0.5)``, chapter 23); the
  trainer switches it on while training and off while evaluating.
* ``lr_schedule`` - ``"halve_on_plateau"`` halves eta each time validation accuracy stops
  improving and stops at eta/128 (chapter 27), or any callable ``(epoch, history) -> eta``.
* ``early_stopping`` - stop after N epochs without a better validation accuracy (chapter 28).
* ``batch_size`` (chapters 29 and 37-39) and ``optimizer`` - plain SGD, SGD with momentum
  v -> mu v - eta grad C, w -> w + v (chapter 30), or Adam.

Speed: a mini-batch of 10 images through [784, 30, 10] is tiny, so the time goes to Python and
to thread hand-offs, not arithmetic. The loop therefore shuffles once per epoch, splits the
epoch into mini-batch views in one call, keeps one-hot targets precomputed, updates all weights
with one fused call per step instead of an optimizer object (SGD and momentum), evaluates in
large batches, and runs torch on one thread for small mini-batches and on two-core machines
(two busy threads on two shared cores were 10-100 times slower here). For the book's plain
sigmoid MLPs it also skips autograd and runs chapter 16's backpropagation by hand
(`_ManualBackprop`, same gradients): one epoch of [784, 30, 10] over 50,000 images at
mini-batch 10 then costs about 0.8 s of CPU (1.5 s with autograd; the book's numpy code ~10 s).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lab.progress import progress_bar

COSTS = ("quadratic", "cross_entropy", "log_likelihood")
OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("halve_on_plateau",)
EVAL_SETS = ("train", "validation", "test")
BACKPROPS = ("auto", "autograd", "manual")

#: Mini-batches at most this large train on one torch thread unless `threads` says otherwise.
SINGLE_THREAD_BATCH_LIMIT = 128
#: Images per forward pass when measuring accuracy and cost (no gradients, so big is cheap).
EVAL_CHUNK = 10_000


class TrainerError(ValueError):
    """A bad argument to :func:`train`; the message names it and the valid choices."""


@dataclasses.dataclass
class History:
    """What happened, epoch by epoch (list index 0 is epoch 1).

    Accuracies are fractions in [0, 1] (0.9549 is the book's 95.49%); NaN where that set was
    not evaluated. ``train_cost`` is the cost on the whole training set after the epoch,
    penalty included, as the book's ``total_cost`` (when "train" is not in eval_sets it is
    the mean of the epoch's mini-batch costs instead).
    """

    train_cost: list[float] = dataclasses.field(default_factory=list)
    train_accuracy: list[float] = dataclasses.field(default_factory=list)
    validation_accuracy: list[float] = dataclasses.field(default_factory=list)
    test_accuracy: list[float] = dataclasses.field(default_factory=list)
    epoch_seconds: list[float] = dataclasses.field(default_factory=list)
    lr: list[float] = dataclasses.field(default_factory=list)
    best_epoch: int | None = None  # 1-based epoch of the best validation accuracy
    stopped_early: bool = False
    stop_reason: str = "epochs"  # "epochs", "early_stopping", "lr_floor" or "callback"

    @property
    def epochs(self) -> int:
        return len(self.lr)

    @property
    def best_validation_accuracy(self) -> float:
        return self.validation_accuracy[self.best_epoch - 1] if self.best_epoch else math.nan

    @property
    def elapsed_seconds(self) -> list[float]:
        """Cumulative training seconds at the end of each epoch (chapter 29's x axis)."""
        return list(np.cumsum(self.epoch_seconds))

    def final(self, name: str) -> float:
        """Last value of a per-epoch list, e.g. ``history.final("test_accuracy")``."""
        values = getattr(self, name)
        return values[-1] if values else math.nan

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Arrays:
    """Bare train / validation / test arrays, for callers without a `supervised.data.Dataset`.

    Each split is ``(images, labels)`` or None; images (N, features) float, labels (N,) int.
    """

    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray] | None = None
    test: tuple[np.ndarray, np.ndarray] | None = None


# ----------------------------------------------------------------------------------------------
# Costs and penalties
# ----------------------------------------------------------------------------------------------


def cost_function(name: str, outputs: torch.Tensor, labels: torch.Tensor,
                  one_hot: torch.Tensor | None = None) -> torch.Tensor:
    """Mean per-example cost of a mini-batch, from the output layer's weighted inputs z.

    quadratic: mean_x 1/2 ||sigmoid(z) - y||^2; cross_entropy: mean_x of the binary
    cross-entropy of sigmoid(z) against the one-hot y, summed over outputs; log_likelihood:
    mean_x -ln softmax(z)_label.
    """
    _check_choice("cost", name, COSTS)
    if name == "log_likelihood":
        return F.cross_entropy(outputs, labels)
    if one_hot is None:
        one_hot = F.one_hot(labels, outputs.shape[1]).to(outputs.dtype)
    if name == "quadratic":
        return 0.5 * (torch.sigmoid(outputs) - one_hot).square().sum() / len(outputs)
    # The logits form is the same sum as -[y ln a + (1-y) ln(1-a)], without overflow.
    return F.binary_cross_entropy_with_logits(outputs, one_hot, reduction="sum") / len(outputs)


def weight_parameters(model: nn.Module) -> list[torch.Tensor]:
    """The weights the penalties act on: every parameter named '*weight' with 2+ dimensions.

    Biases (and 1-D scales) are left alone, as in chapter 20.
    """
    return [p for name, p in model.named_parameters() if name.endswith("weight") and p.dim() >= 2]


def regularization_penalty(model: nn.Module, n_train: int, l2: float = 0.0, l1: float = 0.0) -> torch.Tensor:
    """(l2/2n) sum w^2 + (l1/n) sum |w| over the weights (not the biases)."""
    weights = weight_parameters(model)
    penalty = torch.zeros(())
    if l2:
        penalty = penalty + l2 / (2 * n_train) * sum(w.square().sum() for w in weights)
    if l1:
        penalty = penalty + l1 / n_train * sum(w.abs().sum() for w in weights)
    return penalty


# ----------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, cost: str = "cross_entropy",
             chunk: int = EVAL_CHUNK) -> tuple[float, float]:
    """(mean cost, accuracy in [0, 1]) of `model` on a whole set, in eval mode (dropout off)."""
    was_training = model.training
    model.eval()
    total_cost, correct = 0.0, 0
    for start in range(0, len(labels), chunk):
        outputs = model(images[start:start + chunk])
        batch_labels = labels[start:start + chunk]
        total_cost += float(cost_function(cost, outputs, batch_labels)) * len(batch_labels)
        correct += int((outputs.argmax(dim=1) == batch_labels).sum())
    model.train(was_training)
    count = max(len(labels), 1)
    return total_cost / count, correct / count


def accuracy(model: nn.Module, images: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
             device: str | torch.device = "cpu") -> float:
    """Fraction of `images` that `model` classifies correctly (a convenience for demos)."""
    x, y = _as_tensors(images, labels, torch.device(device))
    return evaluate(model, x, y)[1]


# ----------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------


def train(
    model: nn.Module,
    dataset: Any,
    *,
    cost: str = "cross_entropy",
    optimizer: str = "sgd",
    lr: float = 0.5,
    momentum: float = 0.9,
    batch_size: int = 10,
    epochs: int = 30,
    l2: float = 0.0,
    l1: float = 0.0,
    lr_schedule: str | Callable[[int, History], float] | None = None,
    lr_patience: int = 1,
    lr_floor_factor: float = 1 / 128,
    early_stopping: int | None = None,
    train_subset: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    logger: Any = None,
    log_prefix: str = "",
    quiet: bool = False,
    callback: Callable[[int, History, nn.Module], bool | None] | None = None,
    eval_sets: Sequence[str] = EVAL_SETS,
    threads: int | None = None,
    backprop: str = "auto",
    desc: str = "train",
) -> History:
    """Train `model` on `dataset` by mini-batch gradient descent; return the per-epoch History.

    model: returns the output layer's weighted inputs z, shape (batch, classes), e.g.
      ``nets.build("mlp", sizes=[784, 30, 10])`` (its output_activation must stay identity).
    dataset: anything with ``.train``, ``.validation``, ``.test`` as (images, labels) pairs
      (a `supervised.data.Dataset`, or :class:`Arrays`); validation/test may be None.
    cost: "quadratic" | "cross_entropy" | "log_likelihood" (see the module docstring).
    optimizer: "sgd" | "momentum" (coefficient `momentum`) | "adam"; `lr` is eta.
    l2, l1: lambda of (lambda/2n) sum w^2 and (lambda/n) sum |w|, n = training images used.
    lr_schedule: "halve_on_plateau" (halve eta when validation accuracy has not improved for
      `lr_patience` epochs; stop once eta would fall below `lr_floor_factor` * lr), or a
      callable (epoch index from 0, history so far) -> eta, called before each epoch.
    early_stopping: stop after this many epochs without a better validation accuracy.
    train_subset: train on the first N training images only (chapter 19's 1,000).
    seed: shuffling order and dropout masks; same seed, same history (on CPU).
    logger: a `lab.logger.Logger`; each epoch logs <log_prefix>train/loss, train/accuracy,
      val/accuracy, test/accuracy and train/lr at step = epoch number.
    callback: called after each epoch as callback(epoch (1-based), history, model); return
      True to stop training.
    eval_sets: which of "train", "validation", "test" to measure after each epoch.
    threads: torch threads while training and evaluating; None = :func:`training_threads`'s choice.
    backprop: "autograd"; "manual" (chapter 16's backpropagation written out, for a plain
      `nets` MLP: sigmoid/tanh/ReLU, no dropout, no head; about twice as fast on a CPU; the
      parameters' .grad is left untouched); "auto" = manual where the model allows it on a
      CPU, else autograd. Same gradients either way.
    """
    _check_choice("cost", cost, COSTS)
    _check_choice("optimizer", optimizer, OPTIMIZERS)
    _check_choice("backprop", backprop, BACKPROPS)
    for name in eval_sets:
        _check_choice("eval_sets entry", name, EVAL_SETS)
    if isinstance(lr_schedule, str):
        _check_choice("lr_schedule", lr_schedule, SCHEDULES)
    elif lr_schedule is not None and not callable(lr_schedule):
        raise TrainerError(f"lr_schedule must be None, 'halve_on_plateau' or a callable, got {lr_schedule!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise TrainerError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not (isinstance(epochs, int) and epochs >= 0):
        raise TrainerError(f"epochs must be a non-negative integer, got {epochs!r}")
    if not lr > 0:
        raise TrainerError(f"lr must be positive, got {lr!r}")
    if l2 < 0 or l1 < 0:
        raise TrainerError(f"l2 and l1 must be >= 0, got l2={l2!r}, l1={l1!r}")
    if early_stopping is not None and not (isinstance(early_stopping, int) and early_stopping >= 1):
        raise TrainerError(f"early_stopping must be None or a positive number of epochs, got {early_stopping!r}")
    output_activation = getattr(model, "output_activation", None)
    if output_activation is not None and not isinstance(output_activation, nn.Identity):
        raise TrainerError("the model must return the output layer's weighted inputs z (output_activation "
                           f"'identity'); the cost '{cost}' applies sigmoid/softmax itself")

    device = torch.device(device)
    splits = _tensor_splits(dataset, device, train_subset)
    x_train, y_train = splits["train"]
    n_train = len(y_train)
    if n_train == 0:
        raise TrainerError("the training set is empty")
    wants_validation = early_stopping is not None or lr_schedule == "halve_on_plateau"
    if wants_validation and ("validation" not in eval_sets or splits.get("validation") is None):
        raise TrainerError("early_stopping and lr_schedule='halve_on_plateau' need a validation set "
                           "(and 'validation' in eval_sets)")
    model.to(device)
    num_classes = _num_outputs(model, x_train[:1])
    manual = _ManualBackprop.for_model(model, cost) if backprop != "autograd" else None
    if backprop == "manual" and manual is None:
        raise TrainerError("backprop='manual' needs a plain nets MLP (sigmoid, tanh or relu; no dropout, no head, "
                           "output_activation identity); use backprop='autograd' or 'auto'")
    if backprop == "auto" and device.type != "cpu":
        manual = None
    needs_one_hot = cost != "log_likelihood" or manual is not None
    one_hot_train = F.one_hot(y_train, num_classes).to(x_train.dtype) if needs_one_hot else None
    params = [p for p in model.parameters() if p.requires_grad]
    weight_ids = {id(w) for w in weight_parameters(model)}
    weight_index = [i for i, p in enumerate(params) if id(p) in weight_ids]
    velocities = [torch.zeros_like(p) for p in params] if optimizer == "momentum" else None
    adam = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else None

    history = History()
    generator = np.random.default_rng(seed)
    current_lr, best_validation, stale_epochs, plateau_epochs = float(lr), -math.inf, 0, 0
    bar = progress_bar(epochs, desc, quiet=quiet, unit="epoch")

    with _torch_threads(threads, batch_size, device), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # dropout masks
        for epoch in range(1, epochs + 1):
            if callable(lr_schedule):
                current_lr = float(lr_schedule(epoch - 1, history))
            if adam is not None:
                for group in adam.param_groups:
                    group["lr"] = current_lr

            started = time.perf_counter()
            model.train()
            order = torch.from_numpy(generator.permutation(n_train)).to(device)
            x_epoch, y_epoch = x_train[order], y_train[order]
            targets_epoch = one_hot_train[order] if one_hot_train is not None else None
            need_cost = "train" not in eval_sets
            batch_costs = torch.zeros((), device=device)
            # split() makes every mini-batch view in one call instead of one slice per step
            batches = zip(x_epoch.split(batch_size), y_epoch.split(batch_size),
                          targets_epoch.split(batch_size) if targets_epoch is not None else
                          itertools.repeat(None))
            with torch.no_grad() if manual is not None else contextlib.nullcontext():
                for x_batch, y_batch, targets in batches:
                    if manual is not None:
                        loss, grads = manual.gradients(x_batch, targets, need_cost)
                    else:
                        loss = cost_function(cost, model(x_batch), y_batch, targets)
                        for p in params:
                            p.grad = None
                        loss.backward()
                        grads = [p.grad for p in params]
                    with torch.no_grad():
                        _step(params, grads, weight_index, current_lr, n_train, l2, l1, optimizer, momentum,
                              velocities, adam)
                    if need_cost:
                        batch_costs += loss.detach() * len(y_batch)
            epoch_seconds = time.perf_counter() - started

            # -- measure -----------------------------------------------------------------------
            with torch.no_grad():
                penalty = float(regularization_penalty(model, n_train, l2, l1)) if (l2 or l1) else 0.0
            train_cost, train_acc = float(batch_costs) / n_train + penalty, math.nan
            if "train" in eval_sets:
                train_cost, train_acc = evaluate(model, x_train, y_train, cost)
                train_cost += penalty
            val_acc = _accuracy_of(model, splits.get("validation"), cost) if "validation" in eval_sets else math.nan
            test_acc = _accuracy_of(model, splits.get("test"), cost) if "test" in eval_sets else math.nan
            history.train_cost.append(train_cost)
            history.train_accuracy.append(train_acc)
            history.validation_accuracy.append(val_acc)
            history.test_accuracy.append(test_acc)
            history.epoch_seconds.append(epoch_seconds)
            history.lr.append(current_lr)
            if logger is not None:
                values = {"train/loss": train_cost, "train/accuracy": train_acc, "val/accuracy": val_acc,
                          "test/accuracy": test_acc, "train/lr": current_lr}
                logger.scalars(epoch, {log_prefix + tag: v for tag, v in values.items() if not math.isnan(v)})
            bar.update(1)
            bar.set_postfix({k: f"{v:.4f}" for k, v in
                             (("cost", train_cost), ("val", val_acc), ("test", test_acc)) if not math.isnan(v)})

            # -- decide what comes next ----------------------------------------------------------
            if not math.isnan(val_acc) and val_acc > best_validation:
                best_validation, history.best_epoch, stale_epochs, plateau_epochs = val_acc, epoch, 0, 0
            else:
                stale_epochs += 1
                plateau_epochs += 1
            if callback is not None and callback(epoch, history, model):
                history.stopped_early, history.stop_reason = epoch < epochs, "callback"
                break
            if early_stopping is not None and stale_epochs >= early_stopping:
                history.stopped_early, history.stop_reason = epoch < epochs, "early_stopping"
                break
            if lr_schedule == "halve_on_plateau" and plateau_epochs >= lr_patience:
                plateau_epochs = 0
                if current_lr / 2 < lr * lr_floor_factor * (1 - 1e-9):
                    history.stopped_early, history.stop_reason = epoch < epochs, "lr_floor"
                    break
                current_lr /= 2
    bar.close()
    model.eval()
    return history


def _step(params: list[torch.Tensor], grads: list[torch.Tensor], weight_index: list[int], lr: float, n_train: int,
          l2: float, l1: float, optimizer: str, momentum: float, velocities: list[torch.Tensor] | None,
          adam: torch.optim.Optimizer | None) -> None:
    """One update from `grads` (in the order of `params`), under no_grad. The penalties enter as
    their gradients, (l2/n) w + (l1/n) sgn(w), on the weights only (`weight_index`)."""
    if l2 or l1:
        for i in weight_index:
            if l2:
                grads[i].add_(params[i], alpha=l2 / n_train)
            if l1:
                grads[i].add_(torch.sign(params[i]), alpha=l1 / n_train)
    if optimizer == "sgd":
        torch._foreach_add_(params, grads, alpha=-lr)  # one call for all tensors: w -> w - eta grad
    elif optimizer == "momentum":
        torch._foreach_mul_(velocities, momentum)  # v -> mu v - eta grad; w -> w + v
        torch._foreach_add_(velocities, grads, alpha=-lr)
        torch._foreach_add_(params, velocities)
    else:
        for p, g in zip(params, grads):
            p.grad = g
        adam.step()


class _ManualBackprop:
    """Backpropagation written out for the book's plain MLP (chapters 15-16), no autograd graph.

    For a mini-batch of m examples: forward z_l = a_{l-1} W_l^T + b_l, a_l = f(z_l); the
    output error delta_L = dC/dz_L (quadratic: (a - y) sigma'(z) / m; cross-entropy:
    (sigma(z) - y) / m; log-likelihood: (softmax(z) - y) / m); then dC/dW_l = delta_l^T a_{l-1},
    dC/db_l = sum of delta_l, delta_{l-1} = (delta_l W_l) * f'(z_{l-1}). The gradients equal
    autograd's; skipping the graph makes a [784, 30, 10] step about half as expensive.
    """

    DERIVATIVES = {  # f'(z) from the activation a = f(z)
        nn.Sigmoid: lambda a: a * (1 - a),
        nn.Tanh: lambda a: 1 - a * a,
        nn.ReLU: lambda a: (a > 0).to(a.dtype),
    }

    def __init__(self, layers: list[nn.Linear], activation: nn.Module, cost: str) -> None:
        self.layers, self.activation, self.cost = layers, activation, cost
        self.derivative = self.DERIVATIVES[type(activation)]

    @classmethod
    def for_model(cls, model: nn.Module, cost: str) -> "_ManualBackprop | None":
        """The manual path for `model`, or None when it is not a plain MLP this class covers."""
        layers = getattr(model, "layers", None)
        dropout = getattr(model, "dropout", None)
        if (type(model).__name__ != "MLP" or not isinstance(layers, nn.ModuleList) or not len(layers)
                or getattr(model, "head", None) is not None
                or type(getattr(model, "activation", None)) not in cls.DERIVATIVES
                or not isinstance(getattr(model, "output_activation", None), nn.Identity)
                or (dropout is not None and dropout.p > 0)
                or getattr(model, "n_hidden_layers", -1) != len(layers) - 1
                or not all(type(layer) is nn.Linear and layer.bias is not None for layer in layers)):
            return None
        # The gradients come back in model.parameters() order: W_1, b_1, W_2, b_2, ...
        own = [p for layer in layers for p in (layer.weight, layer.bias)]
        parameters = list(model.parameters())
        if len(own) != len(parameters) or any(a is not b or not a.requires_grad for a, b in zip(own, parameters)):
            return None
        return cls(list(layers), model.activation, cost)

    def gradients(self, x: torch.Tensor, targets: torch.Tensor,
                  need_cost: bool) -> tuple[torch.Tensor | None, list[torch.Tensor]]:
        """(cost if asked, [dC/dW_1, dC/db_1, dC/dW_2, ...]) for one mini-batch; call under no_grad."""
        activations = [x]
        last = len(self.layers) - 1
        for index, layer in enumerate(self.layers):
            z = torch.addmm(layer.bias, activations[-1], layer.weight.t())
            activations.append(self.activation(z) if index < last else z)
        z_out, m = activations.pop(), len(x)
        loss = None
        if self.cost == "log_likelihood":
            if need_cost:
                loss = F.cross_entropy(z_out, targets.argmax(dim=1))
            delta = torch.softmax(z_out, dim=1).sub_(targets).div_(m)
        else:
            output = torch.sigmoid(z_out)
            if self.cost == "quadratic":
                if need_cost:
                    loss = 0.5 * (output - targets).square().sum() / m
                delta = (output - targets).mul_(self.sigmoid_derivative(output)).div_(m)
            else:
                if need_cost:
                    loss = F.binary_cross_entropy_with_logits(z_out, targets, reduction="sum") / m
                delta = output.sub_(targets).div_(m)
        grads: list[torch.Tensor] = [None] * (2 * len(self.layers))  # type: ignore[list-item]
        for index in range(last, -1, -1):
            layer, inputs = self.layers[index], activations[index]
            grads[2 * index] = delta.t() @ inputs
            grads[2 * index + 1] = delta.sum(dim=0)
            if index > 0:
                delta = (delta @ layer.weight).mul_(self.derivative(inputs))
        return loss, grads

    @staticmethod
    def sigmoid_derivative(a: torch.Tensor) -> torch.Tensor:
        return a * (1 - a)


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


def _check_choice(what: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise TrainerError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")


def _as_tensors(images: Any, labels: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.as_tensor(np.asarray(images, dtype=np.float32) if not torch.is_tensor(images) else images)
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64) if not torch.is_tensor(labels) else labels)
    return x.to(device, torch.float32), y.to(device, torch.int64)


def _tensor_splits(dataset: Any, device: torch.device, train_subset: int | None) -> dict[str, tuple | None]:
    splits: dict[str, tuple | None] = {}
    for name in EVAL_SETS:
        part = getattr(dataset, name, None)
        if name == "train" and part is None:
            raise TrainerError("dataset needs a .train (images, labels) pair")
        if part is None or len(part[1]) == 0:
            splits[name] = None
            continue
        images, labels = part
        if name == "train" and train_subset is not None:
            if not (isinstance(train_subset, int) and 1 <= train_subset):
                raise TrainerError(f"train_subset must be a positive integer, got {train_subset!r}")
            images, labels = images[:train_subset], labels[:train_subset]
        splits[name] = _as_tensors(images, labels, device)
    return splits


def _num_outputs(model: nn.Module, sample: torch.Tensor) -> int:
    with torch.no_grad():
        was_training = model.training
        model.eval()
        width = model(sample).shape[1]
        model.train(was_training)
    return int(width)


def _accuracy_of(model: nn.Module, split: tuple | None, cost: str) -> float:
    return math.nan if split is None else evaluate(model, *split, cost)[1]


def training_threads(batch_size: int, device: str | torch.device = "cpu", threads: int | None = None) -> int:
    """Torch threads `train` uses on the CPU: `threads` if given; else 1 for mini-batches up to
    SINGLE_THREAD_BATCH_LIMIT or on machines with at most two cores, else torch's default.

    Measured here on 2 shared cores: two threads made a 2x256 MLP epoch 10-100 times slower
    than one while other processes were busy, and gave nothing for mini-batches of 10.
    """
    if threads is not None:
        return int(threads)
    if torch.device(device).type != "cpu":
        return torch.get_num_threads()
    if batch_size <= SINGLE_THREAD_BATCH_LIMIT or (os.cpu_count() or 1) <= 2:
        return 1
    return torch.get_num_threads()


@contextlib.contextmanager
def _torch_threads(threads: int | None, batch_size: int, device: torch.device):
    previous = torch.get_num_threads()
    torch.set_num_threads(training_threads(batch_size, device, threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
