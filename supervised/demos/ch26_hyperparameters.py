"""Chapters 26-27: choosing the hyper-parameters, and the learning rate.

Chapter 26's broad strategy: get any signal first. Shrink the problem (the first 1,000 training
images, a network with no hidden layer) so that each try takes a fraction of a second, watch
the validation accuracy every epoch, and change one thing at a time. The book's walk-through
with [784, 10]: lambda = 1000.0 gives "pure noise" (ch026.md:62); lambda = 20.0, scaled to the
smaller training set (ch026.md:65); a larger eta that is "not good", then eta = 1.0
(ch026.md:89). Its per-epoch counts are in figures, not in the text, so the demo prints its own
and judges nothing there. It also quotes about ten seconds per epoch for [784, 30, 10] on
50,000 images with its numpy code (ch026.md:44).

Chapter 27: the training cost of [784, 30, 10] (lambda = 5.0, mini-batch 10, 30 epochs, all
50,000 images; ch027.md:7) for eta = 0.025, 0.25 and 2.5: 0.025 falls smoothly to the end, 0.25
falls and is near saturation after about 20 epochs, 2.5 oscillates from the start
(ch027.md:16). "Better still": eta = 0.25 for 20 epochs, then 0.025 (ch027.md:25) - the demo
runs that schedule beside the two constant rates.
"""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import numpy as np

from lab.i18n import N_, decimal, tr
from supervised.demos import Setting, register
from supervised.demos._training import BOOK_TRAIN_SIZE, describe, fit, mlp, percent, setting, train_size
from supervised.trainer import Arrays, training_threads

LEARNING_RATES = (0.025, 0.25, 2.5)  # ch027.md:7
BOOK_SCHEDULE = (0.25, 20, 0.025)  # ch027.md:25: eta 0.25 for 20 epochs, then 0.025
BOOK_EPOCHS = 30  # ch027.md:7


@register("ch26", "Como Escolher os Hiperparâmetros / A Taxa de Aprendizado (caps. 26-27)",
          "Choosing hyper-parameters and the learning rate (chapters 26-27)",
          settings=(Setting("walk_epochs", 4, low=1),
                    Setting("train_size", None, 3_000, kind=int, low=100),
                    Setting("epochs", BOOK_EPOCHS, 10, low=1)),
          covers=("ch27",))
def demo(ctx) -> None:
    dataset = ctx.dataset()
    pixels = dataset.input_size
    _walk_through(ctx, dataset, pixels)
    _seconds_per_epoch(ctx, dataset, pixels)
    costs = _learning_rates(ctx, dataset, pixels)
    _schedule(ctx, dataset, pixels, costs)


def _walk_through(ctx, dataset, pixels: int) -> None:
    """Chapter 26: [784, 10] on 1,000 images, validation accuracy on 100 images, per epoch."""
    small = Arrays(train=(dataset.train[0][:1_000], dataset.train[1][:1_000]),
                   validation=(dataset.validation[0][:100], dataset.validation[1][:100]))
    epochs = setting(ctx, "walk_epochs")
    steps = [  # (eta, lambda, what the book's text says; its counts are only in figures)
        (10.0, 1000.0, N_("pure noise")),  # ch026.md:62
        (10.0, 20.0, N_("lambda scaled to 1,000 images; counts in a figure")),  # ch026.md:65
        (100.0, 20.0, N_("a larger eta: not good")),  # ch026.md:89
        (1.0, 20.0, N_("eta = 1.0; counts in a figure")),  # ch026.md:89
    ]
    data = tr("{data}: 1,000 train / 100 validation images, [{pixels}, 10], {epochs} epochs").format(
        data=dataset.name, pixels=pixels, epochs=epochs)
    why = tr("the book's counts are in figures, not its text; {why}").format(
        why=ctx.other_data(dataset, tr("full MNIST's first 1,000 images")))
    for eta, lam, book in steps:
        model = mlp(ctx, [pixels, 10], init="scaled")
        history = fit(ctx, model, small, f"walk_eta{eta}_lambda{lam}", cost="cross_entropy", lr=eta,
                      l2=lam, epochs=epochs, eval_sets=("validation",))
        counts = ", ".join(f"{round(100 * a)}" for a in history.validation_accuracy)
        ctx.report(tr("walk-through [{pixels}, 10], eta={eta:g}, lambda={lam:g}: validation correct /100").format(
                   pixels=pixels, eta=eta, lam=lam), tr(book), counts, data=data, reason=why)


