"""Chapter 13: the book's first network in Python (`network.py`).

A [784, 30, 10] network of sigmoid neurons, every weight and bias drawn from N(0, 1), the
quadratic cost, and stochastic gradient descent with eta = 3.0 on mini-batches of 10 images
for 30 epochs. The book prints the test accuracy after each epoch: 91.29% after the first,
95.42% at its best (epoch 28); with 100 hidden neurons 96.59%.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from supervised.demos import register
from supervised.demos._training import describe, fit, mlp, report_accuracy, setting


@register("ch13", "Construindo Uma Rede Neural Com Linguagem Python", "Building a neural network in Python")
def demo(ctx) -> None:
    dataset = ctx.dataset()
    epochs = setting(ctx, "epochs", 30, 10)
    n_train = setting(ctx, "train_size", None, 5_000)
    pixels = dataset.input_size

    model = mlp(ctx, [pixels, 30, 10])
    n_parameters = sum(p.numel() for p in model.parameters())
    ctx.report(f"weights and biases of [{pixels}, 30, 10]", 23_860 if pixels == 784 else "n/a",
               n_parameters, data="exact" if pixels == 784 else dataset.name)

    ctx.say(f"training [{pixels}, 30, 10]: quadratic cost, eta=3.0, mini-batch 10, {epochs} epochs")
    history = fit(ctx, model, dataset, "hidden_30", cost="quadratic", lr=3.0, batch_size=10, epochs=epochs,
                  train_subset=n_train)
    report_accuracy(ctx, "test accuracy after epoch 1", 91.29, history.test_accuracy[0], dataset, n_train)
    report_accuracy(ctx, f"best test accuracy in {epochs} epochs (book: epoch 28 of 30)", 95.42,
                    max(history.test_accuracy), dataset, n_train)

    wide = mlp(ctx, [pixels, 100, 10])
    ctx.say(f"training [{pixels}, 100, 10] with the same settings")
    wide_history = fit(ctx, wide, dataset, "hidden_100", cost="quadratic", lr=3.0, batch_size=10,
                       epochs=epochs, train_subset=n_train)
    report_accuracy(ctx, "best test accuracy, 100 hidden neurons", 96.59, max(wide_history.test_accuracy),
                    dataset, n_train)

    seconds = sum(history.epoch_seconds) / len(history.epoch_seconds)
    ctx.say(f"{seconds:.2f} s per epoch over {describe(dataset, n_train)} ([{pixels}, 30, 10], mini-batch 10)")

    fig, ax = plt.subplots(figsize=(6, 4))
    epochs_axis = range(1, len(history.test_accuracy) + 1)
    ax.plot(epochs_axis, [100 * a for a in history.test_accuracy], marker="o", label="30 hidden")
    ax.plot(epochs_axis, [100 * a for a in wide_history.test_accuracy], marker="s", label="100 hidden")
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", title=f"network.py: quadratic cost, eta=3.0 ({dataset.name})")
    ax.legend()
    ctx.plot("test_accuracy", fig)
    plt.close(fig)
