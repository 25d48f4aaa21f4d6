"""Chapter 22: L1 regularisation, and how it differs from L2.

L1 adds (lambda/n) sum_w |w| to the cost, so each step moves every weight towards zero by the
constant amount eta lambda / n (w -> w - (eta lambda/n) sgn(w) - eta dC0/dw), while L2 shrinks
it in proportion to its size (w -> (1 - eta lambda/n) w - eta dC0/dw). The book's conclusion:
L1 concentrates the network's weight in a few important connections and drives the rest to
zero; L2 keeps many small weights.

Pixels that are blank in every training image show the two rules in isolation: their weights
get no gradient from the data (dC0/dw = delta * x = 0), so after S steps L2 leaves exactly
w0 (1 - eta lambda/n)^S and L1 leaves max(|w0| - S eta lambda/n, 0) (give or take one step).
The run: [784, 30, 10], cross-entropy, eta = 0.5, the first 1,000 training images; lambda 0.1
for 400 epochs as in chapter 20 (quick mode: lambda 0.667 for 60 epochs, the same total shrink).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from lab.i18n import N_, decimal, tr
from supervised.demos import Setting, register
from supervised.demos._training import describe, fit, mlp, percent, setting

#: How each run is named in the output, by its penalty.
RUN_NAMES = {"none": N_("none regularisation"), "l2": N_("l2 regularisation"), "l1": N_("l1 regularisation")}


@register("ch22", "Regularização L1", "L1 regularisation",
          settings=(Setting("train_size", 1_000, low=100),
                    Setting("epochs", 400, 60, low=1),
                    Setting("lambda", None, kind=float, low=0.0)))
def demo(ctx) -> None:
    dataset = ctx.dataset()
    pixels = dataset.input_size
    n_train = setting(ctx, "train_size")
    epochs = setting(ctx, "epochs")
    lam = setting(ctx, "lambda")
    lam = 0.1 * 400 / epochs if lam is None else lam  # the book's 0.1 at 400 epochs, scaled to keep the total shrinkage
    eta, batch = 0.5, 10
    images = dataset.train[0][:n_train]
    n = len(images)
    steps = epochs * -(-n // batch)
    blank = images.max(axis=0) == 0  # pixels that are zero in every training image used
    data = describe(dataset, n_train, tr("{epochs} epochs, lambda={lam:.3g}").format(epochs=epochs, lam=lam))

    models, histories = {}, {}
    for name, penalty in (("none", {}), ("l2", {"l2": lam}), ("l1", {"l1": lam})):
        ctx.say(tr("[{pixels}, 30, 10], {run}, {images:,} images, {epochs} epochs").format(
            pixels=pixels, run=tr(RUN_NAMES[name]), images=n, epochs=epochs))
        models[name] = mlp(ctx, [pixels, 30, 10])
        initial = models[name].layers[0].weight.detach().cpu().numpy().copy()
        histories[name] = fit(ctx, models[name], dataset, f"penalty_{name}", cost="cross_entropy", lr=eta,
                              batch_size=batch, epochs=epochs, train_subset=n_train, **penalty)
    final = {name: model.layers[0].weight.detach().cpu().numpy() for name, model in models.items()}

    for name in ("none", "l2", "l1"):
        ctx.report(tr("test accuracy, {run}").format(run=tr(RUN_NAMES[name])),
                   tr("n/a (no figure in the book)"), decimal(f"{percent(histories[name].final('test_accuracy')):.2f}%"),
                   data=data, reason=tr("the book gives no accuracy for L1; measured for comparison only"))
    near_zero = {name: float(np.mean(np.abs(final[name]) < 0.01)) for name in final}
    sparse = near_zero["l1"] > near_zero["l2"]
    ctx.report(tr("first-layer weights with |w| < 0.01: L1 vs L2 (L1 is sparse)"), tr("L1 many, L2 few"),
               tr("{first:.1f}% vs {second:.1f}%").format(first=100 * near_zero["l1"], second=100 * near_zero["l2"]),
               data=data, matches=sparse, reason="" if sparse else tr("L1 left fewer weights near zero than L2 here"))
    used = ~blank
    medians = float(np.median(np.abs(final["l1"][:, used]))), float(np.median(np.abs(final["l2"][:, used])))
    ctx.report(tr("median |w| on pixels the images use: L1 vs L2"), tr("L1 keeps few large weights"),
               tr("{first:.4f} vs {second:.4f}").format(first=medians[0], second=medians[1]), data=data,
               matches=medians[0] < medians[1],
               reason="" if medians[0] < medians[1] else tr("the L1 median is not smaller here"))

    if blank.any():
        shrink = eta * lam / n
        w0 = initial[:, blank]  # every run starts from the same seed, so the same initial weights
        predicted_l2 = float(np.abs(w0 * (1 - shrink) ** steps).mean())
        measured_l2 = float(np.abs(final["l2"][:, blank]).mean())
        ctx.report(tr("L2: mean |w| from {pixels} always-blank pixels = |w0| (1 - eta lambda/n)^S").format(
                   pixels=int(blank.sum())),
                   round(predicted_l2, 5), round(measured_l2, 5), data=data,
                   matches=abs(predicted_l2 - measured_l2) <= 1e-3 * max(predicted_l2, 1e-6) + 1e-6,
                   reason=tr("the computed value disagrees with the book's"))
        predicted_l1 = float(np.maximum(np.abs(w0) - shrink * steps, 0).mean())
        measured_l1 = float(np.abs(final["l1"][:, blank]).mean())
        ctx.report(tr("L1: the same weights = max(|w0| - S eta lambda/n, 0) (within one step)"),
                   round(predicted_l1, 5), round(measured_l1, 5), data=data,
                   matches=abs(predicted_l1 - measured_l1) <= shrink + 1e-6,
                   reason=tr("the computed value disagrees with the book's"))

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    bins = np.linspace(-1.5, 1.5, 121)
    for name, colour in (("l2", "tab:blue"), ("l1", "tab:red")):
        axes[0].hist(final[name].ravel(), bins=bins, alpha=0.6, color=colour, label=name.upper())
        axes[1].plot([100 * a for a in histories[name].test_accuracy], color=colour, label=name.upper())
    axes[1].plot([100 * a for a in histories["none"].test_accuracy], color="grey", label=tr("none"))
    axes[0].set(xlabel=tr("first-layer weight"), ylabel=tr("count"), yscale="log", title=tr("weights after training"))
    axes[1].set(xlabel=tr("epoch"), ylabel=tr("test accuracy (%)"),
                title=tr("{images:,} training images ({data})").format(images=n, data=dataset.name))
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    ctx.plot("l1_vs_l2", fig)
    plt.close(fig)
