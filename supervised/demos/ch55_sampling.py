"""Chapter 55 (Geração de Variáveis Aleatórias): the inverse-transform method.

A computer draws U uniform on [0, 1]; any random variable X with CDF F_X is then
Y = F_X^{-1}(U), because P(Y <= y) = P(U <= F_X(y)) = F_X(y): Y and X have the same CDF
(ch055.md:103). The chapter's figure maps the uniform (blue) through the inverse CDF (grey) to
the standard Gaussian (orange) (ch055.md:109); its first example of a random variable is a die
that gives any number from 1 to 6 (ch055.md:13). The die's CDF is a staircase with no inverse,
so the generalised inverse F^{-1}(u) = min{k : F(k) >= u} is used (the extension the chapter
mentions in passing).

Goodness of fit: the Kolmogorov-Smirnov distance sup_x |F_n(x) - F(x)| between the empirical
CDF of the draws and the target CDF, judged against its 5% critical value 1.36 / sqrt(n)
(asymptotic, for a continuous target; for the die the same sup over the six steps, plus a
chi-square test of the six counts).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from supervised.demos import Setting, register
from supervised.demos._training import setting

DIE_FACES = np.arange(1, 7)  # "qualquer número entre 1 e 6"  # ch055.md:13
BOOK_UNIFORM = "U uniform on [0, 1]"  # ch055.md:19
BOOK_SAME_CDF = "Y = F^-1(U) has the target's CDF"  # ch055.md:103
BOOK_DIE = "any number from 1 to 6"  # ch055.md:13
KS_CRITICAL_5_PERCENT = 1.36  # times 1/sqrt(n): Kolmogorov's asymptotic 5% quantile


def gaussian_inverse_cdf(u: np.ndarray) -> np.ndarray:
    """F^{-1}(u) of N(0, 1): Phi(x) = (1 + erf(x / sqrt 2)) / 2, so x = sqrt(2) erfinv(2u - 1)."""
    return math.sqrt(2.0) * special.erfinv(2.0 * u - 1.0)


def discrete_inverse_cdf(u: np.ndarray, values: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Generalised inverse of a staircase CDF: the smallest value whose CDF reaches u."""
    cdf = np.cumsum(probabilities)
    cdf[-1] = 1.0  # rounding must not leave u close to 1 without a value
    return values[np.searchsorted(cdf, u, side="left")]


def ks_distance_continuous(samples: np.ndarray, cdf) -> float:
    """sup_x |F_n(x) - F(x)|, checked on both sides of every jump of the empirical CDF."""
    x = np.sort(samples)
    n = len(x)
    f = cdf(x)
    return float(max((np.arange(1, n + 1) / n - f).max(), (f - np.arange(n) / n).max()))


def ks_distance_discrete(samples: np.ndarray, values: np.ndarray, probabilities: np.ndarray) -> float:
    """sup over the support of |F_n(k) - F(k)| (both CDFs are flat between the values)."""
    empirical = np.array([(samples <= v).mean() for v in values])
    return float(np.abs(empirical - np.cumsum(probabilities)).max())


@register("ch55", "Geração de Variáveis Aleatórias – Uma das Bases dos Modelos Generativos em GANs",
          "Generating random variables: the inverse-transform method behind generative models",
          settings=(Setting("samples", 100_000, 20_000, low=10),))
