"""Chapter 25 (Inicialização de Pesos em Redes Neurais Artificiais): why N(0, 1) weights saturate.

The chapter's thought experiment: a neuron with n_in = 1,000 inputs, half of them 1 and half 0,
weights and bias drawn from N(0, 1). Its weighted input z = sum_j w_j x_j + b is a sum of 501
independent N(0, 1) terms, so z ~ N(0, 501) with standard deviation sqrt(501) = 22.4: |z| is
usually huge, sigma(z) sits at 0 or 1, and the neuron learns very slowly. Drawing the weights
from N(0, 1/sqrt(n_in)) instead (standard deviation 1/sqrt(n_in), variance 1/n_in) gives
var z = 500/1000 + 1 = 3/2, a standard deviation of sqrt(3/2) = 1.22, and neurons that can learn.

On MNIST with [784, 30, 10], cross-entropy, eta = 0.1, lambda = 5.0, mini-batch 10, the book
sees under 87% validation accuracy after the first epoch with N(0, 1) weights against almost
93% with the scaled ones, and both just over 96% after 30 epochs. That part depends on the data
and reports which data it used.
"""

from __future__ import annotations

import math

import numpy as np
import torch

import nets
from lab.i18n import N_, decimal, tr
from supervised.demos import Setting, register
from supervised.demos._training import setting

N_INPUTS, N_ACTIVE = 1000, 500
BOOK_STD = {"normal": 22.4, "scaled": 1.22}  # ch025.md:25, :58
#: How each initialisation is named in the output.
INIT_NAMES = {"normal": N_("normal init"), "scaled": N_("scaled init")}
QUICK_TRAIN_IMAGES = 5_000  # --quick trains on at most this many images
#: A sampled std further than this many standard errors from the exact one is reported as differing
#: (a false alarm about 3 times in 1,000).
SAMPLED_STD_ERRORS = 3


def z_std_exact(n_inputs: int = N_INPUTS, n_active: int = N_ACTIVE, scaled: bool = False) -> float:
    """Standard deviation of z = sum_j w_j x_j + b with `n_active` inputs equal to 1, the rest 0,
    b ~ N(0, 1) and w_j ~ N(0, 1) or, when scaled, N(0, 1/sqrt(n_inputs))."""
    weight_variance = 1.0 / n_inputs if scaled else 1.0
    return math.sqrt(n_active * weight_variance + 1.0)


def sample_z(samples: int, rng: np.random.Generator, n_inputs: int = N_INPUTS, n_active: int = N_ACTIVE,
             scaled: bool = False) -> np.ndarray:
    """`samples` draws of z for fresh weights and bias each time (the inputs stay fixed)."""
    x = np.zeros(n_inputs)
    x[:n_active] = 1.0
    weight_std = 1.0 / math.sqrt(n_inputs) if scaled else 1.0
    weights = rng.normal(0.0, weight_std, size=(samples, n_inputs))
    bias = rng.normal(0.0, 1.0, size=samples)
    return weights @ x + bias


def saturated_fraction(z: np.ndarray, slope: float = 0.01) -> float:
    """Share of neurons whose sigma'(z) is below `slope` (about |z| > 4.6): learning barely moves them."""
    s = 1.0 / (1.0 + np.exp(-z))
    return float(np.mean(s * (1 - s) < slope))


@register("ch25", "Inicialização de Pesos em Redes Neurais Artificiais", "Weight initialisation",
          settings=(Setting("epochs", 30, 5, low=1),))
def demo(ctx) -> None:
    samples = 2_000 if ctx.quick else 20_000
    draws = {}
    for init, scaled in (("normal", False), ("scaled", True)):
        exact = z_std_exact(scaled=scaled)
        formula = "sqrt(501)" if not scaled else "sqrt(3/2)"
        init_name = tr(INIT_NAMES[init])
        ctx.report(tr("std of z, {init}, exact {formula}").format(init=init_name, formula=formula), BOOK_STD[init],
                   round(exact, 4), matches=round(exact, 2 if scaled else 1) == BOOK_STD[init],
                   reason=tr("the formula disagrees"))
        z = sample_z(samples, ctx.rng, scaled=scaled)
        draws[init] = z
        # The sample std has a standard error of about std / sqrt(2 n).
        tolerance = SAMPLED_STD_ERRORS * exact / math.sqrt(2 * samples)
        ctx.report(tr("std of z, {init}, sampled").format(init=init_name), BOOK_STD[init], round(float(z.std()), 3),
                   data=tr("{samples:,} draws of the 1,001 weights and bias (seed {seed})").format(
                       samples=samples, seed=ctx.seed),
                   matches=bool(abs(z.std() - exact) < tolerance),
                   reason=tr("sampling error beyond {count} standard errors").format(count=SAMPLED_STD_ERRORS))
        ctx.report(tr("neurons saturated (sigma'(z) < 0.01), {init}").format(init=init_name),
                   tr("most") if not scaled else tr("few"), decimal(f"{saturated_fraction(z):.1%}"),
                   data=tr("{samples:,} draws").format(samples=samples),
                   matches=(saturated_fraction(z) > 0.5) != scaled,
                   reason=tr("the saturated share is on the other side of one half"))
    ctx.plot("z_histograms", _histograms(draws))

    histories = _train_both(ctx)
    _report_training(ctx, histories)
    ctx.plot("accuracy_by_initialisation", _accuracy_figure(histories))


