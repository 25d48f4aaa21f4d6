"""Chapter 55 (Geração de Variáveis Aleatórias): the inverse-transform method.

A computer draws U uniform on [0, 1]; any random variable X with CDF F_X is then
Y = F_X^{-1}(U), because P(Y <= y) = P(U <= F_X(y)) = F_X(y): Y and X have the same CDF
(ch055.md:103). The chapter's figure maps the uniform (blue) through the inverse CDF (grey) to
the standard Gaussian (orange) (ch055.md:109); its first example of a random variable is a die
that gives any number from 1 to 6 (ch055.md:13). The die's CDF is a staircase with no inverse,
so the generalised inverse F^{-1}(u) = min{k : F(k) >= u} is used (the extension the chapter
mentions in passing).

The chapter names two other methods (ch055.md:25) and describes each in a sentence; both are run
here on a target the inverse CDF does not give in closed form, a mixture of two Gaussians:

* rejection sampling (ch055.md:28): draw x from a simple proposal q (a wide Gaussian) and keep it
  with probability p(x) / (M q(x)), M >= sup p/q; the kept draws follow p, and a fraction 1/M of
  the proposals is kept (von Neumann 1951);
* Metropolis-Hastings (ch055.md:31): a Markov chain whose stationary distribution is p (a
  Gaussian random walk, accepted with probability min(1, p(x') / p(x))), run long enough and
  its last value taken; many chains run side by side, so the last values are independent draws.
  The same chains stopped after a few steps, still near where they started, are the control
  that shows the test can fail.

Goodness of fit: the Kolmogorov-Smirnov distance sup_x |F_n(x) - F(x)| between the empirical
CDF of the draws and the target CDF, judged against its 5% critical value 1.36 / sqrt(n)
(asymptotic, for a continuous target; for the die the same sup over the six steps, plus a
chi-square test of the six counts). For the rejection and Metropolis-Hastings draws,
scipy.stats.kstest gives the distance and its p-value against the mixture's exact CDF.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from lab.i18n import N_, decimal, listed, tr
from supervised.demos import Setting, register
from supervised.demos._training import setting

DIE_FACES = np.arange(1, 7)  # "qualquer número entre 1 e 6"  # ch055.md:13
BOOK_UNIFORM = N_("U uniform on [0, 1]")  # ch055.md:19
BOOK_SAME_CDF = N_("Y = F^-1(U) has the target's CDF")  # ch055.md:103
BOOK_DIE = N_("any number from 1 to 6")  # ch055.md:13
KS_CRITICAL_5_PERCENT = 1.36  # times 1/sqrt(n): Kolmogorov's asymptotic 5% quantile
CRITICAL_LEVEL = 0.05  # the test level of KS_CRITICAL_5_PERCENT
BOOK_REJECTION = N_("accept or reject draws of a simple distribution: "
                    "the accepted ones follow the target")  # ch055.md:28
BOOK_METROPOLIS = N_("a Markov chain whose stationary distribution is the target, run long enough")  # ch055.md:31
#: The target of both methods (made for the demo): weights, means and standard deviations of a
#: mixture of two Gaussians, lopsided so that a wrong sampler shows.
MIXTURE = ((0.3, -2.0, 0.5), (0.7, 1.5, 1.0))
#: Rejection sampling's proposal N(0, PROPOSAL_STD^2): wider than either component, so p/q is bounded.
PROPOSAL_STD = 3.0
#: Metropolis-Hastings: the random walk's step std and where every chain starts (far in the left tail).
WALK_STD, CHAIN_START = 1.0, -6.0
#: Steps after which the chains are stopped too early, the control that the KS test must reject.
EARLY_STEPS = 3
#: p-value under which a KS test rejects "these draws follow the target".
KS_LEVEL = 0.01


def normal(mean: float, std: float, spec: str = "g") -> str:
    """'N(mean, std^2)' with the numbers written as the output language writes them (Portuguese
    parts mean and std with a semicolon, its decimal mark being the comma)."""
    return f"N({listed([decimal(format(mean, spec)), decimal(format(std, spec)) + '^2'])})"


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


def mixture_pdf(x: np.ndarray) -> np.ndarray:
    return sum(w * stats.norm.pdf(x, m, s) for w, m, s in MIXTURE)


def mixture_cdf(x: np.ndarray) -> np.ndarray:
    return sum(w * stats.norm.cdf(x, m, s) for w, m, s in MIXTURE)


def rejection_bound() -> float:
    """M = sup p(x) / q(x), found on a fine grid (the ratio is smooth and falls off past +-10),
    raised by 1% so that no point of the grid's gaps exceeds it."""
    grid = np.linspace(-15.0, 15.0, 300_001)
    return 1.01 * float((mixture_pdf(grid) / stats.norm.pdf(grid, 0.0, PROPOSAL_STD)).max())