def _seconds_per_epoch(ctx, dataset, pixels: int) -> None:
    """Chapter 26 quotes ~10 s per epoch for the numpy code: time one epoch over 50,000 images."""
    images, labels = dataset.train
    repeats = -(-BOOK_TRAIN_SIZE // len(labels))  # tile smaller sets up to 50,000 images
    fifty_k = Arrays(train=(np.tile(images, (repeats, 1))[:BOOK_TRAIN_SIZE], np.tile(labels, repeats)[:BOOK_TRAIN_SIZE]))
    model = mlp(ctx, [pixels, 30, 10])
    started = time.perf_counter()
    history = fit(ctx, model, fifty_k, "timing", cost="cross_entropy", lr=0.5, epochs=1, eval_sets=())
    seconds = history.epoch_seconds[0]
    note = "" if repeats == 1 else tr(", the {images:,} training images repeated").format(images=len(labels))
    ctx.report(tr("seconds per epoch, [{pixels}, 30, 10], mini-batch 10, 50,000 images").format(pixels=pixels),
               tr("about ten seconds (numpy, the author's laptop)"),  # ch026.md:44
               tr("{seconds:.2f} s (torch, {threads} thread(s))").format(
                   seconds=seconds, threads=training_threads(10, ctx.device)),
               data=tr("{data}{note}; wall {seconds:.2f} s with setup").format(
                   data=dataset.name, note=note, seconds=time.perf_counter() - started),
               reason=tr("other code and machine: the book's numpy network2.py on a laptop, torch here"))


def _learning_rates(ctx, dataset, pixels: int) -> None:
    """Chapter 27: training cost per epoch for eta = 0.025, 0.25, 2.5."""
    n_train = setting(ctx, "train_size")
    epochs = setting(ctx, "epochs")
    n = train_size(dataset, n_train)
    lam = 5.0 * n / BOOK_TRAIN_SIZE
    data = describe(dataset, n_train, tr("{epochs} epochs, lambda={lam:.3g}").format(epochs=epochs, lam=lam))
    costs = {}
    for eta in LEARNING_RATES:
        ctx.say(tr("[{pixels}, 30, 10], eta={eta}, lambda={lam:.3g}, {epochs} epochs").format(
            pixels=pixels, eta=decimal(str(eta)), lam=lam, epochs=epochs))
        model = mlp(ctx, [pixels, 30, 10], init="scaled")
        costs[eta] = fit(ctx, model, dataset, f"eta_{eta}", cost="cross_entropy", lr=eta, l2=lam, epochs=epochs,
                         train_subset=n_train, eval_sets=("train",)).train_cost
    # Tiny rises are mini-batch noise near a plateau; an overshooting eta makes the cost jump.
    rises = {eta: int(np.sum(np.diff(c) > 0.05 * np.asarray(c[:-1]))) for eta, c in costs.items()}
    largest = {eta: float(np.max(np.diff(c) / np.asarray(c[:-1]), initial=0.0)) for eta, c in costs.items()}
    only_large = rises[2.5] > 0 and rises[0.025] == 0 and rises[0.25] == 0
    ctx.report(tr("epochs in which the training cost jumped up by > 5% (largest jump): eta 0.025 / 0.25 / 2.5"),
               tr("only 2.5 oscillates"),
               " / ".join(f"{rises[eta]} ({100 * largest[eta]:.0f}%)" for eta in LEARNING_RATES), data=data,
               matches=only_large, reason="" if only_large else tr("another rate jumped too, or 2.5 did not"))
    slowest = costs[0.025][0] > max(costs[0.25][0], costs[2.5][0])
    ctx.report(tr("training cost after epoch 1: eta 0.025 / 0.25 / 2.5"), tr("0.025 falls slowest"),
               " / ".join(decimal(f"{costs[eta][0]:.3f}") for eta in LEARNING_RATES), data=data, matches=slowest,
               reason="" if slowest else tr("0.025 is not the highest after epoch 1 here"))
    lowest = costs[0.25][-1] < min(costs[0.025][-1], costs[2.5][-1])
    ctx.report(tr("final training cost: eta 0.025 / 0.25 / 2.5"), tr("0.25 lowest"),
               " / ".join(decimal(f"{costs[eta][-1]:.3f}") for eta in LEARNING_RATES), data=data, matches=lowest,
               reason="" if lowest else tr("0.25 does not end lowest here"))
    ctx.table("final_training_cost_by_eta", ["eta", tr("cost after epoch 1"), tr("final cost"), tr("jumps > 5%")],
              [[eta, costs[eta][0], costs[eta][-1], rises[eta]] for eta in LEARNING_RATES])

    fig, ax = plt.subplots(figsize=(6, 4))
    for eta, values in costs.items():
        ax.plot(range(1, len(values) + 1), values, label=tr("eta = {eta}").format(eta=decimal(str(eta))))
    ax.set(xlabel=tr("epoch"), ylabel=tr("training cost"), yscale="log",
           title=tr("learning rates ({data})").format(data=dataset.name))
    ax.legend()
    ctx.plot("cost_by_learning_rate", fig)
    plt.close(fig)
    return costs


def _schedule(ctx, dataset, pixels: int, costs: dict[float, list[float]]) -> None:
    """Chapter 27's better plan: eta 0.25 for 20 of 30 epochs, then 0.025 (the switch scaled to the
    run's length under --quick), against each rate kept constant (the runs of `_learning_rates`)."""
    n_train = setting(ctx, "train_size")
    epochs = setting(ctx, "epochs")
    first, switch_book, second = BOOK_SCHEDULE
    switch = round(switch_book * epochs / BOOK_EPOCHS)
    n = train_size(dataset, n_train)
    model = mlp(ctx, [pixels, 30, 10], init="scaled")
    history = fit(ctx, model, dataset, "schedule", cost="cross_entropy", lr=first, l2=5.0 * n / BOOK_TRAIN_SIZE,
                  epochs=epochs, train_subset=n_train, eval_sets=("train", "test"),
                  lr_schedule=lambda epoch, _: first if epoch < switch else second)
    scheduled, constant = history.final("train_cost"), {eta: costs[eta][-1] for eta in (first, second)}
    better = scheduled < min(constant.values())
    data = describe(dataset, n_train, tr("{epochs} epochs, switch after epoch {switch}").format(epochs=epochs,
                                                                                              switch=switch))
    rates = {"first": decimal(str(first)), "second": decimal(str(second))}
    ctx.report(tr("final training cost: eta {first} for {switch} epochs then {second} | constant {first} | "
                  "constant {second}").format(switch=switch, **rates), tr("better than either rate alone"),
               decimal(f"{scheduled:.3f} | {constant[first]:.3f} | {constant[second]:.3f}"), data=data,
               matches=better, reason="" if better else tr("the schedule did not end below both constant rates here"))
    ctx.report(tr("test accuracy at the end of the schedule"), tr("n/a (no figure in the book)"),
               decimal(f"{percent(history.final('test_accuracy')):.2f}%"), data=data,
               reason=tr("the book gives no accuracy for the schedule"))
    fig, ax = plt.subplots(figsize=(6, 4))
    for eta in (first, second):
        ax.plot(range(1, len(costs[eta]) + 1), costs[eta], label=tr("eta = {eta}").format(eta=decimal(str(eta))))
    ax.plot(range(1, history.epochs + 1), history.train_cost, "k--", label=tr("{first} then {second}").format(**rates))
    ax.axvline(switch + 0.5, color="grey", lw=0.8)
    ax.set(xlabel=tr("epoch"), ylabel=tr("training cost"), yscale="log",
           title=tr("the book's schedule ({data})").format(data=dataset.name))
    ax.legend()
    ctx.plot("schedule", fig)
    plt.close(fig)
