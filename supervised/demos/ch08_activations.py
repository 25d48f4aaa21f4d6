"""Chapter 8 (Função de Ativação): activation functions, their derivatives, and softmax.

The chapter walks through the step (the perceptron's), sigmoid, tanh, ReLU and leaky ReLU, and
ends with softmax, which turns scores into probabilities: softmax([1.2, 0.9, 0.75]) =
[0.42, 0.31, 0.27]. Each derivative is written out by hand below and checked against autograd;
the step's derivative is 0 wherever it exists, which is why gradient descent cannot train a
network of perceptrons and the smooth sigmoid replaced it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from nets.activations import LEAKY_RELU_SLOPE
from lab.i18n import N_, decimal, tr
from supervised.demos import register

BOOK_SCORES = (1.2, 0.9, 0.75)  # ch008.md:210
BOOK_SOFTMAX = (0.42, 0.31, 0.27)  # ch008.md:210


def _sigmoid(z: torch.Tensor) -> torch.Tensor:
    return 1.0 / (1.0 + torch.exp(-z))


#: name -> (function, derivative written by hand); both map a tensor of z to a tensor.
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "step": (lambda z: (z > 0).to(z.dtype), lambda z: torch.zeros_like(z)),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z))),
    "tanh": (torch.tanh, lambda z: 1 - torch.tanh(z) ** 2),
    "relu": (lambda z: torch.clamp(z, min=0), lambda z: (z > 0).to(z.dtype)),
    "leaky_relu": (lambda z: torch.where(z > 0, z, LEAKY_RELU_SLOPE * z),
                   lambda z: torch.where(z > 0, torch.ones_like(z), torch.full_like(z, LEAKY_RELU_SLOPE))),
}

#: name -> the derivative as the figure lines write it (leaky ReLU's takes its slope)
DERIVATIVE_FORMULAS = {
    "step": N_("0 (for z != 0)"),
    "sigmoid": "sigma(z) (1 - sigma(z))",
    "tanh": "1 - tanh(z)^2",
    "relu": N_("1 for z > 0, else 0"),
    "leaky_relu": N_("1 for z > 0, else {slope:g}"),
}
#: name -> how the plot legend and the tables name each activation ("step" alone would read as a
#: training step in Portuguese)
DISPLAY_NAMES = {"step": N_("step (perceptron)"), "sigmoid": N_("sigmoid"), "tanh": "tanh", "relu": "relu",
                 "leaky_relu": "leaky_relu"}
#: name -> the label of its derivative's figure line
DERIVATIVE_LABELS = {"step": N_("step derivative"), "sigmoid": N_("sigmoid derivative"),
                     "tanh": N_("tanh derivative"), "relu": N_("relu derivative"),
                     "leaky_relu": N_("leaky_relu derivative")}
#: Why a figure of this chapter would be judged differs: each compares a computed value with the book's.
DISAGREES = N_("the computed value disagrees with the book's")


def softmax(scores) -> np.ndarray:
    """exp(z_j) / sum_k exp(z_k), computed after subtracting the largest score (same value, no overflow)."""
    z = np.asarray(scores, dtype=float)
    e = np.exp(z - z.max())
    return e / e.sum()


def derivative_errors(points: int = 2001) -> dict[str, float]:
    """Largest |hand-written derivative - autograd derivative| over z in [-6, 6] (z = 0 skipped,
    where step, ReLU and leaky ReLU have a kink)."""
    z = torch.linspace(-6, 6, points, dtype=torch.float64)
    z = z[z != 0].requires_grad_(True)
    errors = {}
    for name, (function, derivative) in ACTIVATIONS.items():
        output = function(z)
        # The step is piecewise constant: autograd sees no path to z, i.e. a zero gradient.
        autograd = torch.autograd.grad(output.sum(), z)[0] if output.requires_grad else torch.zeros_like(z)
        errors[name] = float((autograd - derivative(z.detach())).abs().max())
    return errors


def softmax_jacobian_error(scores=BOOK_SCORES) -> float:
    """Largest |d softmax_i / d z_j - s_i (delta_ij - s_j)| against autograd's Jacobian."""
    z = torch.tensor(scores, dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=0), z)
    s = torch.softmax(z, dim=0)
    by_hand = torch.diag(s) - torch.outer(s, s)
    return float((jacobian - by_hand).abs().max())


