"""Chapter 57 (Os Detalhes Matemáticos das GANs): the optimal discriminator and the equilibrium.

For a fixed generator with density p_g, the discriminator that minimises the expected
classification error is, point by point, D*(x) = p_t(x) / (p_t(x) + p_g(x)) (ch057.md:44-47);
the best generator then has p_g = p_t, where D* = 1/2 everywhere: the discriminator "cannot do
better than being right one time in two" (ch057.md:80, ch056.md:161).

Measured here on chapter 56's 1-D problem:
1. D* itself: a discriminator network trained against a *fixed* Gaussian p_g learns the curve
   p_t / (p_t + p_g); the gap between the two is printed.
2. The equilibrium: during GAN training (chapter 56's `train_gan`), the mean D on true and on
   generated points converges towards 1/2, and D*(x) computed from the trained generator's
   density (a kernel density estimate of its samples) is close to 1/2 where the data lie.
3. The discriminator's cross-entropy -[ln D(x) + ln(1 - D(G(u)))] tends to ln 4 = 1.386, its
   value when D = 1/2 (Goodfellow et al. 2014, Theorem 1).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats

from supervised.demos import Setting, register
from supervised.demos._training import setting
from supervised.demos.ch56_generative_models import (
    TARGET_MEAN,
    TARGET_STD,
    make_discriminator,
    target_sample,
    train_gan,
)

BOOK_EQUILIBRIUM_D = 0.5  # "verdadeiro em um caso a cada dois" ch057.md:80; "probabilidade 1/2" ch056.md:161
BOOK_OPTIMAL_D = "D*(x) = p_t(x) / (p_t(x) + p_g(x))"  # ch057.md:44-47 (the formula is an image there)
#: A fixed, wrong generator for the D* check: its samples are N(FIXED_G_MEAN, FIXED_G_STD^2).
FIXED_G_MEAN, FIXED_G_STD = 2.0, 1.0
#: How close (absolute) to 1/2, and to D*, a measured discriminator must be to count as a match.
D_TOLERANCE = 0.05


def optimal_discriminator(x: np.ndarray, p_t, p_g) -> np.ndarray:
    """D*(x) = p_t / (p_t + p_g), for density functions p_t and p_g."""
    t, g = p_t(x), p_g(x)
    return t / (t + g)


def fit_discriminator(steps: int, batch: int, seed: int) -> torch.nn.Module:
    """Train D by binary cross-entropy on true samples vs samples of the fixed N(2, 1) generator."""
    rng = torch.Generator().manual_seed(seed + 7)
    discriminator = make_discriminator(seed)
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=3e-3)
    for _ in range(steps):
        real = target_sample(batch, rng)
        fake = FIXED_G_MEAN + FIXED_G_STD * torch.randn(batch, 1, generator=rng)
        loss = F.binary_cross_entropy_with_logits(discriminator(real), torch.ones(batch, 1)) \
            + F.binary_cross_entropy_with_logits(discriminator(fake), torch.zeros(batch, 1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return discriminator


@register("ch57", "Os Detalhes Matemáticos das GANs",
          "The mathematics of GANs: the optimal discriminator and the equilibrium at 1/2",
          settings=(Setting("d_steps", 1500, 600, low=1),
                    Setting("steps", 3000, 800, low=1),
                    Setting("batch", 256, low=2)))
def demo(ctx) -> None:
    torch.set_num_threads(1)
    d_steps = setting(ctx, "d_steps")
    steps = setting(ctx, "steps")
    batch = setting(ctx, "batch")
    p_t = stats.norm(TARGET_MEAN, TARGET_STD).pdf
    p_fixed = stats.norm(FIXED_G_MEAN, FIXED_G_STD).pdf

    # 1. D* against a fixed generator.
    discriminator = fit_discriminator(d_steps, batch, ctx.seed)
    grid = np.linspace(-1.0, 9.0, 401)
    mass = 0.5 * (p_t(grid) + p_fixed(grid))
    where = mass > 0.02  # where true or generated points actually fall
    with torch.no_grad():
        learnt = torch.sigmoid(discriminator(torch.tensor(grid, dtype=torch.float32).unsqueeze(1))).squeeze(1).numpy()
    exact = optimal_discriminator(grid, p_t, p_fixed)
    gap = float(np.abs(learnt - exact)[where].max())
    data_fixed = (f"p_t = N({TARGET_MEAN}, {TARGET_STD}^2), fixed p_g = N({FIXED_G_MEAN}, {FIXED_G_STD}^2), "
                  f"D [1, 32, 32, 1] trained {d_steps} steps")
    ctx.report("trained D vs D* = p_t / (p_t + p_g): largest gap where the data lie", BOOK_OPTIMAL_D,
               f"max |D - D*| = {gap:.3f} over x in [{grid[where][0]:.1f}, {grid[where][-1]:.1f}]",
               data=data_fixed, matches=gap < D_TOLERANCE,
               reason="" if gap < D_TOLERANCE else f"gap {gap:.3f} >= {D_TOLERANCE}")

    # 2-3. The equilibrium of a GAN.
    gan = train_gan(steps, batch, ctx.seed, logger=ctx.logger, prefix="ch57_gan")
    tail = max(1, steps // 10)
    d_real, d_fake = float(np.mean(gan.d_real[-tail:])), float(np.mean(gan.d_fake[-tail:]))
    data_gan = f"GAN [1, 32, 32, 1] x 2 on p_t = N({TARGET_MEAN}, {TARGET_STD}^2), {steps} steps of batch {batch}"
    for label, value in (("true", d_real), ("generated", d_fake)):
        ok = abs(value - BOOK_EQUILIBRIUM_D) < D_TOLERANCE
        ctx.report(f"mean D(x) on {label} points, last {tail} steps", BOOK_EQUILIBRIUM_D, round(value, 3),
                   data=data_gan, matches=ok, reason="" if ok else f"|{value:.3f} - 0.5| >= {D_TOLERANCE}")
    generated = gan.snapshots[steps]
    p_g_estimate = stats.gaussian_kde(generated).pdf
    reals = target_sample(4000, torch.Generator().manual_seed(ctx.seed + 123)).squeeze(1).numpy()
    d_star_on_reals = optimal_discriminator(reals, p_t, p_g_estimate)
    mean_star = float(d_star_on_reals.mean())
    ok = abs(mean_star - BOOK_EQUILIBRIUM_D) < D_TOLERANCE
    ctx.report("D* for the trained generator (its density by KDE), mean on true points", BOOK_EQUILIBRIUM_D,
               round(mean_star, 3), data=data_gan, matches=ok,
               reason="" if ok else f"the generator is not yet at p_g = p_t (|{mean_star:.3f} - 0.5| >= {D_TOLERANCE})")
    d_loss = float(np.mean(gan.losses[-tail:]))
    ctx.report("discriminator cross-entropy at the end (ln 4 when D = 1/2)", round(math.log(4), 3),
               round(d_loss, 3), data=data_gan, matches=abs(d_loss - math.log(4)) < 0.1,
               source="Goodfellow et al. 2014", reason=f"{d_loss:.3f} is not within 0.1 of ln 4")
    ctx.logger.scalars(steps, {"ch57/max_gap_D_vs_Dstar": gap, "ch57/D_real_tail": d_real,
                               "ch57/D_fake_tail": d_fake, "ch57/Dstar_trained_generator": mean_star})
    ctx.plot("optimal_discriminator", _figure(grid, learnt, exact, p_t, p_fixed, gan, generated, p_g_estimate))


def _figure(grid, learnt, exact, p_t, p_fixed, gan, generated, p_g_estimate):
    from lab.plots import new_figure

    fig, (ax_star, ax_curve, ax_eq) = new_figure(1, 3, figsize=(15, 4))
    ax_star.plot(grid, p_t(grid), color="tab:blue", lw=1, label="p_t (true)")
    ax_star.plot(grid, p_fixed(grid), color="tab:orange", lw=1, label="p_g (fixed generator)")
    ax_star.plot(grid, exact, "k--", label="D* = p_t / (p_t + p_g)")
    ax_star.plot(grid, learnt, color="tab:red", alpha=0.8, label="trained D")
    ax_star.set(title="the optimal discriminator", xlabel="x")
    ax_star.legend(fontsize=8)
    steps = np.arange(1, len(gan.d_real) + 1)
    ax_curve.plot(steps, gan.d_real, color="tab:blue", lw=0.6, label="mean D on true")
    ax_curve.plot(steps, gan.d_fake, color="tab:orange", lw=0.6, label="mean D on generated")
    ax_curve.axhline(0.5, color="k", ls="--", label="1/2")
    ax_curve.set(title="GAN training: D's output on each kind", xlabel="step", ylim=(0, 1))
    ax_curve.legend(fontsize=8)
    xs = np.linspace(TARGET_MEAN - 4 * TARGET_STD, TARGET_MEAN + 4 * TARGET_STD, 300)
    with torch.no_grad():
        d_final = torch.sigmoid(gan.discriminator(torch.tensor(xs, dtype=torch.float32).unsqueeze(1))).squeeze(1)
    ax_eq.hist(generated, bins=50, density=True, color="tab:orange", alpha=0.5, label="generated")
    ax_eq.plot(xs, p_t(xs), color="tab:blue", label="p_t")
    ax_eq.plot(xs, d_final, color="tab:red", label="final D(x)")
    ax_eq.plot(xs, optimal_discriminator(xs, p_t, p_g_estimate), "k--", lw=1, label="D* (KDE of p_g)")
    ax_eq.axhline(0.5, color="grey", ls=":")
    ax_eq.set(title="after training: D near 1/2 where the data lie", xlabel="x")
    ax_eq.legend(fontsize=8)
    return fig
