"""`train`: the book's stochastic gradient descent (chapter 13's `network.py`) with the pieces the
later chapters change, each chosen by a keyword.

Each epoch: shuffle the training images, cut them into mini-batches, and for each mini-batch
get the gradients of its mean cost (`gradients`) and let the step rule move the weights
(`steps`); then measure the sets asked for, log them, and let the between-epoch rules
(`stopping`) set the next eta or stop.

Speed: a mini-batch of 10 images through [784, 30, 10] is tiny, so the time goes to Python and
to thread hand-offs, not arithmetic. The loop therefore shuffles once per epoch, splits the
epoch into mini-batch views in one call, keeps one-hot targets precomputed, updates all weights
with one fused call per step (SGD and momentum), evaluates in large batches, runs torch on one
thread for small mini-batches and on two-core machines, and for plain MLPs that offer their
layers backpropagates by hand (about half the cost of autograd's graph).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lab.i18n import N_, decimal, tr
from lab.progress import progress_bar
from supervised.training.costs import COSTS, as_tensors, evaluate, regularization_penalty, weight_parameters
from supervised.training.errors import TrainerError, check_choice
from supervised.training.gradients import BACKPROPS, Autograd, ManualBackprop
from supervised.training.history import History
from supervised.training.steps import OPTIMIZERS, StepRule, make_step_rule
from supervised.training.stopping import SCHEDULES, Callback, EarlyStopping, HalveOnPlateau, Rule, Schedule

EVAL_SETS = ("train", "validation", "test")
#: Mini-batches at most this large train on one torch thread unless `threads` says otherwise.
SINGLE_THREAD_BATCH_LIMIT = 128


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
      (a `supervised.data.Dataset`, or `Arrays`); validation/test may be None.
    cost: "quadratic" | "cross_entropy" | "log_likelihood" (see `costs`).
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
    threads: torch threads while training and evaluating; None = `training_threads`'s choice.
    backprop: "autograd"; "manual" (chapter 16's backpropagation written out; the model must
      offer it, see `gradients`; the parameters' .grad is left untouched); "auto" = manual where
      the model offers it on a CPU, else autograd. Same gradients either way.
    """
    _check_arguments(model, cost, optimizer, backprop, eval_sets, lr_schedule, batch_size, epochs, lr, l2, l1,
                     early_stopping)
    device = torch.device(device)
    splits = _tensor_splits(dataset, device, train_subset)
    x_train, y_train = splits["train"]
    n_train = len(y_train)
    rules = _between_epoch_rules(lr, lr_schedule, lr_patience, lr_floor_factor, early_stopping, callback)
    if any(rule.needs_validation for rule in rules) and ("validation" not in eval_sets or splits["validation"] is None):
        raise TrainerError("early_stopping and lr_schedule='halve_on_plateau' need a validation set "
                           "(and 'validation' in eval_sets)")
    model.to(device)
    gradients = _gradient_source(model, cost, backprop, device)
    params = [p for p in model.parameters() if p.requires_grad]
    weight_ids = {id(w) for w in weight_parameters(model)}
    step = make_step_rule(optimizer, params, [i for i, p in enumerate(params) if id(p) in weight_ids],
                          n_train, l2, l1, momentum)
    one_hot = F.one_hot(y_train, _num_outputs(model, x_train[:1])).to(x_train.dtype) \
        if cost != "log_likelihood" or isinstance(gradients, ManualBackprop) else None

    history, shuffler = History(), np.random.default_rng(seed)
    bar = progress_bar(epochs, desc, quiet=quiet, unit=tr("epoch"))
    with _torch_threads(threads, batch_size, device), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # dropout masks
        for epoch in range(1, epochs + 1):
            current_lr = lr
            for rule in rules:
                current_lr = rule.next_lr(epoch - 1, history, current_lr)
            started = time.perf_counter()
            order = torch.from_numpy(shuffler.permutation(n_train)).to(device)
            mean_batch_cost = _run_epoch(model, gradients, step, current_lr, batch_size, x_train[order], y_train[order],
                                         None if one_hot is None else one_hot[order], need_cost="train" not in eval_sets)
            seconds = time.perf_counter() - started
            history.record(**_measure(model, splits, cost, eval_sets, n_train, l2, l1, mean_batch_cost),
                           seconds=seconds, lr=current_lr)
            _log(logger, log_prefix, epoch, history, bar)
            reason = next((why for why in (rule.after_epoch(epoch, history, model) for rule in rules) if why), "")
            if reason:
                history.stopped_early, history.stop_reason = epoch < epochs, reason
                break
    bar.close()
    model.eval()
    return history


