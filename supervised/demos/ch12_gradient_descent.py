"""Chapter 12 (Aprendizado Com a Descida do Gradiente): a ball rolling down a valley.

The chapter's argument: moving v by a small Delta v changes the cost by
Delta C ~ grad C . Delta v, so choosing Delta v = -eta grad C makes
Delta C ~ -eta ||grad C||^2 <= 0 and the cost keeps falling. Here the valley is the bowl
C(v1, v2) = (v1 - 1)^2 + 3 (v2 + 0.5)^2, whose minimum (1, -0.5) with C = 0 we know exactly,
so the end of the path can be checked against it. The bowl's curvatures are 2 and 6, so steps
with eta above 2/6 overshoot further each time and diverge: the chapter's warning that eta must
be small enough for the first-order approximation to hold.
"""

from __future__ import annotations

import numpy as np
import torch

from lab.i18n import N_, tr
from supervised.demos import register

MINIMUM = np.array([1.0, -0.5])
CURVATURES = np.array([2.0, 6.0])  # eigenvalues of the bowl's Hessian
START = np.array([-1.5, 1.5])
#: Why a figure of this chapter would be judged differs: each compares a computed value with the book's.
DISAGREES = N_("the computed value disagrees with the book's")


def bowl_cost(v) -> float | torch.Tensor:
    """C(v1, v2) = (v1 - 1)^2 + 3 (v2 + 0.5)^2 for a numpy array or a torch tensor."""
    return (v[0] - MINIMUM[0]) ** 2 + 3 * (v[1] - MINIMUM[1]) ** 2


def bowl_gradient(v: np.ndarray) -> np.ndarray:
    """grad C, from autograd (the chapter's partial derivatives, computed for us)."""
    point = torch.tensor(v, dtype=torch.float64, requires_grad=True)
    bowl_cost(point).backward()
    return point.grad.numpy()


def gradient_descent(start=START, lr: float = 0.1, steps: int = 50) -> np.ndarray:
    """v <- v - eta grad C, `steps` times; returns the path, shape (steps + 1, 2)."""
    path = [np.asarray(start, dtype=float)]
    for _ in range(steps):
        path.append(path[-1] - lr * bowl_gradient(path[-1]))
    return np.array(path)


def first_step_change(start=START, lr: float = 0.01) -> tuple[float, float]:
    """(actual Delta C of one step, the chapter's estimate -eta ||grad C||^2)."""
    gradient = bowl_gradient(np.asarray(start, dtype=float))
    after = np.asarray(start) - lr * gradient
    return float(bowl_cost(after) - bowl_cost(np.asarray(start))), float(-lr * gradient @ gradient)


@register("ch12", "Aprendizado Com a Descida do Gradiente", "Learning with gradient descent")
def demo(ctx) -> None:
    lr, steps = 0.1, 50
    path = gradient_descent(lr=lr, steps=steps)
    end, end_cost = path[-1], float(bowl_cost(path[-1]))
    for step, point in enumerate(path):
        ctx.logger.scalars(step, {"descent/cost": float(bowl_cost(point)), "descent/v1": float(point[0]),
                                  "descent/v2": float(point[1])})
    ctx.table("descent_path", [tr("step"), "v1", "v2", "C"],
              [[step, float(p[0]), float(p[1]), float(bowl_cost(p))] for step, p in enumerate(path)
               if step % 5 == 0 or step == len(path) - 1])
    ctx.report(tr("end point after {steps} steps of eta={eta:g} from ({v1:g}, {v2:g})").format(
                   steps=steps, eta=lr, v1=START[0], v2=START[1]),
               tr("minimum ({v1:g}, {v2:g})").format(v1=MINIMUM[0], v2=MINIMUM[1]),
               tr("({v1:.5f}, {v2:.5f})").format(v1=end[0], v2=end[1]),
               matches=bool(np.allclose(end, MINIMUM, atol=5e-4)), reason=tr(DISAGREES))
    ctx.report(tr("cost at the end point"), tr("C = 0 at the minimum"), end_cost, matches=end_cost < 1e-6,
               reason=tr(DISAGREES))
    falls = bool(np.all(np.diff([bowl_cost(v) for v in path]) < 0))
    ctx.report(tr("cost along the path"), tr("falls at every step"),
               tr("falls at every step") if falls else tr("rises somewhere"), matches=falls, reason=tr(DISAGREES))
    actual, estimate = first_step_change()
    ctx.report(tr("one step of eta={eta:g}: Delta C").format(eta=0.01),
               tr("~ -eta ||grad C||^2 = {estimate:.4f}").format(estimate=estimate), round(actual, 4),
               matches=abs(actual - estimate) <= 0.05 * abs(estimate), reason=tr(DISAGREES))
    limit = 2 / CURVATURES.max()
    too_big = gradient_descent(lr=1.05 * limit, steps=steps)
    diverged = bool(bowl_cost(too_big[-1]) > bowl_cost(too_big[0]))
    ctx.report(tr("eta = {eta:.3f} (above 2/6 = {limit:.3f})").format(eta=1.05 * limit, limit=limit),
               tr("too large a step: no descent"),
               tr("cost {start:.3g} -> {end:.3g}").format(start=bowl_cost(too_big[0]), end=bowl_cost(too_big[-1])),
               matches=diverged, reason=tr(DISAGREES))
    ctx.plot("gradient_descent_path", _figure(path, too_big, lr, 1.05 * limit))


def _figure(path: np.ndarray, too_big: np.ndarray, lr: float, big_lr: float):
    from lab.plots import new_figure

    fig, (ax_path, ax_cost) = new_figure(1, 2, figsize=(11, 4.5))
    v1, v2 = np.meshgrid(np.linspace(-2, 3, 201), np.linspace(-2.5, 2, 181))
    ax_path.contour(v1, v2, bowl_cost((v1, v2)), levels=np.geomspace(0.01, 40, 14), cmap="viridis")
    small_label, big_label = tr("eta = {eta:g}").format(eta=lr), tr("eta = {eta:.3f}").format(eta=big_lr)
    ax_path.plot(path[:, 0], path[:, 1], "o-", ms=3, color="tab:red", label=small_label)
    ax_path.plot(too_big[:6, 0], too_big[:6, 1], "x--", ms=4, color="tab:gray", label=big_label)
    ax_path.plot(*MINIMUM, "k*", ms=12, label=tr("minimum"))
    ax_path.set_xlim(-2, 3)
    ax_path.set_ylim(-2.5, 2)
    ax_path.set_xlabel("v1")
    ax_path.set_ylabel("v2")
    ax_path.set_title(tr("C(v) = (v1 - 1)^2 + 3 (v2 + 0.5)^2"))
    ax_path.legend(fontsize=8)
    ax_cost.semilogy([bowl_cost(v) for v in path], color="tab:red", label=small_label)
    ax_cost.semilogy([bowl_cost(v) for v in too_big], color="tab:gray", label=big_label)
    ax_cost.set_xlabel(tr("step"))
    ax_cost.set_ylabel(tr("cost C (log scale)"))
    ax_cost.legend(fontsize=8)
    ax_cost.grid(True, alpha=0.3)
    return fig
