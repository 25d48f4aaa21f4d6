"""Chapter 16 (Algoritmo Backpropagation em Python): backprop's four equations, checked.

`backprop` below is the chapter's algorithm in numpy for a sigmoid network with the quadratic
cost C = 1/2n sum_x ||a^L(x) - y(x)||^2, written with its four equations:

    BP1  delta^L = (a^L - y) * sigma'(z^L)
    BP2  delta^l = ((w^{l+1})^T delta^{l+1}) * sigma'(z^l)
    BP3  dC/db^l = delta^l
    BP4  dC/dw^l = delta^l (a^{l-1})^T

The chapter's argument for it: the obvious alternative, finite differences
dC/dw_j ~ (C(w + eps e_j) - C(w)) / eps, needs one extra forward pass per weight - 23,861
passes for the 23,860 parameters of [784, 30, 10], a million for a million weights - while
backprop gets every derivative from one forward and one backward pass, costing about as much
as two forward passes. The demo measures both the agreement and the cost.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import torch

from lab.i18n import N_, tr
from supervised.demos import register

Parameters = tuple[list[np.ndarray], list[np.ndarray]]  # (weights, biases), one per layer
#: Why a figure of this chapter would be judged differs: each compares a computed value with the book's.
DISAGREES = N_("the computed value disagrees with the book's")
SAME_GRADIENT = N_("same gradient")
RANDOM_INPUTS = N_("random inputs, float64")
RELATIVE = N_("relative difference {difference:.1e}")


def init_network(sizes: list[int], rng: np.random.Generator) -> Parameters:
    """Weights w^l (n_l x n_{l-1}) and biases b^l (n_l x 1), all N(0, 1) as in `network.py`."""
    weights = [rng.standard_normal((n_out, n_in)) for n_in, n_out in itertools.pairwise(sizes)]
    biases = [rng.standard_normal((n_out, 1)) for n_out in sizes[1:]]
    return weights, biases


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def quadratic_cost(params: Parameters, x: np.ndarray, y: np.ndarray) -> float:
    """One forward pass: C = 1/2n sum ||a^L - y||^2, examples as the columns of x and y."""
    a = x
    for w, b in zip(*params):
        a = sigmoid(w @ a + b)
    return 0.5 * float(((a - y) ** 2).sum()) / x.shape[1]


def backprop(params: Parameters, x: np.ndarray, y: np.ndarray) -> Parameters:
    """(dC/dw, dC/db) for every layer by BP1-BP4, for a whole batch at once."""
    weights, biases = params
    activations = [x]
    for w, b in zip(weights, biases):
        activations.append(sigmoid(w @ activations[-1] + b))
    n = x.shape[1]
    grad_w, grad_b = [None] * len(weights), [None] * len(biases)
    # sigma'(z) = sigma(z) (1 - sigma(z)) = a (1 - a): no need to keep z or recompute sigma.
    a_out = activations[-1]
    delta = (a_out - y) * a_out * (1 - a_out)  # BP1
    for layer in range(len(weights) - 1, -1, -1):
        if layer < len(weights) - 1:
            a = activations[layer + 1]
            delta = (weights[layer + 1].T @ delta) * a * (1 - a)  # BP2
        grad_b[layer] = delta.sum(axis=1, keepdims=True) / n  # BP3, averaged over the batch
        grad_w[layer] = delta @ activations[layer].T / n  # BP4
    return grad_w, grad_b


def autograd_gradient(params: Parameters, x: np.ndarray, y: np.ndarray) -> Parameters:
    """The same gradient from torch autograd, as an independent check of `backprop`."""
    tensors = [torch.tensor(p, requires_grad=True) for p in (*params[0], *params[1])]
    weights, biases = tensors[:len(params[0])], tensors[len(params[0]):]
    a = torch.tensor(x)
    for w, b in zip(weights, biases):
        a = torch.sigmoid(w @ a + b)
    cost = 0.5 * ((a - torch.tensor(y)) ** 2).sum() / x.shape[1]
    grads = torch.autograd.grad(cost, tensors)
    return [g.numpy() for g in grads[:len(weights)]], [g.numpy() for g in grads[len(weights):]]


def finite_difference_gradient(params: Parameters, x: np.ndarray, y: np.ndarray, eps: float = 1e-6,
                               central: bool = False) -> tuple[Parameters, int]:
    """Nudge every parameter in turn and re-run the forward pass.

    Forward differences (C(p + eps) - C(p)) / eps, as the chapter describes, use one pass per
    parameter plus one; central differences (C(p + eps) - C(p - eps)) / 2 eps use two per
    parameter and are more accurate. Returns (gradient, forward passes used).
    """
    passes = 0
    base = None
    if not central:
        base, passes = quadratic_cost(params, x, y), 1
    gradient: list[list[np.ndarray]] = [[], []]
    for group, arrays in enumerate(params):
        for array in arrays:
            grad = np.zeros_like(array)
            flat, grad_flat = array.reshape(-1), grad.reshape(-1)  # views: nudging flat nudges array
            for j in range(flat.size):
                saved = flat[j]
                flat[j] = saved + eps
                plus = quadratic_cost(params, x, y)
                if central:
                    flat[j] = saved - eps
                    grad_flat[j] = (plus - quadratic_cost(params, x, y)) / (2 * eps)
                    passes += 2
                else:
                    grad_flat[j] = (plus - base) / eps
                    passes += 1
                flat[j] = saved
            gradient[group].append(grad)
    return (gradient[0], gradient[1]), passes


def relative_difference(first: Parameters, second: Parameters) -> float:
    """||g1 - g2|| / (||g1|| + ||g2||) over all parameters (0 = identical)."""
    a = np.concatenate([g.ravel() for group in first for g in group])
    b = np.concatenate([g.ravel() for group in second for g in group])
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


def count_parameters(params: Parameters) -> int:
    return sum(p.size for group in params for p in group)


def random_batch(sizes: list[int], batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Inputs in [0, 1] (like pixel intensities) and one-hot targets, examples as columns."""
    x = rng.random((sizes[0], batch))
    y = np.zeros((sizes[-1], batch))
    y[rng.integers(0, sizes[-1], batch), np.arange(batch)] = 1.0
    return x, y