@register("ch08", "Função de Ativação", "Activation functions")
def demo(ctx) -> None:
    probabilities = softmax(BOOK_SCORES)
    ctx.report(tr("softmax([1.2, 0.9, 0.75])"), BOOK_SOFTMAX, [round(float(p), 4) for p in probabilities],
               matches=tuple(round(float(p), 2) for p in probabilities) == BOOK_SOFTMAX, reason=tr(DISAGREES))
    ctx.report(tr("softmax outputs sum to"), 1.0, float(probabilities.sum()),
               matches=bool(abs(probabilities.sum() - 1) < 1e-12), reason=tr(DISAGREES))
    sigmoid_slope = float(ACTIVATIONS["sigmoid"][1](torch.tensor(0.0)))
    ctx.report(tr("largest slope of the sigmoid, sigma'(0)"), 0.25, sigmoid_slope, matches=sigmoid_slope == 0.25,
               reason=tr(DISAGREES))
    for name, error in derivative_errors().items():
        ctx.report(tr(DERIVATIVE_LABELS[name]),
                   tr(DERIVATIVE_FORMULAS[name]).format(slope=LEAKY_RELU_SLOPE),
                   tr("autograd agrees to {error:.1e}").format(error=error),
                   matches=error < 1e-12, reason=tr(DISAGREES))
    error = softmax_jacobian_error()
    ctx.report(tr("softmax derivative"), tr("d s_i/d z_j = s_i (delta_ij - s_j)"),
               tr("autograd agrees to {error:.1e}").format(error=error), matches=error < 1e-12, reason=tr(DISAGREES))
    grid = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0])
    ctx.table("activations", [tr("function"), *[f"z = {decimal(f'{z:g}')}" for z in grid.tolist()]],
              [[tr(DISPLAY_NAMES[name]), *[round(float(v), 4) for v in function(grid)]]
               for name, (function, _) in ACTIVATIONS.items()])
    ctx.table("softmax", [tr("score"), tr("probability")], [[z, float(p)] for z, p in zip(BOOK_SCORES, probabilities)])
    ctx.plot("activation_functions", _figure(probabilities))


def _figure(probabilities: np.ndarray):
    from lab.plots import new_figure

    fig, (ax_f, ax_d, ax_s) = new_figure(1, 3, figsize=(14, 4))
    z = torch.linspace(-4, 4, 801, dtype=torch.float64)
    for name, (function, derivative) in ACTIVATIONS.items():
        style = "--" if name == "leaky_relu" else "-"  # otherwise it hides ReLU for z > 0
        shown = tr(DISPLAY_NAMES[name])
        line, = ax_f.plot(z, function(z), style, label=shown)
        ax_d.plot(z, derivative(z), style, label=shown, color=line.get_color())
    ax_f.set_title(tr("activation a = f(z)"))
    ax_d.set_title(tr("derivative f'(z)"))
    for ax in (ax_f, ax_d):
        ax.set_xlabel("z")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    ax_f.set_ylim(-1.2, 2.0)
    ax_s.bar([decimal(str(s)) for s in BOOK_SCORES], probabilities, color="tab:purple")
    for x, p in enumerate(probabilities):
        ax_s.text(x, p + 0.01, decimal(f"{p:.2f}"), ha="center")
    ax_s.set_title(tr("softmax of the scores (1.2, 0.9, 0.75)"))
    ax_s.set_xlabel(tr("score z_j"))
    ax_s.set_ylabel(tr("probability"))
    return fig