def _train_both(ctx) -> dict:
    from supervised.trainer import train

    dataset = ctx.dataset()
    epochs = setting(ctx, "epochs")
    histories = {}
    for init in ("normal", "scaled"):
        torch.manual_seed(ctx.seed)
        model = nets.build("mlp", sizes=[dataset.input_size, 30, dataset.num_classes], activation="sigmoid",
                           init=init)
        histories[init] = train(model, dataset, cost="cross_entropy", lr=0.1, batch_size=10, epochs=epochs,
                                l2=5.0, train_subset=_train_images(ctx, dataset), seed=ctx.seed,
                                device=ctx.device, logger=ctx.logger, log_prefix=f"{init}_init/",
                                quiet=ctx.quiet, eval_sets=("validation",), desc=tr(INIT_NAMES[init]))
    histories["dataset"], histories["epochs"] = dataset, epochs
    return histories


def _report_training(ctx, histories: dict) -> None:
    dataset, epochs = histories["dataset"], histories["epochs"]
    train_size, validation_size = _train_images(ctx, dataset), dataset.sizes[1]
    data = tr("{data}, {train:,} training / {validation:,} validation images, {epochs} epochs").format(
        data=dataset.name, train=train_size, validation=validation_size, epochs=epochs)
    comparable = dataset.name == "mnist" and train_size == 50_000 and epochs == 30
    # 30 epochs (ch020.md:181); ch025.md:76 keeps that setup (lambda = 5.0)
    why = "" if comparable else tr("{why}; {epochs} epochs, the book: 30").format(why=ctx.other_data(dataset),
                                                                                  epochs=epochs)
    outside = tr("outside the book's figure")
    normal, scaled = histories["normal"].validation_accuracy, histories["scaled"].validation_accuracy
    ctx.report(tr("validation accuracy after epoch 1, N(0, 1) weights"), tr("under 87%"), decimal(f"{normal[0]:.2%}"),
               data=data, matches=(normal[0] < 0.87) if comparable else None, reason=why or outside)
    ctx.report(tr("validation accuracy after epoch 1, N(0, 1/sqrt(n_in)) weights"), tr("almost 93%"),
               decimal(f"{scaled[0]:.2%}"), data=data, matches=(0.92 <= scaled[0] <= 0.94) if comparable else None,
               reason=why or outside)
    ctx.report(tr("epoch 1: scaled init ahead of N(0, 1) by"), tr("about 6 points"),
               tr("{points:.1f} points").format(points=(scaled[0] - normal[0]) * 100), data=data,
               matches=(scaled[0] > normal[0]) if comparable else None, reason=why or outside)
    ctx.report(tr("validation accuracy after {epochs} epochs, N(0, 1) | scaled").format(epochs=epochs),
               tr("just over 96% | just over 96%"), decimal(f"{normal[-1]:.2%} | {scaled[-1]:.2%}"), data=data,
               matches=all(0.96 <= a <= 0.97 for a in (normal[-1], scaled[-1])) if comparable else None,
               reason=why or outside)


def _train_images(ctx, dataset) -> int:
    """Training images used: all of them, or at most QUICK_TRAIN_IMAGES with --quick."""
    return min(dataset.sizes[0], QUICK_TRAIN_IMAGES) if ctx.quick else dataset.sizes[0]


def _histograms(draws: dict[str, np.ndarray]):
    from lab.plots import new_figure

    fig, axes = new_figure(1, 2, figsize=(11, 4))
    for ax, (init, z) in zip(axes, draws.items()):
        exact = z_std_exact(scaled=init == "scaled")
        ax.hist(z, bins=60, density=True, alpha=0.7)
        grid = np.linspace(-4 * exact, 4 * exact, 400)
        ax.plot(grid, np.exp(-grid**2 / (2 * exact**2)) / (exact * math.sqrt(2 * math.pi)), "k-", lw=1)
        ax.set_title(tr("{init}: z ~ N(0, {variance:g}), std {std:.2f}").format(
            init=tr(INIT_NAMES[init]), variance=exact**2, std=exact))
        ax.set_xlabel(tr("z = sum_j w_j x_j + b  (500 of 1,000 inputs on)"))
    return fig


def _accuracy_figure(histories: dict):
    from lab.plots import new_figure

    fig, ax = new_figure(figsize=(7, 4))
    for init, label in (("normal", tr("N(0, 1) weights")), ("scaled", tr("N(0, 1/sqrt(n_in)) weights"))):
        accuracy = histories[init].validation_accuracy
        ax.plot(range(1, len(accuracy) + 1), np.array(accuracy) * 100, "o-", ms=3, label=label)
    ax.set_xlabel(tr("epoch"))
    ax.set_ylabel(tr("validation accuracy (%)"))
    ax.set_title(tr("[784, 30, 10], cross-entropy, eta 0.1, lambda 5 ({data})").format(data=histories["dataset"].name))
    ax.grid(True, alpha=0.3)
    ax.legend()
    return fig
