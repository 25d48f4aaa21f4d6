"""Chapters 31-32 (Redes neurais podem computar qualquer função? / Como a rede encontra a aproximação).

The visual proof of universality, built by hand - no training:

1. a step: a sigmoid neuron sigma(w (x - s)) with a big weight, w = 999, is 0 left of s and
   1 right of it (weight w and bias b = -w s put the step at s = -b/w);
2. a bump: two step neurons at s1 < s2 with output weights +h and -h give h on [s1, s2] and 0
   elsewhere;
3. N bumps side by side, each as high as the target function in the middle of its interval,
   make a staircase that follows any continuous function, closer and closer as N grows.

The target is the chapter's f(x) = 0.2 + 0.4 x^2 + 0.3 x sin(15 x) + 0.05 cos(50 x) on [0, 1].
With a plain weighted sum as output the staircase approximates f itself; with a sigmoid output
neuron, as in the book, the bumps approximate sigma^{-1}(f) and the output neuron undoes it.
Near each step the sigmoid takes about 10/w to rise, so N must stay well below w/10; for finer
staircases raise w too, as the chapter says.
"""

from __future__ import annotations

import itertools

import numpy as np

from lab.i18n import N_, listed, tr
from supervised.demos import register

STEP_WEIGHT = 999.0
BOOK_N_VALUES = (5, 10, 20, 50)
#: Why a figure of this chapter would be judged differs: each compares a computed value with the book's.
DISAGREES = N_("the computed value disagrees with the book's")


def target(x: np.ndarray) -> np.ndarray:
    """The chapter's function f(x) = 0.2 + 0.4 x^2 + 0.3 x sin(15 x) + 0.05 cos(50 x)."""
    return 0.2 + 0.4 * x**2 + 0.3 * x * np.sin(15 * x) + 0.05 * np.cos(50 * x)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # the same function, without exp overflow at w = 999


def step_neuron(x: np.ndarray, position: float, weight: float = STEP_WEIGHT) -> np.ndarray:
    """sigma(w x + b) with b = -w s: close to a step from 0 to 1 at x = s."""
    return sigmoid(weight * x - weight * position)


def bump(x: np.ndarray, start: float, stop: float, height: float, weight: float = STEP_WEIGHT) -> np.ndarray:
    """Two step neurons with output weights +h and -h: h on [start, stop], 0 elsewhere."""
    return height * (step_neuron(x, start, weight) - step_neuron(x, stop, weight))


def staircase(x: np.ndarray, n_bumps: int, function=target, weight: float = STEP_WEIGHT,
              sigmoid_output: bool = False) -> np.ndarray:
    """Output of a one-hidden-layer network with 2 N step neurons approximating `function` on [0, 1].

    Bump i covers [i/N, (i+1)/N] with height f(middle); with `sigmoid_output` the heights are
    sigma^{-1}(f(middle)) and the output neuron applies sigma.
    """
    edges = np.linspace(0.0, 1.0, n_bumps + 1)
    middles = (edges[:-1] + edges[1:]) / 2
    heights = function(middles)
    if sigmoid_output:
        heights = np.log(heights / (1 - heights))
    total = sum(bump(x, a, b, h, weight) for a, b, h in zip(edges[:-1], edges[1:], heights))
    return sigmoid(total) if sigmoid_output else total


def approximation_errors(n_values=BOOK_N_VALUES, points: int = 4001, sigmoid_output: bool = False
                         ) -> dict[int, tuple[float, float]]:
    """N -> (max |error|, mean |error|) on an evenly spaced grid over [0.01, 0.99].

    The ends are left out because the first and last steps sit at x = 0 and x = 1, where the
    network gives half the bump by construction.
    """
    x = np.linspace(0.01, 0.99, points)
    errors = {}
    for n in n_values:
        error = np.abs(staircase(x, n, sigmoid_output=sigmoid_output) - target(x))
        errors[n] = (float(error.max()), float(error.mean()))
    return errors


@register("ch32", "As Redes Neurais Podem Computar Qualquer Função? / Como Encontram a Aproximação",
          "Universality: a neural network can compute any function (chapters 31-32)",
          covers=("ch31",))
