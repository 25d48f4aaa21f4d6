"""Chapter 28: early stopping decides the number of epochs.

Compute the validation accuracy after every epoch and stop when it has stopped improving. The
book's rule of thumb is "no improvement in ten": stop after 10 epochs without a better
validation accuracy, and become more lenient (20, 50 epochs) once the network is understood,
because accuracy can plateau for a while before improving again. It removes one
hyper-parameter (the number of epochs) and guards against overfitting without looking at the
test images.

The run: [784, 30, 10], cross-entropy, eta = 0.5, mini-batch 10, the first 1,000 training
images (where chapter 19 saw overfitting), at most 400 epochs, under each patience.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from lab.i18n import decimal, tr
from supervised.demos import Setting, register
from supervised.demos._training import describe, fit, mlp, percent, setting


@register("ch28", "Usando Early Stopping Para Definir o Número de Épocas de Treinamento",
          "Early stopping to choose the number of training epochs",
          settings=(Setting("train_size", 1_000, low=100),
                    Setting("max_epochs", 400, 120, low=1),
                    Setting("patience", (10, 20), (5, 10), low=1)))
def demo(ctx) -> None:
    dataset = ctx.dataset()
    pixels = dataset.input_size
    n_train = setting(ctx, "train_size")
    max_epochs = setting(ctx, "max_epochs")
    patiences = setting(ctx, "patience")
    data = describe(dataset, n_train, tr("at most {epochs} epochs").format(epochs=max_epochs))

    histories = {}
    for patience in patiences:
        ctx.say(tr("[{pixels}, 30, 10] on {images:,} images, stop after {patience} epochs without improvement").format(
            pixels=pixels, images=n_train, patience=patience))
        model = mlp(ctx, [pixels, 30, 10], init="scaled")
        history = fit(ctx, model, dataset, f"patience_{patience}", cost="cross_entropy", lr=0.5, batch_size=10,
                      epochs=max_epochs, train_subset=n_train, early_stopping=patience)
        histories[patience] = history
        ran, best = history.epochs, history.best_epoch
        ctx.report(tr("no-improvement-in-{patience}: epochs run / best validation epoch").format(patience=patience),
                   tr("stops {patience} epochs after the best").format(patience=patience), f"{ran} / {best}"
                   + ("" if history.stopped_early else tr(" (reached the {epochs}-epoch cap)").format(epochs=max_epochs)),
                   data=data, matches=(ran - best == patience) if history.stopped_early else None,
                   reason=tr("stopped at another epoch than patience after the best") if history.stopped_early
                   else tr("did not stop within the {epochs}-epoch cap").format(epochs=max_epochs))
        ctx.report(tr("no-improvement-in-{patience}: best validation accuracy; test accuracy at the stop").format(
                       patience=patience),
                   tr("n/a (no figure in the book)"),
                   decimal(f"{percent(history.best_validation_accuracy):.2f}%; "
                           f"{percent(history.final('test_accuracy')):.2f}%"),
                   data=data, reason=tr("the book gives no accuracy for early stopping"))

    fig, ax = plt.subplots(figsize=(6, 4))
    for patience, history in histories.items():
        line, = ax.plot(range(1, history.epochs + 1), [100 * a for a in history.validation_accuracy],
                        label=tr("validation, patience {patience}").format(patience=patience))
        ax.axvline(history.best_epoch, color=line.get_color(), linestyle=":")
    ax.set(xlabel=tr("epoch"), ylabel=tr("validation accuracy (%)"),
           title=tr("early stopping, {images:,} training images ({data})").format(images=n_train, data=dataset.name))
    ax.legend()
    ctx.plot("early_stopping", fig)
    plt.close(fig)
