"""Chapter 23: dropout.

While training, each mini-batch sees a network with half of its hidden neurons switched off at
random; at test time every neuron is on (PyTorch scales the kept activations by 1/(1-p) while
training, which is the book's halving of the outgoing weights at test time moved to training).
The network cannot rely on any one neuron, which acts like averaging many thinned networks and
reduces overfitting. The book's figure is Hinton et al. (2012): on MNIST, dropout (with a
modified L2) raised a network's test accuracy from 98.4% to 98.7%.

Here the effect is shown where overfitting is strongest: [784, 100, 10], cross-entropy,
eta = 0.5, the first 1,000 training images, with and without dropout p = 0.5 on the hidden
layer; then on the whole training set.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from lab.i18n import N_, decimal, tr
from supervised.demos import Setting, register
from supervised.demos._training import data_reason, describe, fit, mlp, percent, setting

BOOK_HINTON = N_("98.4% -> 98.7%")  # ch023.md:46 (Hinton et al. 2012, full MNIST, another network)


@register("ch23", "Como Funciona o Dropout?", "How dropout works",
          settings=(Setting("small_train_size", 1_000, low=100),
                    Setting("small_epochs", 150, 40, low=1),
                    Setting("train_size", None, 5_000, kind=int, low=100),
                    Setting("epochs", 30, 6, low=1),
                    Setting("dropout", 0.5, low=0.0, below=1.0)))
def demo(ctx) -> None:
    dataset = ctx.dataset()
    pixels = dataset.input_size
    small = setting(ctx, "small_train_size")
    small_epochs = setting(ctx, "small_epochs")
    full_train = setting(ctx, "train_size")
    epochs = setting(ctx, "epochs")
    p = setting(ctx, "dropout")

    results = {}
    training_sets = {"small": N_("small training set"), "all": N_("all training set")}
    for n_train, n_epochs, size_name in ((small, small_epochs, "small"), (full_train, epochs, "all")):
        for rate in (0.0, p):
            name = f"{size_name}_dropout_{rate}"
            ctx.say(tr("[{pixels}, 100, 10], dropout {rate}, {data}, {epochs} epochs").format(
                pixels=pixels, rate=decimal(str(rate)), data=describe(dataset, n_train), epochs=n_epochs))
            model = mlp(ctx, [pixels, 100, 10], dropout=rate)
            results[name] = fit(ctx, model, dataset, name, cost="cross_entropy", lr=0.5, batch_size=10,
                                epochs=n_epochs, train_subset=n_train)
        without, with_dropout = results[f"{size_name}_dropout_0.0"], results[f"{size_name}_dropout_{p}"]
        data = describe(dataset, n_train, tr("[{pixels}, 100, 10], {epochs} epochs").format(pixels=pixels,
                                                                                            epochs=n_epochs))
        training_set = tr(training_sets[size_name])
        ctx.report(tr("test accuracy without -> with dropout {p} ({training_set})").format(
                       p=decimal(str(p)), training_set=training_set),
                   tr(BOOK_HINTON),
                   tr("{before:.2f}% -> {after:.2f}%").format(before=percent(without.final("test_accuracy")),
                                                              after=percent(with_dropout.final("test_accuracy"))),
                   data=data, reason=tr("another network: the book quotes Hinton et al. 2012 on full MNIST; {why}").format(
                       why=data_reason(ctx, dataset, n_train) or tr("same data")))
        gaps = [percent(h.final("train_accuracy") - h.final("test_accuracy")) for h in (without, with_dropout)]
        ctx.report(tr("train - test gap (points) without -> with dropout ({training_set})").format(
                       training_set=training_set),
                   tr("smaller with dropout"), tr("{before:.2f} -> {after:.2f}").format(before=gaps[0], after=gaps[1]),
                   data=data, matches=gaps[1] < gaps[0],
                   reason="" if gaps[1] < gaps[0] else tr("the gap did not shrink with dropout here"))

    fig, ax = plt.subplots(figsize=(6, 4))
    for rate, style in ((0.0, "-"), (p, "--")):
        history = results[f"small_dropout_{rate}"]
        ax.plot([100 * a for a in history.train_accuracy], "C0" + style,
                label=tr("train, dropout {rate}").format(rate=decimal(str(rate))))
        ax.plot([100 * a for a in history.test_accuracy], "C1" + style,
                label=tr("test, dropout {rate}").format(rate=decimal(str(rate))))
    ax.set(xlabel=tr("epoch"), ylabel=tr("accuracy (%)"),
           title=tr("dropout, {images:,} training images ({data})").format(images=small, data=dataset.name))
    ax.legend()
    ctx.plot("dropout", fig)
    plt.close(fig)
