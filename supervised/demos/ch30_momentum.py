"""Chapter 30: variations on stochastic gradient descent - Hessian optimisation and momentum.

Hessian methods use second derivatives to step straight to a minimum, but the Hessian of a
network with 10^7 weights has 10^14 entries. Momentum gets part of the benefit cheaply: each
weight gets a velocity, v -> mu v - eta grad C and w -> w + v. The gradient acts as a force
that changes the velocity rather than the position, so steps build up along directions where
the gradient keeps its sign, and 1 - mu acts as friction (mu = 0 is plain gradient descent, mu
= 1 no friction at all).

The run: [784, 30, 10], cross-entropy, mini-batch 10, eta = 0.05: plain SGD against momentum
mu = 0.9, and momentum with mu = 0 to confirm it is exactly plain SGD.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from lab.i18n import decimal, tr
from supervised.demos import Setting, register
from supervised.demos._training import describe, fit, mlp, percent, setting


@register("ch30", "Variações do Stochastic Gradient Descent – Hessian Optimization e Momentum",
          "Variations on SGD: Hessian optimisation and momentum",
          settings=(Setting("train_size", None, 3_000, kind=int, low=100),
                    Setting("epochs", 30, 8, low=1),
                    Setting("eta", 0.05, above=0.0),
                    # 0 is refused: mu = 0 is the check run below, it would be compared with itself
                    Setting("momentum", 0.9, above=0.0, below=1.0)))
def demo(ctx) -> None:
    dataset = ctx.dataset()
    pixels = dataset.input_size
    n_train = setting(ctx, "train_size")
    epochs = setting(ctx, "epochs")
    eta = setting(ctx, "eta")
    mu = setting(ctx, "momentum")
    data = describe(dataset, n_train, tr("eta={eta:g}, {epochs} epochs").format(eta=eta, epochs=epochs))

    runs = {"plain SGD": ("sgd", 0.0), f"momentum mu={mu:g}": ("momentum", mu), "momentum mu=0": ("momentum", 0.0)}
    # How each run (keyed by its name in the logs) is shown.
    shown = {"plain SGD": tr("plain SGD"), f"momentum mu={mu:g}": tr("momentum mu={mu:g}").format(mu=mu),
             "momentum mu=0": tr("momentum mu={mu:g}").format(mu=0)}
    histories, models = {}, {}
    for label, (optimizer, coefficient) in runs.items():
        ctx.say(tr("[{pixels}, 30, 10], {run}, eta={eta:g}, {epochs} epochs").format(
            pixels=pixels, run=shown[label], eta=eta, epochs=epochs))
        models[label] = mlp(ctx, [pixels, 30, 10], init="scaled")
        histories[label] = fit(ctx, models[label], dataset, label.replace(" ", "_").replace("=", ""),
                               cost="cross_entropy", optimizer=optimizer, momentum=coefficient, lr=eta,
                               epochs=epochs, train_subset=n_train)

    plain, fast = histories["plain SGD"], histories[f"momentum mu={mu:g}"]
    faster = fast.train_cost[0] < plain.train_cost[0]
    ctx.report(tr("training cost after epoch 1: plain SGD vs momentum"), tr("momentum learns faster"),
               tr("{first:.4f} vs {second:.4f}").format(first=plain.train_cost[0], second=fast.train_cost[0]),
               data=data, matches=faster, reason="" if faster else tr("momentum's cost is not lower after epoch 1 here"))
    ctx.report(tr("validation accuracy after epoch 1 / {epochs}: plain SGD vs momentum").format(epochs=epochs),
               tr("momentum learns faster"),
               decimal(f"{percent(plain.validation_accuracy[0]):.2f}% / {percent(plain.final('validation_accuracy')):.2f}%"
                       f" vs {percent(fast.validation_accuracy[0]):.2f}% / "
                       f"{percent(fast.final('validation_accuracy')):.2f}%"),
               data=data, matches=fast.validation_accuracy[0] > plain.validation_accuracy[0],
               reason=tr("momentum is not ahead after epoch 1 here"))
    # Equal up to float32 rounding: eta*g is rounded once more when it passes through v.
    difference = max(float((a - b).detach().abs().max()) for a, b in zip(models["plain SGD"].parameters(),
                                                                  models["momentum mu=0"].parameters()))
    same = difference < 1e-3
    ctx.report(tr("momentum with mu = 0 reproduces plain SGD (largest weight difference)"),
               tr("yes (mu = 0: no memory of past steps)"),
               (tr("yes: largest difference {difference}") if same else tr("no: largest difference {difference}"))
               .format(difference=decimal(f"{difference:.1e}")),
               data=tr("float32 rounding"), matches=same, reason=tr("the runs differ beyond float32 rounding"))

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for label in ("plain SGD", f"momentum mu={mu:g}"):
        axis = range(1, histories[label].epochs + 1)
        axes[0].plot(axis, histories[label].train_cost, marker=".", label=shown[label])
        axes[1].plot(axis, [100 * a for a in histories[label].validation_accuracy], marker=".", label=shown[label])
    axes[0].set(xlabel=tr("epoch"), ylabel=tr("training cost"), title=tr("eta = {eta:g} ({data})").format(
        eta=eta, data=dataset.name))
    axes[1].set(xlabel=tr("epoch"), ylabel=tr("validation accuracy (%)"))
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    ctx.plot("momentum", fig)
    plt.close(fig)