def demo(ctx) -> None:
    position = 0.4
    bias = -STEP_WEIGHT * position
    x = np.array([position - 0.01, position + 0.01])
    values = step_neuron(x, position)
    ctx.report(tr("step position s = -b/w for w = 999, b = {bias:g}").format(bias=bias), 0.4,
               round(-bias / STEP_WEIGHT, 4), matches=abs(-bias / STEP_WEIGHT - 0.4) < 1e-12, reason=tr(DISAGREES))
    ctx.report(tr("step neuron at s - 0.01 | s + 0.01"), "0 | 1",
               tr("{left:.5f} | {right:.5f}").format(left=values[0], right=values[1]),
               matches=bool(values[0] < 1e-4 and values[1] > 1 - 1e-4), reason=tr(DISAGREES))
    height = 0.8
    inside, outside = bump(np.array([0.5, 0.2]), 0.4, 0.6, height)
    ctx.report(tr("bump of height h = {height:g} on [0.4, 0.6]: value inside | outside").format(height=height),
               tr("{height:g} | 0").format(height=height),
               tr("{left:.5f} | {right:.5f}").format(left=inside, right=outside),
               matches=bool(abs(inside - height) < 1e-4 and abs(outside) < 1e-4), reason=tr(DISAGREES))

    for sigmoid_output in (False, True):
        errors = approximation_errors(sigmoid_output=sigmoid_output)
        output = tr("sigmoid output (bumps fit sigma^-1 of f)") if sigmoid_output else tr("linear output")
        maxima = [errors[n][0] for n in BOOK_N_VALUES]
        ctx.report(tr("max |network - f| for N = {values} bumps, {output}").format(
                       values=", ".join(map(str, BOOK_N_VALUES)), output=output),
                   tr("falls as N grows"), listed(tr("{error:.3f}").format(error=m) for m in maxima),
                   matches=all(a > b for a, b in itertools.pairwise(maxima)), reason=tr(DISAGREES))
        means = [errors[n][1] for n in BOOK_N_VALUES]
        ctx.table(f"approximation_errors_{'sigmoid' if sigmoid_output else 'linear'}_output",
                  [tr("bumps N"), tr("max |network - f|"), tr("mean |network - f|")],
                  [[n, errors[n][0], errors[n][1]] for n in BOOK_N_VALUES])
        for n in BOOK_N_VALUES:
            ctx.logger.scalars(n, {f"universality/{'sigmoid' if sigmoid_output else 'linear'}/max_error": errors[n][0],
                                   f"universality/{'sigmoid' if sigmoid_output else 'linear'}/mean_error": errors[n][1]})
        ctx.say(tr("  mean |error|, {output}: {errors}").format(output=output, errors=listed(
            tr("N={n}: {error:.4f}").format(n=n, error=m) for n, m in zip(BOOK_N_VALUES, means))))
    ctx.plot("universality", _figure())


def _figure():
    from lab.plots import new_figure

    fig, (ax_step, ax_fit) = new_figure(1, 2, figsize=(12, 4.5))
    x = np.linspace(0, 1, 2001)
    ax_step.plot(x, step_neuron(x, 0.4), label=tr("step: sigma(999 (x - 0.4))"))
    ax_step.plot(x, bump(x, 0.4, 0.6, 0.8), label=tr("bump: 0.8 [step(0.4) - step(0.6)]"))
    ax_step.set_title(tr("building blocks"))
    ax_step.legend(fontsize=8)
    ax_step.set_xlabel("x")
    ax_fit.plot(x, target(x), "k-", lw=2, label="f(x)")
    for n in (5, 20, 50):
        ax_fit.plot(x, staircase(x, n), lw=1, label=tr("N = {n} bumps").format(n=n))
    ax_fit.set_title(tr("f(x) = 0.2 + 0.4x^2 + 0.3x sin(15x) + 0.05 cos(50x)"))
    ax_fit.set_xlabel("x")
    ax_fit.legend(fontsize=8)
    return fig
