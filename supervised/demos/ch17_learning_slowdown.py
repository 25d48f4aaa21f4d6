"""Chapter 17 (Cross-Entropy Cost Function): why a badly wrong neuron learns slowly, and the fix.

One sigmoid neuron, input x = 1, desired output y = 0, trained by gradient descent:

* quadratic cost C = (y - a)^2 / 2, eta = 0.15. From w = 0.6, b = 0.9 the output starts at
  sigma(1.5) = 0.82 and falls to about 0.09 after 300 epochs. From w = b = 2 it starts at
  sigma(4) = 0.98 and hardly moves for about 150 epochs: dC/dw = (a - y) sigma'(z) x, and
  sigma'(4) = 0.018 is tiny when the neuron saturates, however wrong it is.
* cross-entropy C = -[y ln a + (1 - y) ln(1 - a)], eta = 0.005: dC/dw = x (a - y), no
  sigma'(z) factor, so the neuron learns fastest when it is most wrong and there is no plateau
  from either start.

`train_neuron` runs one of the four experiments with the gradients written out by hand;
`autograd_gradient` checks those formulas.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lab.i18n import N_, tr
from supervised.demos import register

X, Y = 1.0, 0.0
EPOCHS = 300
QUADRATIC_GOOD, QUADRATIC_BAD = N_("quadratic, w=0.6, b=0.9"), N_("quadratic, w=b=2")
CROSS_ENTROPY_GOOD, CROSS_ENTROPY_BAD = N_("cross-entropy, w=0.6, b=0.9"), N_("cross-entropy, w=b=2")
EXPERIMENTS = {  # label (English: also the TensorBoard tag) -> (cost, eta, w, b)
    QUADRATIC_GOOD: ("quadratic", 0.15, 0.6, 0.9),
    QUADRATIC_BAD: ("quadratic", 0.15, 2.0, 2.0),
    CROSS_ENTROPY_GOOD: ("cross_entropy", 0.005, 0.6, 0.9),
    CROSS_ENTROPY_BAD: ("cross_entropy", 0.005, 2.0, 2.0),
}
#: Why a figure of this chapter would be judged differs: each compares a computed value with the book's.
DISAGREES = N_("the computed value disagrees with the book's")


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def neuron_cost(cost: str, a: float, y: float = Y) -> float:
    if cost == "quadratic":
        return 0.5 * (y - a) ** 2
    return -(y * math.log(a) + (1 - y) * math.log(1 - a))


def gradients(cost: str, w: float, b: float, x: float = X, y: float = Y) -> tuple[float, float]:
    """(dC/dw, dC/db): quadratic (a - y) sigma'(z) x and (a - y) sigma'(z); cross-entropy x (a - y) and (a - y)."""
    a = sigmoid(w * x + b)
    delta = (a - y) * a * (1 - a) if cost == "quadratic" else (a - y)
    return delta * x, delta


def autograd_gradient(cost: str, w: float, b: float, x: float = X, y: float = Y) -> tuple[float, float]:
    tw = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    a = torch.sigmoid(tw * x + tb)
    c = 0.5 * (y - a) ** 2 if cost == "quadratic" else -(y * torch.log(a) + (1 - y) * torch.log(1 - a))
    gw, gb = torch.autograd.grad(c, (tw, tb))
    return float(gw), float(gb)


def train_neuron(cost: str, lr: float, w: float, b: float, epochs: int = EPOCHS
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Gradient descent on the single example; returns (outputs, costs) for epochs 0..epochs."""
    outputs, costs = [], []
    for epoch in range(epochs + 1):
        a = sigmoid(w * X + b)
        outputs.append(a)
        costs.append(neuron_cost(cost, a))
        if epoch < epochs:
            grad_w, grad_b = gradients(cost, w, b)
            w, b = w - lr * grad_w, b - lr * grad_b
    return np.array(outputs), np.array(costs)


def plateau_length(outputs: np.ndarray, drop: float = 0.1) -> int | None:
    """First epoch at which the output has fallen `drop` below its starting value (None if never)."""
    fallen = np.nonzero(outputs <= outputs[0] - drop)[0]
    return int(fallen[0]) if len(fallen) else None


