"""Chapters 26-27: choosing the hyper-parameters, and the learning rate.

Chapter 26's broad strategy: get any signal first. Shrink the problem (1,000 training images,
100 validation images, a network with no hidden layer) so that each try takes seconds, watch
the validation accuracy every epoch, and change one thing at a time. The book's walk-through
with [784, 10]: eta = 10.0 and lambda = 1000.0 give 10/100, chance; lambda = 20.0 (scaled to
the smaller training set) gives a weak signal; eta = 100.0 is back at chance (too large); eta =
1.0 gives 62/100 after one epoch. It also quotes about 10 s per epoch for its numpy code on
50,000 images.

Chapter 27: the training cost of [784, 30, 10] (lambda = 5.0, 30 epochs) for eta = 0.025, 0.25
and 2.5: 0.025 falls slowly, 0.25 falls fast and levels off, 2.5 oscillates from the start
because each step overshoots the minimum. Then a schedule: keep eta until the validation
accuracy stops improving, halve it, and stop when it is 1/128 of where it started.
"""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import numpy as np

from supervised.demos import register
from supervised.demos._training import BOOK_TRAIN_SIZE, describe, fit, mlp, percent, setting, train_size
from supervised.trainer import Arrays, training_threads

LEARNING_RATES = (0.025, 0.25, 2.5)


@register("ch26", "Como Escolher os Hiperparâmetros / A Taxa de Aprendizado (caps. 26-27)",
          "Choosing hyper-parameters and the learning rate (chapters 26-27)")
def demo(ctx) -> None:
    dataset = ctx.dataset()
    pixels = dataset.input_size
    _walk_through(ctx, dataset, pixels)
    _seconds_per_epoch(ctx, dataset, pixels)
    _learning_rates(ctx, dataset, pixels)
    _schedule(ctx, dataset, pixels)


def _walk_through(ctx, dataset, pixels: int) -> None:
    """Chapter 26: [784, 10] on 1,000 images, validation accuracy on 100 images, per epoch."""
    small = Arrays(train=(dataset.train[0][:1_000], dataset.train[1][:1_000]),
                   validation=(dataset.validation[0][:100], dataset.validation[1][:100]))
    epochs = setting(ctx, "walk_epochs", 4, 4)
    steps = [  # (eta, lambda, what the book saw)
        (10.0, 1000.0, "10/100 every epoch (chance)"),
        (10.0, 20.0, "a weak signal (12, 14, 25, 18 /100)"),
        (100.0, 20.0, "10/100 every epoch (eta too large)"),
        (1.0, 20.0, "62/100 after epoch 1 (62, 42, 43, 61 /100)"),
    ]
    data = f"{dataset.name}: 1,000 train / 100 validation images, [{pixels}, 10], {epochs} epochs"
    for eta, lam, book in steps:
        model = mlp(ctx, [pixels, 10], init="scaled")
        history = fit(ctx, model, small, f"walk_eta{eta}_lambda{lam}", cost="cross_entropy", lr=eta,
                      l2=lam, epochs=epochs, eval_sets=("validation",))
        counts = ", ".join(f"{round(100 * a)}" for a in history.validation_accuracy)
        ctx.report(f"walk-through [{pixels}, 10], eta={eta:g}, lambda={lam:g}: validation correct /100",
                   book, counts, data=data)