def demo(ctx) -> None:
    n = setting(ctx, "samples")
    rng = np.random.default_rng(ctx.seed)
    u = rng.uniform(0.0, 1.0, size=n)
    critical = KS_CRITICAL_5_PERCENT / math.sqrt(n)
    data = f"{n:,} uniform draws (numpy PCG64, seed {ctx.seed})"

    gaussian = gaussian_inverse_cdf(u)
    ks_gauss = ks_distance_continuous(gaussian, stats.norm.cdf)
    ks_uniform = ks_distance_continuous(u, stats.uniform.cdf)
    ctx.report("uniform U on [0, 1]: KS distance to the uniform CDF", BOOK_UNIFORM,
               f"{ks_uniform:.4f} (5% critical {critical:.4f})", data=data, matches=ks_uniform < critical)
    ctx.report("F^-1(U) for the standard Gaussian: KS distance to N(0, 1)",
               BOOK_SAME_CDF,
               f"{ks_gauss:.4f} (5% critical {critical:.4f}); mean {gaussian.mean():+.4f}, std {gaussian.std():.4f}",
               data=data, matches=ks_gauss < critical)
    # A monotone map keeps every rank, so F^-1(U) sits exactly as far from N(0, 1) as U from uniform.
    ctx.say(f"KS(F^-1(U), N(0,1)) = KS(U, uniform) = {ks_gauss:.4f}: the inverse CDF is monotone")

    probabilities = np.full(6, 1 / 6)
    die = discrete_inverse_cdf(u, DIE_FACES, probabilities)
    counts = np.array([(die == face).sum() for face in DIE_FACES])
    ks_die = ks_distance_discrete(die, DIE_FACES, probabilities)
    chi2 = stats.chisquare(counts, np.full(6, n / 6))
    ctx.report("die from the generalised inverse CDF: outcomes", BOOK_DIE,
               f"faces {sorted(set(die.tolist()))}, counts {counts.tolist()}", data=data,
               by_construction=True, reason="the inverse CDF can return only the six faces it is given; "
               "the line below tests their frequencies")
    ctx.report("die: KS distance to the fair die's CDF and chi-square p-value", "P(k) = 1/6 for k = 1..6",
               f"KS {ks_die:.4f} (5% critical {critical:.4f}); chi-square {chi2.statistic:.2f}, "
               f"p = {chi2.pvalue:.3f}", data=data, matches=bool(ks_die < critical and chi2.pvalue > 0.01), source="a fair die")

    ctx.logger.scalars(0, {"ch55/ks_uniform": ks_uniform, "ch55/ks_gaussian": ks_gauss,
                           "ch55/ks_die": ks_die, "ch55/chi2_die": float(chi2.statistic),
                           "ch55/ks_critical_5pct": critical})
    ctx.logger.text("ch55/die_counts", " | ".join(f"{f}: {c}" for f, c in zip(DIE_FACES, counts)))
    ctx.plot("inverse_transform_gaussian", _gaussian_figure(u, gaussian, ks_gauss))
    ctx.plot("inverse_transform_die", _die_figure(u, die, counts, ks_die, chi2.pvalue))


def _gaussian_figure(u: np.ndarray, gaussian: np.ndarray, ks: float):
    """The chapter's picture: uniform (blue), the inverse CDF (grey), the Gaussian (orange)."""
    from lab.plots import new_figure

    fig, (ax_u, ax_map, ax_g) = new_figure(1, 3, figsize=(13, 3.8))
    ax_u.hist(u, bins=50, density=True, color="tab:blue", alpha=0.8)
    ax_u.axhline(1.0, color="k", lw=1, ls="--", label="density 1")
    ax_u.set(title="U ~ uniform[0, 1]", xlabel="u", ylabel="density")
    ax_u.legend()
    grid = np.linspace(0.001, 0.999, 400)
    ax_map.plot(grid, gaussian_inverse_cdf(grid), color="grey", lw=2)
    ax_map.set(title="transform: x = F^-1(u) = sqrt(2) erfinv(2u - 1)", xlabel="u", ylabel="x")
    ax_map.grid(True, alpha=0.3)
    ax_g.hist(gaussian, bins=60, density=True, color="tab:orange", alpha=0.8, label="F^-1(U)")
    xs = np.linspace(-4, 4, 400)
    ax_g.plot(xs, stats.norm.pdf(xs), "k", lw=1.5, label="N(0, 1) density")
    ax_g.set(title=f"X = F^-1(U): KS distance {ks:.4f}", xlabel="x")
    ax_g.legend()
    return fig


def _die_figure(u: np.ndarray, die: np.ndarray, counts: np.ndarray, ks: float, p_value: float):
    from lab.plots import new_figure

    fig, (ax_cdf, ax_bar) = new_figure(1, 2, figsize=(10, 3.8))
    ax_cdf.step(np.r_[0, DIE_FACES], np.r_[0, np.cumsum(np.full(6, 1 / 6))], where="post", color="grey")
    ax_cdf.set(title="die CDF; face = min{k : F(k) >= u}", xlabel="face k", ylabel="F(k) = u")
    ax_cdf.grid(True, alpha=0.3)
    ax_bar.bar(DIE_FACES, counts / len(die), color="tab:orange", alpha=0.8, label="inverse-transform draws")
    ax_bar.axhline(1 / 6, color="k", ls="--", label="1/6")
    ax_bar.set(title=f"die faces: KS {ks:.4f}, chi-square p = {p_value:.2f}", xlabel="face", ylabel="frequency")
    ax_bar.legend(loc="lower right")
    return fig
