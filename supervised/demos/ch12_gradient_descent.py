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

from supervised.demos import register

MINIMUM = np.array([1.0, -0.5])
CURVATURES = np.array([2.0, 6.0])  # eigenvalues of the bowl's Hessian
START = np.array([-1.5, 1.5])


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
    ctx.table("descent_path", ["step", "v1", "v2", "C"],
              [[step, float(p[0]), float(p[1]), float(bowl_cost(p))] for step, p in enumerate(path)
               if step % 5 == 0 or step == len(path) - 1])
    ctx.report(f"end point after {steps} steps of eta={lr} from ({START[0]:g}, {START[1]:g})",
               "minimum (1, -0.5)", f"({end[0]:.5f}, {end[1]:.5f})",
               matches=bool(np.allclose(end, MINIMUM, atol=5e-4)),
               reason="the computed value disagrees with the book's")
    ctx.report("cost at the end point", "C = 0 at the minimum", end_cost, matches=end_cost < 1e-6,
               reason="the computed value disagrees with the book's")
    falls = bool(np.all(np.diff([bowl_cost(v) for v in path]) < 0))
    ctx.report("cost along the path", "falls at every step", "falls at every step" if falls else "rises somewhere",
               matches=falls, reason="the computed value disagrees with the book's")
    actual, estimate = first_step_change()
    ctx.report("one step of eta=0.01: Delta C", f"~ -eta ||grad C||^2 = {estimate:.4f}", round(actual, 4),
               matches=abs(actual - estimate) <= 0.05 * abs(estimate),
               reason="the computed value disagrees with the book's")
    limit = 2 / CURVATURES.max()
    too_big = gradient_descent(lr=1.05 * limit, steps=steps)
    diverged = bool(bowl_cost(too_big[-1]) > bowl_cost(too_big[0]))
    ctx.report(f"eta = {1.05 * limit:.3f} (above 2/6 = {limit:.3f})", "too large a step: no descent",
               f"cost {bowl_cost(too_big[0]):.3g} -> {bowl_cost(too_big[-1]):.3g}", matches=diverged,
               reason="the computed value disagrees with the book's")
    ctx.plot("gradient_descent_path", _figure(path, too_big, lr, 1.05 * limit))


def _figure(path: np.ndarray, too_big: np.ndarray, lr: float, big_lr: float):
    from lab.plots import new_figure

    fig, (ax_path, ax_cost) = new_figure(1, 2, figsize=(11, 4.5))
    v1, v2 = np.meshgrid(np.linspace(-2, 3, 201), np.linspace(-2.5, 2, 181))
    ax_path.contour(v1, v2, bowl_cost((v1, v2)), levels=np.geomspace(0.01, 40, 14), cmap="viridis")
    ax_path.plot(path[:, 0], path[:, 1], "o-", ms=3, color="tab:red", label=f"eta = {lr}")
    ax_path.plot(too_big[:6, 0], too_big[:6, 1], "x--", ms=4, color="tab:gray", label=f"eta = {big_lr:.3f}")
    ax_path.plot(*MINIMUM, "k*", ms=12, label="minimum")
    ax_path.set_xlim(-2, 3)
    ax_path.set_ylim(-2.5, 2)
    ax_path.set_xlabel("v1")
    ax_path.set_ylabel("v2")
    ax_path.set_title("C(v) = (v1 - 1)^2 + 3 (v2 + 0.5)^2")
    ax_path.legend(fontsize=8)
    ax_cost.semilogy([bowl_cost(v) for v in path], color="tab:red", label=f"eta = {lr}")
    ax_cost.semilogy([bowl_cost(v) for v in too_big], color="tab:gray", label=f"eta = {big_lr:.3f}")
    ax_cost.set_xlabel("step")
    ax_cost.set_ylabel("cost C (log scale)")
    ax_cost.legend(fontsize=8)
    ax_cost.grid(True, alpha=0.3)
    return fig