def rejection_sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """n draws of the mixture by rejection from N(0, PROPOSAL_STD^2), and how many proposals
    were made up to the n-th kept one."""
    bound = rejection_bound()
    kept: list[np.ndarray] = []
    proposed = have = 0
    while have < n:
        x = rng.normal(0.0, PROPOSAL_STD, size=2 * n)
        keep = np.flatnonzero(rng.uniform(size=2 * n) * bound * stats.norm.pdf(x, 0.0, PROPOSAL_STD)
                              < mixture_pdf(x))[:n - have]
        proposed += int(keep[-1]) + 1 if have + len(keep) == n else len(x)
        kept.append(x[keep])
        have += len(keep)
    return np.concatenate(kept), proposed


def metropolis_hastings(chains: int, steps: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """The last value of each of `chains` random-walk Metropolis chains after `steps` steps, all
    started at CHAIN_START; and the share of proposed moves accepted."""
    x = np.full(chains, CHAIN_START)
    density = mixture_pdf(x)
    accepted = 0
    for _ in range(steps):
        proposal = x + rng.normal(0.0, WALK_STD, size=chains)
        proposal_density = mixture_pdf(proposal)
        # The walk is symmetric, so the Hastings ratio q(x | x') / q(x' | x) is 1.
        move = rng.uniform(size=chains) * density < proposal_density
        x = np.where(move, proposal, x)
        density = np.where(move, proposal_density, density)
        accepted += int(move.sum())
    return x, accepted / max(1, chains * steps)


@register("ch55", "Geração de Variáveis Aleatórias – Uma das Bases dos Modelos Generativos em GANs",
          "Generating random variables: the inverse-transform method behind generative models",
          settings=(Setting("samples", 100_000, 20_000, low=10),
                    Setting("chain_steps", 500, 200, low=1)))
def demo(ctx) -> None:
    n = setting(ctx, "samples")
    chain_steps = setting(ctx, "chain_steps")
    rng = np.random.default_rng(ctx.seed)
    u = rng.uniform(0.0, 1.0, size=n)
    critical = KS_CRITICAL_5_PERCENT / math.sqrt(n)
    data = tr("{n:,} uniform draws (numpy PCG64, seed {seed})").format(n=n, seed=ctx.seed)
    over_critical = tr("the KS distance is over its {level:.0%} critical value (a correct sampler lands there "
                       "about 1 run in 20)").format(level=CRITICAL_LEVEL)

    gaussian = gaussian_inverse_cdf(u)
    ks_gauss = ks_distance_continuous(gaussian, stats.norm.cdf)
    ks_uniform = ks_distance_continuous(u, stats.uniform.cdf)
    ctx.report(tr("uniform U on [0, 1]: KS distance to the uniform CDF"), tr(BOOK_UNIFORM),
               tr("{ks:.4f} ({level:.0%} critical {critical:.4f})").format(
                   ks=ks_uniform, level=CRITICAL_LEVEL, critical=critical), data=data,
               matches=ks_uniform < critical, reason=over_critical)
    ctx.report(tr("F^-1(U) for the standard Gaussian: KS distance to N(0, 1)"), tr(BOOK_SAME_CDF),
               tr("{ks:.4f} ({level:.0%} critical {critical:.4f}); mean {mean:+.4f}, std {std:.4f}").format(
                   ks=ks_gauss, level=CRITICAL_LEVEL, critical=critical, mean=gaussian.mean(), std=gaussian.std()),
               data=data, matches=ks_gauss < critical, reason=over_critical)
    # A monotone map keeps every rank, so F^-1(U) sits exactly as far from N(0, 1) as U from uniform.
    ctx.say(tr("KS(F^-1(U), N(0,1)) = KS(U, uniform) = {ks:.4f}: the inverse CDF is monotone").format(ks=ks_gauss))

    probabilities = np.full(6, 1 / 6)
    die = discrete_inverse_cdf(u, DIE_FACES, probabilities)
    counts = np.array([(die == face).sum() for face in DIE_FACES])
    ks_die = ks_distance_discrete(die, DIE_FACES, probabilities)
    chi2 = stats.chisquare(counts, np.full(6, n / 6))
    ctx.report(tr("die from the generalised inverse CDF: outcomes"), tr(BOOK_DIE),
               tr("faces {faces}, counts {counts}").format(faces=sorted(set(die.tolist())), counts=counts.tolist()),
               data=data, by_construction=True,
               reason=tr("the inverse CDF can return only the six faces it is given; the line below tests their "
                         "frequencies"))
    fair = bool(ks_die < critical and chi2.pvalue > KS_LEVEL)
    ctx.report(tr("die: KS distance to the fair die's CDF and chi-square p-value"), tr("P(k) = 1/6 for k = 1..6"),
               tr("KS {ks:.4f} ({level:.0%} critical {critical:.4f}); chi-square {chi2:.2f}, p = {p:.3f}").format(
                   ks=ks_die, level=CRITICAL_LEVEL, critical=critical, chi2=chi2.statistic, p=chi2.pvalue),
               data=data, matches=fair, source=tr("a fair die"),
               reason="" if fair else tr("the KS distance is over its {critical:.0%} critical value or the chi-square "
                                         "p-value under {level:g} (a fair die's draws land there about 1 run in 20 or "
                                         "1 in 100)").format(critical=CRITICAL_LEVEL, level=KS_LEVEL))

    _other_methods(ctx, n, chain_steps)
    ctx.logger.scalars(0, {"ch55/ks_uniform": ks_uniform, "ch55/ks_gaussian": ks_gauss,
                           "ch55/ks_die": ks_die, "ch55/chi2_die": float(chi2.statistic),
                           "ch55/ks_critical_5pct": critical})
    # The tag names a TensorBoard series, as the scalars' keys above do: an identifier, not prose.
    counts_tag = "ch55/die_counts"
    ctx.logger.text(counts_tag, " | ".join(f"{f}: {c}" for f, c in zip(DIE_FACES, counts)))
    ctx.plot("inverse_transform_gaussian", _gaussian_figure(u, gaussian, ks_gauss))
    ctx.plot("inverse_transform_die", _die_figure(u, die, counts, ks_die, chi2.pvalue))


def _other_methods(ctx, n: int, chain_steps: int) -> None:
    """Rejection sampling and Metropolis-Hastings on the mixture, each judged by a KS test."""
    rng = np.random.default_rng(ctx.seed + 1)
    target = " + ".join(f"{decimal(f'{w:g}')} {normal(m, sd)}" for w, m, sd in MIXTURE)

    draws, proposed = rejection_sample(n, rng)
    test = stats.kstest(draws, mixture_cdf)
    ok = bool(test.pvalue > KS_LEVEL)
    data = tr("target {target}; proposal {proposal}; {kept:,} kept of {proposed:,} proposals").format(
        target=target, proposal=normal(0, PROPOSAL_STD), kept=n, proposed=proposed)
    ctx.report(tr("rejection sampling: KS test of the kept draws against the target's CDF"), tr(BOOK_REJECTION),
               tr("KS {ks:.4f}, p = {p:.3f}").format(ks=test.statistic, p=test.pvalue), data=data, matches=ok,
               reason="" if ok else tr("p = {p:.2g} < {level:g}: the kept draws do not follow the target").format(
                   p=test.pvalue, level=KS_LEVEL))
    bound = rejection_bound()
    rate = n / proposed
    # The number of proposals up to the n-th kept one is negative binomial: rate's standard error.
    error = math.sqrt(rate * (1 - rate) / proposed)
    ok = bool(abs(rate - 1 / bound) < 3 * error)
    ctx.report(tr("rejection sampling: share of proposals kept vs 1/M (M = sup p/q, here 1% above it)"),
               decimal(f"1/M = {1 / bound:.4f}"),
               tr("{rate:.4f} (3 standard errors: {error:.4f})").format(rate=rate, error=3 * error), data=data,
               matches=ok, source=tr("von Neumann 1951 (rejection sampling)"),
               reason="" if ok else tr("the kept share is more than 3 standard errors from 1/M"))

    chains, accepted = metropolis_hastings(n, chain_steps, rng)
    early, _ = metropolis_hastings(n, EARLY_STEPS, rng)
    test, early_test = stats.kstest(chains, mixture_cdf), stats.kstest(early, mixture_cdf)
    ok = bool(test.pvalue > KS_LEVEL and early_test.pvalue < KS_LEVEL)
    data = tr("target {target}; {chains:,} chains from x = {start:g}, random-walk steps {walk}, {accepted:.0%} of "
              "the moves accepted; the last value of each chain").format(
        target=target, chains=n, start=CHAIN_START, walk=normal(0, WALK_STD), accepted=accepted)
    ctx.report(tr("Metropolis-Hastings: KS test of the last values after {steps} steps (after {early}, not yet "
                  "stationary)").format(steps=chain_steps, early=EARLY_STEPS), tr(BOOK_METROPOLIS),
               tr("KS {ks:.4f}, p = {p:.3f} (after {early}: KS {early_ks:.3f}, p = {early_p:.1g})").format(
                   ks=test.statistic, p=test.pvalue, early=EARLY_STEPS, early_ks=early_test.statistic,
                   early_p=early_test.pvalue), data=data, matches=ok,
               reason="" if ok else (tr("p = {p:.2g} < {level:g} after {steps} steps: not yet the target").format(
                                         p=test.pvalue, level=KS_LEVEL, steps=chain_steps)
                                     if test.pvalue <= KS_LEVEL else
                                     tr("the test does not reject the chains stopped after {steps} steps").format(
                                         steps=EARLY_STEPS)))
    ctx.logger.scalars(0, {"ch55/rejection_ks": float(stats.kstest(draws, mixture_cdf).statistic),
                           "ch55/rejection_kept_share": rate, "ch55/metropolis_ks": float(test.statistic),
                           "ch55/metropolis_acceptance": accepted})
    ctx.plot("rejection_and_metropolis", _mixture_figure(draws, chains, early, chain_steps))


def _mixture_figure(draws: np.ndarray, chains: np.ndarray, early: np.ndarray, chain_steps: int):
    from lab.plots import new_figure

    fig, axes = new_figure(1, 2, figsize=(11, 3.8), sharey=True)
    xs = np.linspace(-7, 6, 400)
    for ax, sample, title in ((axes[0], draws, tr("rejection sampling: kept draws")),
                              (axes[1], chains, tr("Metropolis-Hastings: last values after {steps} steps").format(
                                  steps=chain_steps))):
        ax.hist(sample, bins=80, range=(-7, 6), density=True, color="tab:orange", alpha=0.7)
        ax.plot(xs, mixture_pdf(xs), "k", lw=1.5, label=tr("target density"))
        ax.set(title=title, xlabel="x")
    axes[1].hist(early, bins=80, range=(-7, 6), density=True, histtype="step", color="tab:blue",
                 label=tr("after {steps} steps").format(steps=EARLY_STEPS))
    axes[1].legend(fontsize=8)
    axes[0].set_ylabel(tr("density"))
    return fig


def _gaussian_figure(u: np.ndarray, gaussian: np.ndarray, ks: float):
    """The chapter's picture: uniform (blue), the inverse CDF (grey), the Gaussian (orange)."""
    from lab.plots import new_figure

    fig, (ax_u, ax_map, ax_g) = new_figure(1, 3, figsize=(13, 3.8))
    ax_u.hist(u, bins=50, density=True, color="tab:blue", alpha=0.8)
    ax_u.axhline(1.0, color="k", lw=1, ls="--", label=tr("density 1"))
    ax_u.set(title=tr("U ~ uniform[0, 1]"), xlabel="u", ylabel=tr("density"))
    ax_u.legend()
    grid = np.linspace(0.001, 0.999, 400)
    ax_map.plot(grid, gaussian_inverse_cdf(grid), color="grey", lw=2)
    ax_map.set(title=tr("transform: x = F^-1(u) = sqrt(2) erfinv(2u - 1)"), xlabel="u", ylabel="x")
    ax_map.grid(True, alpha=0.3)
    ax_g.hist(gaussian, bins=60, density=True, color="tab:orange", alpha=0.8, label="F^-1(U)")
    xs = np.linspace(-4, 4, 400)
    ax_g.plot(xs, stats.norm.pdf(xs), "k", lw=1.5, label=tr("N(0, 1) density"))
    ax_g.set(title=tr("X = F^-1(U): KS distance {ks:.4f}").format(ks=ks), xlabel="x")
    ax_g.legend()
    return fig


def _die_figure(u: np.ndarray, die: np.ndarray, counts: np.ndarray, ks: float, p_value: float):
    from lab.plots import new_figure

    fig, (ax_cdf, ax_bar) = new_figure(1, 2, figsize=(10, 3.8))
    ax_cdf.step(np.r_[0, DIE_FACES], np.r_[0, np.cumsum(np.full(6, 1 / 6))], where="post", color="grey")
    ax_cdf.set(title=tr("die CDF; face = min{{k : F(k) >= u}}").format(), xlabel=tr("face k"), ylabel="F(k) = u")
    ax_cdf.grid(True, alpha=0.3)
    ax_bar.bar(DIE_FACES, counts / len(die), color="tab:orange", alpha=0.8, label=tr("inverse-transform draws"))
    ax_bar.axhline(1 / 6, color="k", ls="--", label="1/6")
    ax_bar.set(title=tr("die faces: KS {ks:.4f}, chi-square p = {p:.2f}").format(ks=ks, p=p_value), xlabel=tr("face"),
               ylabel=tr("frequency"))
    ax_bar.legend(loc="lower right")
    return fig