def _run_epoch(model: nn.Module, gradients: Callable, step: StepRule, lr: float, batch_size: int,
               x: torch.Tensor, y: torch.Tensor, targets: torch.Tensor | None, need_cost: bool) -> float:
    """One pass over the shuffled training set, a step per mini-batch; the mean mini-batch cost if
    `need_cost` (else NaN). split() makes every mini-batch view in one call."""
    model.train()
    batch_costs = torch.zeros((), device=x.device)
    target_batches = targets.split(batch_size) if targets is not None else [None] * math.ceil(len(y) / batch_size)
    with torch.no_grad():  # one context for the epoch; autograd turns the graph back on for itself
        for x_batch, y_batch, target_batch in zip(x.split(batch_size), y.split(batch_size), target_batches):
            loss, grads = gradients(x_batch, y_batch, target_batch, need_cost)
            step(grads, lr)
            if need_cost:
                batch_costs += loss * len(y_batch)
    return float(batch_costs) / len(y) if need_cost else math.nan


def _measure(model: nn.Module, splits: dict, cost: str, eval_sets: Sequence[str], n_train: int, l2: float,
             l1: float, mean_batch_cost: float) -> dict[str, float]:
    """Cost (penalty included) and accuracies after an epoch, on the sets asked for."""
    with torch.no_grad():
        penalty = float(regularization_penalty(model, n_train, l2, l1)) if (l2 or l1) else 0.0
    measured = {f"{name}_accuracy": math.nan for name in ("train", "validation", "test")}
    train_cost = mean_batch_cost
    for name in eval_sets:
        if splits.get(name) is not None:
            set_cost, measured[f"{name}_accuracy"] = evaluate(model, *splits[name], cost)
            train_cost = set_cost if name == "train" else train_cost
    return measured | {"train_cost": train_cost + penalty}


def _log(logger: Any, prefix: str, epoch: int, history: History, bar: Any) -> None:
    values = {"train/loss": history.train_cost[-1], "train/accuracy": history.train_accuracy[-1],
              "val/accuracy": history.validation_accuracy[-1], "test/accuracy": history.test_accuracy[-1],
              "train/lr": history.lr[-1]}
    if logger is not None:
        logger.scalars(epoch, {prefix + tag: v for tag, v in values.items() if not math.isnan(v)})
    bar.update(1)
    bar.set_postfix({tr(short): decimal(f"{values[tag]:.4f}") for short, tag in
                     ((N_("cost"), "train/loss"), (N_("val"), "val/accuracy"), (N_("test"), "test/accuracy"))
                     if not math.isnan(values[tag])})


def _between_epoch_rules(lr: float, lr_schedule: Any, patience: int, floor_factor: float,
                         early_stopping: int | None, callback: Callable | None) -> list[Rule]:
    """In the order they are asked: the caller's callback, early stopping, then the schedule."""
    rules: list[Rule] = []
    if callback is not None:
        rules.append(Callback(callback))
    if early_stopping is not None:
        rules.append(EarlyStopping(early_stopping))
    if lr_schedule == "halve_on_plateau":
        rules.append(HalveOnPlateau(lr, patience, floor_factor))
    elif callable(lr_schedule):
        rules.append(Schedule(lr_schedule))
    return rules


def _gradient_source(model: nn.Module, cost: str, backprop: str, device: torch.device) -> Callable:
    manual = ManualBackprop.offered_by(model, cost) if backprop != "autograd" else None
    if backprop == "manual" and manual is None:
        raise TrainerError("backprop='manual' needs a plain MLP (nn.Linear layers with a sigmoid, tanh or relu "
                           "between them; no dropout, no head, output_activation identity); use "
                           "backprop='autograd' or 'auto'")
    if manual is not None and (backprop == "manual" or device.type == "cpu"):
        return manual
    return Autograd(model, cost, [p for p in model.parameters() if p.requires_grad])


def _check_arguments(model: nn.Module, cost: str, optimizer: str, backprop: str, eval_sets: Sequence[str],
                     lr_schedule: Any, batch_size: Any, epochs: Any, lr: float, l2: float, l1: float,
                     early_stopping: Any) -> None:
    check_choice("cost", cost, COSTS)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("backprop", backprop, BACKPROPS)
    for name in eval_sets:
        check_choice("eval_sets entry", name, EVAL_SETS)
    if isinstance(lr_schedule, str):
        check_choice("lr_schedule", lr_schedule, SCHEDULES)
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


def _tensor_splits(dataset: Any, device: torch.device, train_subset: int | None) -> dict[str, tuple | None]:
    splits: dict[str, tuple | None] = {}
    for name in EVAL_SETS:
        part = getattr(dataset, name, None)
        if name == "train" and part is None:
            raise TrainerError("dataset needs a .train (images, labels) pair")
        if part is None or len(part[1]) == 0:
            if name == "train":
                raise TrainerError("the training set is empty")
            splits[name] = None
            continue
        images, labels = part
        if name == "train" and train_subset is not None:
            if not (isinstance(train_subset, int) and 1 <= train_subset):
                raise TrainerError(f"train_subset must be a positive integer, got {train_subset!r}")
            images, labels = images[:train_subset], labels[:train_subset]
        splits[name] = as_tensors(images, labels, device)
    return splits


def _num_outputs(model: nn.Module, sample: torch.Tensor) -> int:
    with torch.no_grad():
        was_training = model.training
        model.eval()
        width = model(sample).shape[1]
        model.train(was_training)
    return int(width)


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
