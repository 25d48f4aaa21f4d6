"""Chapter 57 (Os Detalhes Matemáticos das GANs): the optimal discriminator and the equilibrium.

The book's discriminator minimises the expected *absolute* error when true and generated points
come in equal shares (ch057.md:14): E(D) = 1/2 [integral of p_t (1 - D) + p_g D]. Minimised point
by point (ch057.md:44-47; the formula is an image there), the optimum is a step: D*(x) = 1 where
p_t(x) > p_g(x) and 0 elsewhere. At p_g = p_t every D makes the same error, 1/2: the
discriminator "cannot do better than being right one time in two" (ch057.md:80), an accuracy.
Goodfellow et al. 2014 use the cross-entropy instead, whose optimum is the smooth
D*(x) = p_t(x) / (p_t(x) + p_g(x)), equal to 1/2 everywhere at p_g = p_t (the book's ch056.md:161
says the same of the equilibrium: "probabilidade 1/2").

Measured here on chapter 56's 1-D problem, each line labelled with its source:
1. Against a *fixed* Gaussian p_g, a discriminator trained on the absolute error learns the
   book's step, and one trained on the cross-entropy learns Goodfellow's curve.
2. The equilibrium of chapter 56's GAN (`train_gan`, cross-entropy): its discriminator's accuracy
   on fresh true and generated points (the book's one time in two), its mean output on each
   (1/2), and D* computed from the trained generator's density (a kernel density estimate).
3. The discriminator's cross-entropy -[ln D(x) + ln(1 - D(G(u)))] tends to ln 4 = 1.386, its
   value when D = 1/2 (Goodfellow et al. 2014, Theorem 1).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats

from lab.i18n import N_, decimal, tr
from supervised.demos import Setting, register
from supervised.demos._training import setting
from supervised.demos.ch55_sampling import normal
from supervised.demos.ch56_generative_models import (
    TARGET_MEAN,
    TARGET_STD,
    make_discriminator,
    target_name,
    target_sample,
    train_gan,
)

BOOK_EQUILIBRIUM_ACCURACY = 0.5  # ch057.md:80 "verdadeiro em um caso a cada dois"
BOOK_EQUILIBRIUM_D = 0.5  # ch056.md:161 "com probabilidade 1/2"
#: The pointwise minimum of the expected absolute error (ch057.md:14, :44-47).
BOOK_OPTIMAL_D = N_("D*(x) = 1 where p_t(x) > p_g(x), else 0")
GOODFELLOW = N_("Goodfellow et al. 2014, Proposition 1")
GOODFELLOW_OPTIMAL_D = "D*(x) = p_t(x) / (p_t(x) + p_g(x))"
#: A fixed, wrong generator for the D* check: its samples are N(FIXED_G_MEAN, FIXED_G_STD^2).
FIXED_G_MEAN, FIXED_G_STD = 2.0, 1.0
#: How close (absolute) to 1/2, and to D*, a measured discriminator must be to count as a match.
D_TOLERANCE = 0.05
#: Why a learnt discriminator is judged too far from D*.
GAP_TOO_LARGE = N_("gap {gap:.3f} >= {limit:g}")
#: Why a measured D is judged too far from 1/2.
NOT_ONE_HALF = N_("|{value:.3f} - 0.5| >= {limit:g}")


def optimal_discriminator(x: np.ndarray, p_t, p_g) -> np.ndarray:
    """D*(x) = p_t / (p_t + p_g), for density functions p_t and p_g."""
    t, g = p_t(x), p_g(x)
    return t / (t + g)


def fit_discriminator(steps: int, batch: int, seed: int, loss_name: str = "cross-entropy") -> torch.nn.Module:
    """Train D on true samples vs samples of the fixed N(2, 1) generator, by binary cross-entropy
    (Goodfellow's loss) or by the expected absolute error (the book's, ch057.md:14)."""
    rng = torch.Generator().manual_seed(seed + 7)
    discriminator = make_discriminator(seed)
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=3e-3)
    for _ in range(steps):
        real = target_sample(batch, rng)
        fake = FIXED_G_MEAN + FIXED_G_STD * torch.randn(batch, 1, generator=rng)
        if loss_name == "absolute":
            loss = (1 - torch.sigmoid(discriminator(real))).mean() + torch.sigmoid(discriminator(fake)).mean()
        else:
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

    # 1. D* against a fixed generator, for each loss.
    grid = np.linspace(-1.0, 9.0, 401)
    mass = 0.5 * (p_t(grid) + p_fixed(grid))
    where = mass > 0.02  # where true or generated points actually fall

    def learnt_curve(loss_name: str) -> np.ndarray:
        discriminator = fit_discriminator(d_steps, batch, ctx.seed, loss_name)
        with torch.no_grad():
            inputs = torch.tensor(grid, dtype=torch.float32).unsqueeze(1)
            return torch.sigmoid(discriminator(inputs)).squeeze(1).numpy()

    data_fixed = tr("p_t = {target}, fixed p_g = {fixed}, D [1, 32, 32, 1] trained {steps} steps").format(
        target=target_name(), fixed=normal(FIXED_G_MEAN, FIXED_G_STD, spec=""), steps=d_steps)
    step = (p_t(grid) > p_fixed(grid)).astype(float)
    absolute = learnt_curve("absolute")
    # Where the data lie but not within 0.25 of the boundary p_t = p_g, where no finite net
    # can jump; there the learnt D must sit on the step's side and near 0 or 1.
    boundary = grid[np.argmax(step[:-1] != step[1:])]
    away = where & (np.abs(grid - boundary) > 0.25)
    step_gap = float(np.abs(absolute - step)[away].max())
    ctx.report(tr("D trained on the absolute error vs the step D* = 1[p_t > p_g]: largest gap where the data lie "
                  "(beyond 0.25 of the boundary x = {boundary:.2f})").format(boundary=boundary),
               # the book's optimum, for its expected absolute error:
               tr(BOOK_OPTIMAL_D) + " (ch057.md:14, :44-47)",
               tr("max |D - D*| = {gap:.3f}").format(gap=step_gap), data=data_fixed, matches=step_gap < 2 * D_TOLERANCE,
               reason="" if step_gap < 2 * D_TOLERANCE else tr(GAP_TOO_LARGE).format(gap=step_gap,
                                                                                    limit=2 * D_TOLERANCE))
    learnt = learnt_curve("cross-entropy")
    exact = optimal_discriminator(grid, p_t, p_fixed)
    gap = float(np.abs(learnt - exact)[where].max())
    ctx.report(tr("D trained on the cross-entropy vs D* = p_t / (p_t + p_g): largest gap where the data lie"),
               GOODFELLOW_OPTIMAL_D, tr("max |D - D*| = {gap:.3f} over x in [{low:.1f}, {high:.1f}]").format(
                   gap=gap, low=grid[where][0], high=grid[where][-1]),
               data=data_fixed, matches=gap < D_TOLERANCE, source=tr(GOODFELLOW),
               reason="" if gap < D_TOLERANCE else tr(GAP_TOO_LARGE).format(gap=gap, limit=D_TOLERANCE))

    # 2-3. The equilibrium of a GAN.
    gan = train_gan(steps, batch, ctx.seed, logger=ctx.logger, prefix="ch57_gan")
    tail = max(1, steps // 10)
    d_real, d_fake = float(np.mean(gan.d_real[-tail:])), float(np.mean(gan.d_fake[-tail:]))
    data_gan = tr("GAN [1, 32, 32, 1] x 2 on p_t = {target}, {steps} steps of batch {batch}").format(
        target=target_name(), steps=steps, batch=batch)
    generated = gan.snapshots[steps]
    # The book's "right one time in two": the final D's accuracy on fresh points of each kind.
    fresh = torch.Generator().manual_seed(ctx.seed + 321)
    with torch.no_grad():
        on_true = torch.sigmoid(gan.discriminator(target_sample(4000, fresh))).squeeze(1)
        on_generated = torch.sigmoid(gan.discriminator(torch.tensor(generated, dtype=torch.float32).unsqueeze(1)))
    accuracy = 0.5 * float((on_true > 0.5).float().mean()) + 0.5 * float((on_generated <= 0.5).float().mean())
    ok = abs(accuracy - BOOK_EQUILIBRIUM_ACCURACY) < D_TOLERANCE
    ctx.report(tr("the final D's accuracy on 4,000 fresh true + the generator's last points (equal weight)"),
               tr("right one time in two: {accuracy:g} (ch057.md:80)").format(accuracy=BOOK_EQUILIBRIUM_ACCURACY),
               round(accuracy, 3), data=data_gan, matches=ok,
               reason="" if ok else tr(NOT_ONE_HALF).format(value=accuracy, limit=D_TOLERANCE))
    for label, value in ((tr("mean D(x) on true points, last {tail} steps"), d_real),
                         (tr("mean D(x) on generated points, last {tail} steps"), d_fake)):
        ok = abs(value - BOOK_EQUILIBRIUM_D) < D_TOLERANCE
        ctx.report(label.format(tail=tail), decimal(str(BOOK_EQUILIBRIUM_D)) + " (ch056.md:161)",
                   round(value, 3), data=data_gan, matches=ok,
                   reason="" if ok else tr(NOT_ONE_HALF).format(value=value, limit=D_TOLERANCE))
    p_g_estimate = stats.gaussian_kde(generated).pdf
    reals = target_sample(4000, torch.Generator().manual_seed(ctx.seed + 123)).squeeze(1).numpy()
    d_star_on_reals = optimal_discriminator(reals, p_t, p_g_estimate)
    mean_star = float(d_star_on_reals.mean())
    ok = abs(mean_star - BOOK_EQUILIBRIUM_D) < D_TOLERANCE
    ctx.report(tr("D* = p_t / (p_t + p_g) for the trained generator (its density by KDE), mean on true points"),
               BOOK_EQUILIBRIUM_D, round(mean_star, 3), data=data_gan, matches=ok, source=tr(GOODFELLOW),
               reason="" if ok else tr("the generator is not yet at p_g = p_t (|{value:.3f} - 0.5| >= {limit:g})")
               .format(value=mean_star, limit=D_TOLERANCE))
    d_loss = float(np.mean(gan.losses[-tail:]))
    ctx.report(tr("discriminator cross-entropy at the end (ln 4 when D = 1/2)"), round(math.log(4), 3),
               round(d_loss, 3), data=data_gan, matches=abs(d_loss - math.log(4)) < 0.1,
               source="Goodfellow et al. 2014", reason=tr("{loss:.3f} is not within 0.1 of ln 4").format(loss=d_loss))
    ctx.logger.scalars(steps, {"ch57/max_gap_D_vs_Dstar": gap, "ch57/D_real_tail": d_real,
                               "ch57/D_fake_tail": d_fake, "ch57/Dstar_trained_generator": mean_star})
    ctx.plot("optimal_discriminator", _figure(grid, learnt, exact, absolute, step, p_t, p_fixed, gan, generated,
                                              p_g_estimate))


def _figure(grid, learnt, exact, absolute, step, p_t, p_fixed, gan, generated, p_g_estimate):
    from lab.plots import new_figure

    fig, (ax_star, ax_curve, ax_eq) = new_figure(1, 3, figsize=(15, 4))
    ax_star.plot(grid, p_t(grid), color="tab:blue", lw=1, label=tr("p_t (true)"))
    ax_star.plot(grid, p_fixed(grid), color="tab:orange", lw=1, label=tr("p_g (fixed generator)"))
    ax_star.plot(grid, exact, "k--", label=tr("D* = p_t / (p_t + p_g) (Goodfellow, cross-entropy)"))
    ax_star.plot(grid, learnt, color="tab:red", alpha=0.8, label=tr("D trained on the cross-entropy"))
    ax_star.plot(grid, step, "k:", label=tr("D* = 1[p_t > p_g] (the book, absolute error)"))
    ax_star.plot(grid, absolute, color="tab:green", alpha=0.8, label=tr("D trained on the absolute error"))
    ax_star.set(title=tr("the optimal discriminator"), xlabel="x")
    ax_star.legend(fontsize=8)
    steps = np.arange(1, len(gan.d_real) + 1)
    ax_curve.plot(steps, gan.d_real, color="tab:blue", lw=0.6, label=tr("mean D on true"))
    ax_curve.plot(steps, gan.d_fake, color="tab:orange", lw=0.6, label=tr("mean D on generated"))
    ax_curve.axhline(0.5, color="k", ls="--", label="1/2")
    ax_curve.set(title=tr("GAN training: D's output on each kind"), xlabel=tr("step"), ylim=(0, 1))
    ax_curve.legend(fontsize=8)
    xs = np.linspace(TARGET_MEAN - 4 * TARGET_STD, TARGET_MEAN + 4 * TARGET_STD, 300)
    with torch.no_grad():
        d_final = torch.sigmoid(gan.discriminator(torch.tensor(xs, dtype=torch.float32).unsqueeze(1))).squeeze(1)
    ax_eq.hist(generated, bins=50, density=True, color="tab:orange", alpha=0.5, label=tr("generated"))
    ax_eq.plot(xs, p_t(xs), color="tab:blue", label="p_t")
    ax_eq.plot(xs, d_final, color="tab:red", label=tr("final D(x)"))
    ax_eq.plot(xs, optimal_discriminator(xs, p_t, p_g_estimate), "k--", lw=1, label=tr("D* (KDE of p_g)"))
    ax_eq.axhline(0.5, color="grey", ls=":")
    ax_eq.set(title=tr("after training: D near 1/2 where the data lie"), xlabel="x")
    ax_eq.legend(fontsize=8)
    return fig
