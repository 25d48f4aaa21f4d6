"""Chapter 19: overfitting.

The book trains the [784, 30, 10] cross-entropy network (eta = 0.5, mini-batch 10, N(0, 1)
weights) on only the first 1,000 training images for 400 epochs. The cost on the training
images keeps falling, yet the test accuracy stops improving near epoch 280 at 82.27%, the cost
on the test images is lowest near epoch 15 and then rises, and the training accuracy reaches
100%: the network memorises its 1,000 images instead of learning digits. With all 50,000
images the gap nearly closes: 97.86% on the training images against 95.33% on the test
images after 30 epochs. Watching accuracy on held-out data (the validation set) is how the
book detects overfitting.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from lab.i18n import N_, tr
from supervised.demos import Setting, register
from supervised.demos._training import data_reason, describe, fit, mlp, report_accuracy, setting
from supervised.trainer import evaluate

BOOK_SMALL_TEST = 82.27  # ch019.md:61
BOOK_BEST_TEST_EPOCH = 280  # ch019.md:43 ("por volta da época 280")
BOOK_LOWEST_TEST_COST_EPOCH = 15  # ch019.md:52
BOOK_FULL_TRAIN, BOOK_FULL_TEST = 97.86, 95.33  # ch019.md:100
BOOK_GAPS = (17.73, 2.53)  # ch019.md:100
#: How a truth value reads in a figure's reason.
TRUTH = {True: N_("True"), False: N_("False")}


@register("ch19", "Overfitting e Regularização – Parte 1", "Overfitting and regularisation, part 1",
          settings=(Setting("small_train_size", 1_000, low=100),
                    Setting("small_epochs", 400, 80, low=1),
                    Setting("epochs", 30, 8, low=1),
                    Setting("train_size", None, 5_000, kind=int, low=100)))
def demo(ctx) -> None:
    dataset = ctx.dataset()
    pixels = dataset.input_size
    small = setting(ctx, "small_train_size")
    small_epochs = setting(ctx, "small_epochs")
    full_epochs = setting(ctx, "epochs")
    full_train = setting(ctx, "train_size")

    test_x = torch.as_tensor(dataset.test[0], device=ctx.device)
    test_y = torch.as_tensor(dataset.test[1], device=ctx.device)
    test_costs: list[float] = []

    def record_test_cost(epoch, history, model) -> None:
        test_costs.append(evaluate(model, test_x, test_y, "cross_entropy")[0])

    ctx.say(tr("training [{pixels}, 30, 10] on the first {small:,} images for {epochs} epochs "
               "(cross-entropy, eta=0.5, mini-batch 10)").format(pixels=pixels, small=small, epochs=small_epochs))
    history = fit(ctx, mlp(ctx, [pixels, 30, 10]), dataset, "train_1000", cost="cross_entropy", lr=0.5,
                  batch_size=10, epochs=small_epochs, train_subset=small, callback=record_test_cost)
    data = describe(dataset, small, tr("{epochs} epochs").format(epochs=small_epochs))
    report_accuracy(ctx, tr("training accuracy after {epochs} epochs, {small:,} images").format(
                        epochs=small_epochs, small=small), 100.0,
                    history.final("train_accuracy"), dataset, small, book_train=1_000)
    report_accuracy(ctx, tr("test accuracy after {epochs} epochs, {small:,} images").format(
                        epochs=small_epochs, small=small), BOOK_SMALL_TEST,
                    history.final("test_accuracy"), dataset, small, book_train=1_000)
    best_test_epoch = int(np.argmax(history.test_accuracy)) + 1
    lowest_cost_epoch = int(np.argmin(test_costs)) + 1
    reason = data_reason(ctx, dataset, small, book_train=1_000) or tr("other data")
    if small_epochs != 400:
        reason += tr("; {epochs} epochs, the book: 400").format(epochs=small_epochs)
    ctx.report(tr("epoch where the test accuracy stops improving"),
               tr("about {epoch}").format(epoch=BOOK_BEST_TEST_EPOCH), best_test_epoch, data=data, reason=reason)
    ctx.report(tr("epoch where the test cost is lowest (then it rises)"),
               tr("about {epoch}").format(epoch=BOOK_LOWEST_TEST_COST_EPOCH), lowest_cost_epoch, data=data,
               reason=reason)
    falls = history.train_cost[-1] < history.train_cost[0] and min(history.train_cost) < 1.5 * history.train_cost[-1]
    ctx.report(tr("training cost, first -> last epoch (keeps falling)"), tr("falls throughout"),
               tr("{first:.4f} -> {last:.4f}").format(first=history.train_cost[0], last=history.train_cost[-1]),
               data=data, matches=falls, reason="" if falls else tr("the training cost rose again"))

    ctx.say(tr("training [{pixels}, 30, 10] on the whole training set for {epochs} epochs").format(
        pixels=pixels, epochs=full_epochs))
    full = fit(ctx, mlp(ctx, [pixels, 30, 10]), dataset, "train_all", cost="cross_entropy", lr=0.5,
               batch_size=10, epochs=full_epochs, train_subset=full_train)
    report_accuracy(ctx, tr("training accuracy, all training images"), BOOK_FULL_TRAIN, full.final("train_accuracy"),
                    dataset, full_train)
    report_accuracy(ctx, tr("test accuracy, all training images"), BOOK_FULL_TEST, full.final("test_accuracy"),
                    dataset, full_train)
    gap_small = 100 * (history.final("train_accuracy") - history.final("test_accuracy"))
    gap_full = 100 * (full.final("train_accuracy") - full.final("test_accuracy"))
    ctx.report(tr("train - test gap (points): 1,000 images vs all"),
               tr("{small:.2f} vs {full:.2f}").format(small=BOOK_GAPS[0], full=BOOK_GAPS[1]),
               tr("{small:.2f} vs {full:.2f}").format(small=gap_small, full=gap_full), data=describe(dataset, full_train),
               reason=(data_reason(ctx, dataset, full_train) + tr("; the gap shrinks here too: {shrinks}").format(
                   shrinks=tr(TRUTH[bool(gap_full < gap_small)]))).removeprefix("; "))

    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    epochs_axis = np.arange(1, len(history.train_cost) + 1)
    panels = [
        (axes[0, 0], history.train_cost, tr("cost on the training images")),
        (axes[0, 1], [100 * a for a in history.test_accuracy], tr("test accuracy (%)")),
        (axes[1, 0], test_costs, tr("cost on the test images")),
        (axes[1, 1], [100 * a for a in history.train_accuracy], tr("training accuracy (%)")),
    ]
    for ax, values, title in panels:
        ax.plot(epochs_axis, values)
        ax.set(xlabel=tr("epoch"), title=title)
    fig.suptitle(tr("overfitting: {small:,} training images ({data})").format(small=small, data=dataset.name))
    fig.tight_layout()
    ctx.plot("overfitting", fig)
    plt.close(fig)