@register("ch16", "Algoritmo Backpropagation em Python", "Backpropagation in Python")
def demo(ctx) -> None:
    rng = np.random.default_rng(ctx.seed)
    small_sizes = [4, 5, 3]
    params = init_network(small_sizes, rng)
    x, y = random_batch(small_sizes, 6, rng)
    gradient = backprop(params, x, y)
    difference = relative_difference(gradient, autograd_gradient(params, x, y))
    ctx.report(tr("backprop (BP1-BP4) vs autograd, {sizes}").format(sizes=small_sizes), tr(SAME_GRADIENT),
               tr(RELATIVE).format(difference=difference), data=tr(RANDOM_INPUTS), matches=difference < 1e-12,
               reason=tr(DISAGREES))
    central, _ = finite_difference_gradient(params, x, y, eps=1e-5, central=True)
    difference = relative_difference(gradient, central)
    ctx.report(tr("backprop vs central finite differences, {sizes}").format(sizes=small_sizes), tr(SAME_GRADIENT),
               tr(RELATIVE).format(difference=difference), data=tr(RANDOM_INPUTS), matches=difference < 1e-8,
               reason=tr(DISAGREES))

    sizes = [784, 30, 10]
    params = init_network(sizes, rng)
    x, y = random_batch(sizes, 10, rng)
    gradient = backprop(params, x, y)
    started = time.perf_counter()
    numeric, passes = finite_difference_gradient(params, x, y, eps=1e-6)
    numeric_seconds = time.perf_counter() - started
    n = count_parameters(params)
    difference = relative_difference(gradient, numeric)
    data = tr("10 random 784-pixel inputs, float64")
    ctx.report(tr("backprop vs forward finite differences, {sizes}").format(sizes=sizes), tr(SAME_GRADIENT),
               tr(RELATIVE).format(difference=difference), data=data, matches=difference < 1e-4,
               reason=tr(DISAGREES))
    ctx.report(tr("forward passes for one gradient of {sizes} ({count:,} parameters)").format(sizes=sizes, count=n),
               tr("finite differences: one per weight ({passes:,}); backprop: 1 forward + 1 backward").format(
                   passes=n + 1),
               tr("finite differences: {passes:,}; backprop: 1 + 1").format(passes=passes), data=data,
               matches=passes == n + 1, reason=tr(DISAGREES))
    # The "two forward passes" is about arithmetic, so time a batch big enough for the matrix
    # products to dominate Python's overhead; the fastest of several runs filters out noise.
    big_x, big_y = random_batch(sizes, 1000, rng)
    forward_seconds = _fastest(lambda: quadratic_cost(params, big_x, big_y))
    backprop_seconds = _fastest(lambda: backprop(params, big_x, big_y))
    ratio = backprop_seconds / forward_seconds
    ctx.report(tr("cost of one backprop (forward + backward) in forward passes"), tr("about 2"), round(ratio, 2),
               data=tr("1,000 random inputs, [784, 30, 10]"), matches=1.0 < ratio < 3.0,
               reason=tr("timed on a shared machine: outside 1-3 forward passes"))
    backprop_seconds = _fastest(lambda: backprop(params, x, y))
    ctx.table("gradient_cost", [tr("method"), tr("forward passes"), tr("seconds for one gradient (10 inputs)")],
              [[tr("finite differences"), passes, numeric_seconds], ["backprop", tr("1 + 1 backward"), backprop_seconds]])
    ctx.logger.scalars(0, {"gradient/finite_difference_seconds": numeric_seconds,
                           "gradient/backprop_seconds": backprop_seconds, "gradient/backprop_in_forward_passes": ratio})
    ctx.report(tr("time for one gradient"), tr("backprop far cheaper"),
               tr("backprop {backprop:.2f} ms vs finite differences {numeric:.2f} s ({times:,.0f}x)").format(
                   backprop=backprop_seconds * 1e3, numeric=numeric_seconds, times=numeric_seconds / backprop_seconds),
               data=data, matches=numeric_seconds > 100 * backprop_seconds, reason=tr(DISAGREES))
    ctx.plot("backprop_vs_finite_differences", _figure(gradient, numeric))


def _fastest(function, repeats: int = 15) -> float:
    """Seconds of the fastest of `repeats` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def _figure(gradient: Parameters, numeric: Parameters):
    from lab.plots import new_figure

    exact = np.concatenate([g.ravel() for group in gradient for g in group])
    approx = np.concatenate([g.ravel() for group in numeric for g in group])
    fig, ax = new_figure(figsize=(5, 5))
    ax.scatter(exact, approx, s=3, alpha=0.4)
    limit = np.abs(exact).max() * 1.05
    ax.plot([-limit, limit], [-limit, limit], "k--", lw=0.8)
    ax.set_xlabel(tr("dC/dp by backpropagation"))
    ax.set_ylabel(tr("dC/dp by forward finite differences"))
    ax.set_title(tr("[784, 30, 10]: every parameter"))
    return fig
