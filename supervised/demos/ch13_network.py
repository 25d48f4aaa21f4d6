"""Chapter 13: the book's first network in Python (`network.py`).

A [784, 30, 10] network of sigmoid neurons, every weight and bias drawn from N(0, 1), the
quadratic cost, and stochastic gradient descent with eta = 3.0 on mini-batches of 10 images
for 30 epochs. The book's text gives its 23,860 weights and biases (chapter 19) and, with 100
hidden neurons, 96.59% (chapter 18). The per-epoch figures 91.29% (epoch 1) and 95.42% (best,
epoch 28) are from Nielsen's online book, whose chapter 1 the book translates, and are labelled so.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from lab.i18n import N_, tr
from supervised.demos import Setting, register
from supervised.demos._training import describe, fit, mlp, report_accuracy, setting

BOOK_PARAMETERS = 23_860  # ch019.md:16 ("com seus 23.860 parâmetros")
BOOK_WIDE_QUADRATIC = 96.59  # ch018.md:22 (100 hidden, quadratic cost)
NIELSEN = N_("Nielsen, Neural Networks and Deep Learning (online), ch. 1")
NIELSEN_EPOCH_1, NIELSEN_BEST = 91.29, 95.42  # printed by network.py there; not in the book's text


@register("ch13", "Construindo Uma Rede Neural Com Linguagem Python", "Building a neural network in Python",
          settings=(Setting("epochs", 30, 10, low=1), Setting("train_size", None, 5_000, kind=int, low=100)))
def demo(ctx) -> None:
    dataset = ctx.dataset()
    epochs = setting(ctx, "epochs")
    n_train = setting(ctx, "train_size")
    pixels = dataset.input_size

    model = mlp(ctx, [pixels, 30, 10])
    n_parameters = sum(p.numel() for p in model.parameters())
    ctx.report(tr("weights and biases of [{pixels}, 30, 10]").format(pixels=pixels), BOOK_PARAMETERS, n_parameters,
               data=tr("counted from the module") if pixels == 784 else dataset.name,
               matches=n_parameters == BOOK_PARAMETERS if pixels == 784 else None,
               reason="" if pixels == 784 else tr("other data: {pixels}-pixel images, the book: 784").format(
                   pixels=pixels))

    ctx.say(tr("training [{pixels}, 30, 10]: quadratic cost, eta=3.0, mini-batch 10, {epochs} epochs").format(
        pixels=pixels, epochs=epochs))
    history = fit(ctx, model, dataset, "hidden_30", cost="quadratic", lr=3.0, batch_size=10, epochs=epochs,
                  train_subset=n_train)
    report_accuracy(ctx, tr("test accuracy after epoch 1"), NIELSEN_EPOCH_1, history.test_accuracy[0], dataset,
                    n_train, source=tr(NIELSEN))
    report_accuracy(ctx, tr("best test accuracy in {epochs} epochs (Nielsen: epoch 28 of 30)").format(epochs=epochs),
                    NIELSEN_BEST, max(history.test_accuracy), dataset, n_train, source=tr(NIELSEN))

    wide = mlp(ctx, [pixels, 100, 10])
    ctx.say(tr("training [{pixels}, 100, 10] with the same settings").format(pixels=pixels))
    wide_history = fit(ctx, wide, dataset, "hidden_100", cost="quadratic", lr=3.0, batch_size=10,
                       epochs=epochs, train_subset=n_train)
    report_accuracy(ctx, tr("best test accuracy, 100 hidden neurons"), BOOK_WIDE_QUADRATIC,
                    max(wide_history.test_accuracy), dataset, n_train)

    seconds = sum(history.epoch_seconds) / len(history.epoch_seconds)
    ctx.say(tr("{seconds:.2f} s per epoch over {data} ([{pixels}, 30, 10], mini-batch 10)").format(
        seconds=seconds, data=describe(dataset, n_train), pixels=pixels))

    fig, ax = plt.subplots(figsize=(6, 4))
    epochs_axis = range(1, len(history.test_accuracy) + 1)
    ax.plot(epochs_axis, [100 * a for a in history.test_accuracy], marker="o", label=tr("30 hidden"))
    ax.plot(epochs_axis, [100 * a for a in wide_history.test_accuracy], marker="s", label=tr("100 hidden"))
    ax.set(xlabel=tr("epoch"), ylabel=tr("test accuracy (%)"),
           title=tr("network.py: quadratic cost, eta=3.0 ({data})").format(data=dataset.name))
    ax.legend()
    ctx.plot("test_accuracy", fig)
    plt.close(fig)