@register("ch17", "Cross-Entropy Cost Function", "The cross-entropy cost function")
def demo(ctx) -> None:
    runs = {label: train_neuron(cost, lr, w, b) for label, (cost, lr, w, b) in EXPERIMENTS.items()}
    q_good, q_bad = runs[QUADRATIC_GOOD][0], runs[QUADRATIC_BAD][0]
    ce_good, ce_bad = runs[CROSS_ENTROPY_GOOD][0], runs[CROSS_ENTROPY_BAD][0]

    ctx.report(tr("initial output, w=0.6, b=0.9"), 0.82, round(float(q_good[0]), 4),
               matches=round(float(q_good[0]), 2) == 0.82, reason=tr(DISAGREES))
    ctx.report(tr("initial output, w=b=2"), 0.98, round(float(q_bad[0]), 4), matches=round(float(q_bad[0]), 2) == 0.98,
               reason=tr(DISAGREES))
    ctx.report(tr("quadratic, eta=0.15, from w=0.6, b=0.9: output after 300 epochs"), 0.09, round(float(q_good[-1]), 4),
               matches=round(float(q_good[-1]), 2) == 0.09, reason=tr(DISAGREES))
    plateau = plateau_length(q_bad)
    ctx.report(tr("quadratic, eta=0.15, from w=b=2: epochs before the output falls by 0.1"),
               tr("~150 (almost no learning)"), plateau, matches=plateau is not None and 120 <= plateau <= 200,
               reason=tr(DISAGREES))
    ctx.report(tr("quadratic, from w=b=2: output after 150 epochs"), tr("still near 0.98"), round(float(q_bad[150]), 3),
               matches=bool(q_bad[150] > 0.9), reason=tr(DISAGREES))
    for label, start_w, start_b in ((N_("w=0.6, b=0.9"), 0.6, 0.9), ("w=b=2", 2.0, 2.0)):
        by_hand = [gradients(cost, start_w, start_b)[0] for cost in ("quadratic", "cross_entropy")]
        by_autograd = [autograd_gradient(cost, start_w, start_b)[0] for cost in ("quadratic", "cross_entropy")]
        ctx.report(tr("initial dC/dw from {start}: quadratic | cross-entropy").format(start=tr(label)),
                   tr("(a-y) sigma'(z) | (a-y)"), tr("{quadratic:.3f} | {cross_entropy:.3f} (autograd agrees)").format(
                       quadratic=by_hand[0], cross_entropy=by_hand[1]),
                   matches=bool(np.allclose(by_hand, by_autograd, rtol=1e-12)),
                   reason=tr(DISAGREES))
    # How fast the neuron learns = how fast its weighted input z moves; compare the two starts.
    for cost, good, bad, label, book in (
            ("quadratic", q_good, q_bad, N_("quadratic: z falls in the first 10 epochs, from w=b=2 | from w=0.6, b=0.9"),
             N_("slower when more wrong")),
            ("cross_entropy", ce_good, ce_bad,
             N_("cross-entropy: z falls in the first 10 epochs, from w=b=2 | from w=0.6, b=0.9"),
             N_("faster when more wrong"))):
        from_bad, from_good = (_logit(o[0]) - _logit(o[10]) for o in (bad, good))
        ctx.report(tr(label), tr(book), tr("{from_bad:.4f} | {from_good:.4f}").format(from_bad=from_bad, from_good=from_good),
                   matches=(from_bad < from_good) if cost == "quadratic" else (from_bad > from_good),
                   reason=tr(DISAGREES))
    for epoch in range(EPOCHS + 1):
        ctx.logger.scalars(epoch, {f"ch17/output/{_tag(label)}": float(outputs[epoch])
                                   for label, (outputs, _) in runs.items()})
    ctx.plot("learning_slowdown", _figure(runs))


def _logit(a: float) -> float:
    return math.log(a / (1 - a))


def _tag(label: str) -> str:
    return label.replace(", ", "_").replace("=", "").replace(" ", "_")


def _figure(runs: dict[str, tuple[np.ndarray, np.ndarray]]):
    from lab.plots import new_figure

    fig, axes = new_figure(2, 2, figsize=(11, 7), sharex=True)
    for ax, (label, (outputs, costs)) in zip(axes.ravel(), runs.items()):
        ax.plot(costs, color="tab:red", label=tr("cost"))
        ax.plot(outputs, color="tab:blue", label=tr("output a"))
        ax.set_title(tr("{experiment}, eta={eta:g}").format(experiment=tr(label), eta=EXPERIMENTS[label][1]))
        ax.set_xlabel(tr("epoch"))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(tr("One neuron, x = 1, y = 0: the quadratic cost stalls when saturated, cross-entropy does not\n"
                    "(the learning rates differ, as in the book: compare the curves' shapes, not their speed)"))
    fig.tight_layout()
    return fig
