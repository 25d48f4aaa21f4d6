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

from supervised.demos import Setting, register
from supervised.demos._training import data_reason, describe, fit, mlp, percent, setting

BOOK_HINTON = "98.4% -> 98.7%"  # ch023.md:46 (Hinton et al. 2012, full MNIST, another network)


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
    for n_train, n_epochs, size_name in ((small, small_epochs, "small"), (full_train, epochs, "all")):
        for rate in (0.0, p):
            name = f"{size_name}_dropout_{rate}"
            ctx.say(f"[{pixels}, 100, 10], dropout {rate}, {describe(dataset, n_train)}, {n_epochs} epochs")
            model = mlp(ctx, [pixels, 100, 10], dropout=rate)
            results[name] = fit(ctx, model, dataset, name, cost="cross_entropy", lr=0.5, batch_size=10,
                                epochs=n_epochs, train_subset=n_train)
        without, with_dropout = results[f"{size_name}_dropout_0.0"], results[f"{size_name}_dropout_{p}"]
        data = describe(dataset, n_train, f"[{pixels}, 100, 10], {n_epochs} epochs")
        ctx.report(f"test accuracy without -> with dropout {p} ({size_name} training set)",
                   BOOK_HINTON,
                   f"{percent(without.final('test_accuracy')):.2f}% -> {percent(with_dropout.final('test_accuracy')):.2f}%",
                   data=data, reason="another network: the book quotes Hinton et al. 2012 on full MNIST; "
                   + (data_reason(ctx, dataset, n_train) or "same data"))
        gaps = [percent(h.final("train_accuracy") - h.final("test_accuracy")) for h in (without, with_dropout)]
        ctx.report(f"train - test gap (points) without -> with dropout ({size_name} training set)",
                   "smaller with dropout", f"{gaps[0]:.2f} -> {gaps[1]:.2f}", data=data, matches=gaps[1] < gaps[0],
                   reason="" if gaps[1] < gaps[0] else "the gap did not shrink with dropout here")

    fig, ax = plt.subplots(figsize=(6, 4))
    for rate, style in ((0.0, "-"), (p, "--")):
        history = results[f"small_dropout_{rate}"]
        ax.plot([100 * a for a in history.train_accuracy], "C0" + style, label=f"train, dropout {rate}")
        ax.plot([100 * a for a in history.test_accuracy], "C1" + style, label=f"test, dropout {rate}")
    ax.set(xlabel="epoch", ylabel="accuracy (%)", title=f"dropout, {small:,} training images ({dataset.name})")
    ax.legend()
    ctx.plot("dropout", fig)
    plt.close(fig)