def _seconds_per_epoch(ctx, dataset, pixels: int) -> None:
    """Chapter 26 quotes ~10 s per epoch for the numpy code: time one epoch over 50,000 images."""
    images, labels = dataset.train
    repeats = -(-BOOK_TRAIN_SIZE // len(labels))  # tile smaller sets up to 50,000 images
    fifty_k = Arrays(train=(np.tile(images, (repeats, 1))[:BOOK_TRAIN_SIZE], np.tile(labels, repeats)[:BOOK_TRAIN_SIZE]))
    model = mlp(ctx, [pixels, 30, 10])
    started = time.perf_counter()
    history = fit(ctx, model, fifty_k, "timing", cost="cross_entropy", lr=0.5, epochs=1, eval_sets=())
    seconds = history.epoch_seconds[0]
    note = "" if repeats == 1 else f", the {len(labels):,} training images repeated"
    ctx.report(f"seconds per epoch, [{pixels}, 30, 10], mini-batch 10, 50,000 images", "about 10 s (numpy)",
               f"{seconds:.2f} s (torch, {training_threads(10, ctx.device)} thread(s))",
               data=f"{dataset.name}{note}; wall {time.perf_counter() - started:.2f} s with setup")


def _learning_rates(ctx, dataset, pixels: int) -> None:
    """Chapter 27: training cost per epoch for eta = 0.025, 0.25, 2.5."""
    n_train = setting(ctx, "train_size", None, 3_000)
    epochs = setting(ctx, "epochs", 30, 10)
    n = train_size(dataset, n_train)
    lam = 5.0 * n / BOOK_TRAIN_SIZE
    data = describe(dataset, n_train, f"{epochs} epochs, lambda={lam:.3g}")
    costs = {}
    for eta in LEARNING_RATES:
        ctx.say(f"[{pixels}, 30, 10], eta={eta}, lambda={lam:.3g}, {epochs} epochs")
        model = mlp(ctx, [pixels, 30, 10], init="scaled")
        costs[eta] = fit(ctx, model, dataset, f"eta_{eta}", cost="cross_entropy", lr=eta, l2=lam, epochs=epochs,
                         train_subset=n_train, eval_sets=("train",)).train_cost
    # Tiny rises are mini-batch noise near a plateau; an overshooting eta makes the cost jump.
    rises = {eta: int(np.sum(np.diff(c) > 0.05 * np.asarray(c[:-1]))) for eta, c in costs.items()}
    largest = {eta: float(np.max(np.diff(c) / np.asarray(c[:-1]), initial=0.0)) for eta, c in costs.items()}
    ctx.report("epochs in which the training cost jumped up by > 5% (largest jump): eta 0.025 / 0.25 / 2.5",
               "only 2.5 oscillates", " / ".join(f"{rises[eta]} ({100 * largest[eta]:.0f}%)" for eta in LEARNING_RATES),
               data=data)
    ctx.report("training cost after epoch 1: eta 0.025 / 0.25 / 2.5", "0.025 falls slowest",
               " / ".join(f"{costs[eta][0]:.3f}" for eta in LEARNING_RATES), data=data)
    ctx.report("final training cost: eta 0.025 / 0.25 / 2.5", "0.25 lowest",
               " / ".join(f"{costs[eta][-1]:.3f}" for eta in LEARNING_RATES), data=data)

    fig, ax = plt.subplots(figsize=(6, 4))
    for eta, values in costs.items():
        ax.plot(range(1, len(values) + 1), values, label=f"eta = {eta}")
    ax.set(xlabel="epoch", ylabel="training cost", yscale="log", title=f"learning rates ({dataset.name})")
    ax.legend()
    ctx.plot("cost_by_learning_rate", fig)
    plt.close(fig)


def _schedule(ctx, dataset, pixels: int) -> None:
    """Chapter 27: halve eta each time validation accuracy stops improving; stop at eta/128."""
    n_train = setting(ctx, "train_size", None, 3_000)
    epochs = setting(ctx, "schedule_epochs", 120, 40)
    patience = setting(ctx, "patience", 5, 2)
    n = train_size(dataset, n_train)
    model = mlp(ctx, [pixels, 30, 10], init="scaled")
    history = fit(ctx, model, dataset, "schedule", cost="cross_entropy", lr=0.5, l2=5.0 * n / BOOK_TRAIN_SIZE,
                  epochs=epochs, train_subset=n_train, lr_schedule="halve_on_plateau", lr_patience=patience)
    changes = [history.lr[0]] + [b for a, b in zip(history.lr, history.lr[1:]) if b != a]
    ctx.report(f"eta over the run (halved after {patience} epochs without a better validation accuracy)",
               "0.5 halved step by step down to 0.5/128, then stop",
               f"{' -> '.join(f'{v:g}' for v in changes)}; stopped by {history.stop_reason} after {history.epochs} epochs",
               data=describe(dataset, n_train))
    ctx.report("test accuracy at the end of the schedule", "n/a (no figure in the book)",
               f"{percent(history.final('test_accuracy')):.2f}%", data=describe(dataset, n_train))
