"""Chapter 21 (Afinal, Por Que a Regularização Ajuda a Reduzir o Overfitting?): ten points, two models.

The chapter plots ten (x, y) points that lie close to a line. A polynomial of degree 9,
y = a0 x^9 + a1 x^8 + ... + a9, passes exactly through all ten (ch021.md:16); the linear model
y = 2x fits them well but not exactly (ch021.md:22). On the data the two hardly differ; for an x
much larger than any shown they differ dramatically, because the x^9 term dominates the
polynomial while the line stays a line (ch021.md:34). Regularisation favours the simpler model.
The chapter then notes that a network with 100 hidden neurons has almost 80,000 parameters for
50,000 training images - "like fitting a polynomial of degree 80,000 to 50,000 points"
(ch021.md:52) - and yet generalises.

The book's ten points are only in a figure, so the demo draws its own: x = 1..10 (scaled), y =
2x plus small noise from the demo's seed. It fits the degree-9 polynomial (exact), the line
through the origin (slope close to 2), and the degree-9 polynomial with an L2 penalty on its
coefficients (ridge), and compares their predictions on the data and far beyond it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

import nets
from lab.i18n import N_, decimal, tr
from supervised.demos import Setting, register
from supervised.demos._training import setting

BOOK_POINTS, BOOK_DEGREE, BOOK_SLOPE = 10, 9, 2.0  # ch021.md:16, :22
BOOK_WIDE_PARAMETERS = N_("almost 80,000")  # ch021.md:52 ("quase 80.000 parâmetros", 100 hidden neurons)


def polynomial_fit(x: np.ndarray, y: np.ndarray, degree: int, l2: float = 0.0) -> np.ndarray:
    """Coefficients (highest power first) minimising sum (p(x) - y)^2 + l2 * sum a^2 (not the constant)."""
    design = np.vander(x, degree + 1)
    if l2 == 0.0 and design.shape[0] == design.shape[1]:
        return np.linalg.solve(design, y)  # n points, n coefficients: the interpolating polynomial
    penalty = l2 * np.eye(degree + 1)
    penalty[-1, -1] = 0.0  # the constant term is not penalised, as biases are not (chapter 20)
    return np.linalg.solve(design.T @ design + penalty, design.T @ y)


def slope_through_origin(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares a of y = a x."""
    return float(x @ y / (x @ x))


@register("ch21", "Afinal, Por Que a Regularização Ajuda a Reduzir o Overfitting?",
          "Why does regularisation help reduce overfitting?",
          settings=(Setting("noise", 0.05, low=0.0), Setting("l2", 1e-3, low=0.0), Setting("far_x", 2.0, above=1.0)))
def demo(ctx) -> None:
    noise = setting(ctx, "noise")
    l2 = setting(ctx, "l2")
    far = setting(ctx, "far_x")
    rng = np.random.default_rng(ctx.seed)
    x = np.linspace(0.1, 1.0, BOOK_POINTS)
    y = BOOK_SLOPE * x + rng.normal(0.0, noise, BOOK_POINTS)
    data = tr("{points} points drawn here: x = 0.1..1.0, y = 2x + N(0, {noise:g}^2) noise (seed {seed})").format(
        points=BOOK_POINTS, noise=noise, seed=ctx.seed)
    drawn = tr("the book's points are only in a figure; these are drawn here")

    exact = polynomial_fit(x, y, BOOK_DEGREE)
    slope = slope_through_origin(x, y)
    ridge = polynomial_fit(x, y, BOOK_DEGREE, l2=l2)
    worst = float(np.max(np.abs(np.polyval(exact, x) - y)))
    ctx.report(tr("degree-9 polynomial through the 10 points: largest |p(x) - y|"), tr("fits exactly (0)"),
               decimal(f"{worst:.1e}"), data=data, matches=worst < 1e-6, reason=tr("the solve left a residual"))
    line_error = float(np.max(np.abs(slope * x - y)))
    ctx.report(tr("line y = a x: slope a; largest |a x - y|"), tr("y = 2x fits well, not exactly"),
               tr("a = {slope:.3f}; {error:.3f}").format(slope=slope, error=line_error), data=data,
               matches=abs(slope - 2) < 0.1 and line_error > 0, reason=drawn)
    # The three models, by key; `names` is how each is shown.
    names = {"degree 9": tr("degree 9"), "line": "y = a x", "ridge": tr("degree 9 + L2 {l2:g}").format(l2=l2)}
    predictions = {"degree 9": float(np.polyval(exact, far)), "line": slope * far,
                   "ridge": float(np.polyval(ridge, far))}
    dramatic = abs(predictions["degree 9"] - predictions["line"]) > abs(predictions["line"])
    times = far / float(x.max())
    far_label = (tr("prediction at x = {far:g} (twice the largest x): degree 9 | line | degree 9 + L2") if times == 2
                 else tr("prediction at x = {far:g} ({times:g} times the largest x): degree 9 | line | degree 9 + L2"))
    ctx.report(far_label.format(far=far, times=times),
               tr("dramatically different: x^9 dominates"),
               " | ".join(decimal(f"{v:.4g}") for v in predictions.values()),
               data=data, matches=dramatic, reason=tr("the two predictions are close here"))
    simpler = abs(predictions["ridge"] - predictions["line"]) < abs(predictions["degree 9"] - predictions["line"])
    ctx.report(tr("the L2 penalty pulls the degree-9 fit towards the simple model (prediction far away)"),
               tr("regularisation favours simpler models"),
               tr("{ridge:.4g} vs line {line:.4g}").format(ridge=predictions["ridge"], line=predictions["line"]),
               data=data, matches=simpler, reason=tr("the penalty did not help here"))
    wide = nets.build("mlp", sizes=[784, 100, 10])
    count = sum(p.numel() for p in wide.parameters())
    ctx.report(tr("weights and biases of [784, 100, 10]"), tr(BOOK_WIDE_PARAMETERS), count,
               data=tr("counted from the module"), matches=75_000 <= count < 80_000, reason=tr("not just under 80,000"))
    ctx.table("fits", [tr("model"), tr("largest error on the 10 points"),
                       tr("prediction at x = {far:g}").format(far=far)],
              [[names["degree 9"], worst, predictions["degree 9"]], [names["line"], line_error, predictions["line"]],
               [names["ridge"], float(np.max(np.abs(np.polyval(ridge, x) - y))), predictions["ridge"]]])
    ctx.logger.scalars(0, {"ch21/slope": slope, "ch21/degree9_residual": worst,
                           "ch21/far_prediction_degree9": predictions["degree 9"]})

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, right in zip(axes, (1.05, far)):
        grid = np.linspace(0.05, right, 400)
        ax.plot(x, y, "ko", label=tr("the 10 points"))
        ax.plot(grid, np.polyval(exact, grid), label=tr("degree 9 (exact fit)"))
        ax.plot(grid, slope * grid, label=tr("y = {slope:.2f} x").format(slope=slope))
        ax.plot(grid, np.polyval(ridge, grid), "--", label=names["ridge"])
        ax.set(xlabel="x", ylabel="y")
    axes[0].set(title=tr("on the data: both fit"), ylim=(-0.5, 2.7))
    axes[1].set(title=tr("far from the data: x^9 dominates"), yscale="symlog")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    ctx.plot("polynomial_vs_line", fig)
    plt.close(fig)
