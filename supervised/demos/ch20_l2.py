"""Chapter 20: L2 regularisation (weight decay). Chapter 21's polynomial example is ch21_polynomial.py.

The cost gains (lambda/2n) sum_w w^2 over the weights (not the biases), so each step first
shrinks every weight by the factor (1 - eta lambda / n). The book's figures, all with the
[784, h, 10] cross-entropy network, mini-batch 10 and N(0, 1) weights:

* the first 1,000 training images, lambda = 0.1, eta = 0.5, 400 epochs: a peak test accuracy of
  87.1% (a peak of 82.27% without regularisation, chapter 19), still improving at the end;
* all 50,000 images, lambda = 5.0, eta = 0.5, 30 epochs: 96.49% test (95.49% without);
* 100 hidden neurons, lambda = 5.0, eta = 0.1, 60 epochs: 98.04% on the validation data.

lambda goes from 0.1 to 5.0 as n goes from 1,000 to 50,000 so that the decay per step,
eta lambda / n, stays the same; on a training set of another size this demo scales lambda
the same way (lambda = 5.0 n / 50,000) and says so.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from lab.i18n import tr
from supervised.demos import Setting, register
from supervised.demos._training import BOOK_TRAIN_SIZE, fit, mlp, report_accuracy, setting, train_size

BOOK_SMALL_L2_PEAK, BOOK_SMALL_PLAIN_PEAK = 87.1, 82.27  # ch020.md:178 (peaks, test data)
BOOK_FULL_L2 = 96.49  # ch020.md:196 (test data; 95.49% without)
BOOK_WIDE_VALIDATION = 98.04  # ch020.md:205 (validation data)


@register("ch20", "Overfitting e Regularização – Parte 2", "Overfitting and regularisation, part 2: L2",
          settings=(Setting("small_train_size", 1_000, low=100),
                    Setting("small_epochs", 400, 60, low=1),
                    Setting("train_size", None, 5_000, kind=int, low=100),
                    Setting("epochs", 30, 8, low=1),
                    Setting("wide_epochs", 60, 8, low=1)))
def demo(ctx) -> None:
    dataset = ctx.dataset()
    pixels = dataset.input_size
    small = setting(ctx, "small_train_size")
    small_epochs = setting(ctx, "small_epochs")
    full_train = setting(ctx, "train_size")
    epochs = setting(ctx, "epochs")
    wide_epochs = setting(ctx, "wide_epochs")

    ctx.say(tr("[{pixels}, 30, 10] on {images:,} images, lambda=0.1, eta=0.5, {epochs} epochs").format(
        pixels=pixels, images=small, epochs=small_epochs))
    plain_model, l2_model = mlp(ctx, [pixels, 30, 10]), mlp(ctx, [pixels, 30, 10])
    plain = fit(ctx, plain_model, dataset, "small_unregularised", cost="cross_entropy",
                lr=0.5, epochs=small_epochs, train_subset=small)
    l2 = fit(ctx, l2_model, dataset, "small_l2_0.1", cost="cross_entropy", lr=0.5,
             epochs=small_epochs, train_subset=small, l2=0.1)
    note = tr("{epochs} epochs").format(epochs=small_epochs)
    report_accuracy(ctx, tr("peak test accuracy, {images:,} images, lambda=0.1").format(images=small),
                    BOOK_SMALL_L2_PEAK, max(l2.test_accuracy), dataset, small, book_train=1_000, note=note)
    report_accuracy(ctx, tr("peak test accuracy without regularisation (chapter 19)"), BOOK_SMALL_PLAIN_PEAK,
                    max(plain.test_accuracy), dataset, small, book_train=1_000, note=note)
    small_data = tr("{name}: {images:,} train images, {note}").format(name=dataset.name, images=small, note=note)
    gaps = [100 * (h.final("train_accuracy") - h.final("test_accuracy")) for h in (l2, plain)]
    ctx.report(tr("train - test gap (points), lambda=0.1 vs none"), tr("smaller with L2"),
               tr("{first:.2f} vs {second:.2f}").format(first=gaps[0], second=gaps[1]), data=small_data,
               matches=gaps[0] < gaps[1], reason="" if gaps[0] < gaps[1] else tr("the gap is not smaller with L2 here"))
    norms = _weight_norm(l2_model), _weight_norm(plain_model)
    ctx.report(tr("norm of all weights after training, lambda=0.1 vs none"), tr("smaller with L2"),
               tr("{first:.1f} vs {second:.1f}").format(first=norms[0], second=norms[1]), data=small_data,
               matches=norms[0] < norms[1], reason="" if norms[0] < norms[1] else tr("not smaller with L2 here"))

    n_full = train_size(dataset, full_train)
    lam = 5.0 * n_full / BOOK_TRAIN_SIZE
    scaled = "" if n_full == BOOK_TRAIN_SIZE else tr("lambda scaled to {lam:.3g} for n={n:,}").format(lam=lam, n=n_full)
    ctx.say(tr("[{pixels}, 30, 10] on all {images:,} images, lambda={lam:.3g}, eta=0.5, {epochs} epochs").format(
        pixels=pixels, images=n_full, lam=lam, epochs=epochs))
    full = fit(ctx, mlp(ctx, [pixels, 30, 10]), dataset, "all_l2_5", cost="cross_entropy", lr=0.5,
               epochs=epochs, train_subset=full_train, l2=lam)
    report_accuracy(ctx, tr("test accuracy, all images, lambda=5.0, 30 hidden"), BOOK_FULL_L2,
                    full.final("test_accuracy"), dataset, full_train, note=scaled)

    ctx.say(tr("[{pixels}, 100, 10] on all {images:,} images, lambda={lam:.3g}, eta=0.1, {epochs} epochs").format(
        pixels=pixels, images=n_full, lam=lam, epochs=wide_epochs))
    wide = fit(ctx, mlp(ctx, [pixels, 100, 10]), dataset, "all_l2_5_hidden_100", cost="cross_entropy", lr=0.1,
               epochs=wide_epochs, train_subset=full_train, l2=lam)
    report_accuracy(ctx, tr("validation accuracy, 100 hidden, lambda=5.0, eta=0.1, {epochs} epochs").format(
                    epochs=wide_epochs), BOOK_WIDE_VALIDATION, wide.final("validation_accuracy"), dataset,
                    full_train, note=scaled)

    fig, ax = plt.subplots(figsize=(6, 4))
    axis = range(1, small_epochs + 1)
    ax.plot(axis, [100 * a for a in plain.test_accuracy], label=tr("no regularisation"))
    ax.plot(axis, [100 * a for a in l2.test_accuracy], label=tr("L2, lambda=0.1"))
    ax.set(xlabel=tr("epoch"), ylabel=tr("test accuracy (%)"),
           title=tr("{images:,} training images ({data})").format(images=small, data=dataset.name))
    ax.legend()
    ctx.plot("l2_test_accuracy", fig)
    plt.close(fig)


def _weight_norm(model) -> float:
    """sqrt(sum w^2) over every layer's weights (the quantity L2 penalises)."""
    return float(np.sqrt(sum(float((layer.weight.detach() ** 2).sum()) for layer in model.layers)))
