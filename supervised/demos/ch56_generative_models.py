"""Chapter 56 (Modelos Generativos – O Diferencial das GANs): a generator is a transform of
simple noise, trained "directly" (a generative matching network) or "indirectly" (a GAN).

An n x n image is a vector of N = n x n numbers (ch056.md:7), and a generator is a network that
turns N simple random numbers into one such vector: the inverse-transform method of chapter 55
with a learnt transform. The chapter's own example is one-dimensional (ch056.md:115): the
target is a Gaussian, and the generator gets a uniform number u (ch056.md:34). Two trainings:

* direct (a generative matching network, ch056.md:58, 88-91): draw uniform inputs, generate,
  measure the Maximum Mean Discrepancy between the generated and the true sample and take a
  gradient step on it. With a Gaussian kernel k(a, b) = exp(-(a - b)^2 / (2 s^2)),
  MMD^2 = E k(x, x') + E k(y, y') - 2 E k(x, y) (Gretton et al. 2012), zero only when the two
  distributions are equal; a few bandwidths s are summed so that far and near both count.
* indirect (a GAN, ch056.md:100-106): a discriminator D learns to tell true from generated
  (binary cross-entropy) while the generator learns to make D say "true" (the non-saturating
  loss -log D(G(u)) of Goodfellow et al. 2014, which has the same fixed point as maximising D's
  error).
* the book's own wording of the generator's step (ch056.md:158): gradient *ascent* on D's
  classification error, i.e. minimising log(1 - D(G(u))) - the "saturating" loss. Goodfellow
  et al. 2014 (section 3) replaced it because its gradient with respect to D's logit is D(G(u)),
  which vanishes when D rejects the generated samples confidently, as it does early on. Measured:
  the generator's gradient norm under both losses once D has been trained against the untrained
  generator, and a GAN trained on the saturating loss beside the non-saturating one.

Both generators are the same `nets` MLP (1 -> 32 -> 32 -> 1) and start from the same weights.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from scipy import stats
from torch import nn

import nets
from lab.i18n import N_, decimal, tr
from supervised.demos import Setting, register
from supervised.demos._training import adversarial_step, discriminator_step, generator_loss, setting
from supervised.demos.ch55_sampling import normal

TARGET_MEAN, TARGET_STD = 4.0, 1.25   # the 1-D Gaussian to learn (the book does not give one)
MMD_BANDWIDTHS = (0.25, 0.5, 1.0, 2.0, 4.0)
#: KS distance under which a generated sample "matches" the target in this demo's judgement.
KS_MATCH = 0.05
BOOK_N_IS_N_SQUARED = "N = n x n"  # ch056.md:7 "vetor dimensional N = n x n"
BOOK_DIRECT = N_("generated distribution ends equal to the true one")  # ch056.md:115
BOOK_EQUILIBRIUM = N_("at equilibrium the generator produces the exact distribution")  # ch056.md:161
GOODFELLOW_SATURATES = N_("early on D rejects the samples confidently and log(1 - D(G(z))) saturates; "
                          "-log D(G(z)) gives much stronger gradients")
GOODFELLOW = N_("Goodfellow et al. 2014, section 3")
#: D's steps against the untrained generator before the gradients are compared: enough for D to
#: reject its samples confidently (mean D(G(u)) about 0.01 at seed 0), as early in a GAN.
D_STEPS_BEFORE_GRADIENT = 200
#: Saturating / non-saturating gradient norm under which the saturating one counts as vanished.
VANISHED_RATIO = 0.1
#: Why a generated sample is judged not to match the target.
KS_TOO_FAR = N_("KS {ks:.3f} >= {limit:g} after {steps} steps")
#: The two trainings as the plots name them.
DIRECT, INDIRECT = N_("direct (MMD)"), N_("indirect (GAN)")


def target_name() -> str:
    """The 1-D target as the output language writes it: N(4.0, 1.25^2)."""
    return normal(TARGET_MEAN, TARGET_STD, spec="")


def make_generator(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nets.build("mlp", sizes=[1, 32, 32, 1], activation="leaky_relu")


def make_discriminator(seed: int) -> nn.Module:
    """Outputs a logit; D(x) = sigmoid(logit) is the probability that x is true."""
    torch.manual_seed(seed + 1)
    return nets.build("mlp", sizes=[1, 32, 32, 1], activation="leaky_relu")


def target_sample(n: int, generator: torch.Generator) -> torch.Tensor:
    return TARGET_MEAN + TARGET_STD * torch.randn(n, 1, generator=generator)


def uniform_noise(n: int, generator: torch.Generator) -> torch.Tensor:
    """The generator's input: uniform on [-1, 1] (chapter 55's U, centred)."""
    return 2.0 * torch.rand(n, 1, generator=generator) - 1.0


def mmd_squared(x: torch.Tensor, y: torch.Tensor, bandwidths=MMD_BANDWIDTHS) -> torch.Tensor:
    """Biased estimate of MMD^2 between samples x and y (rows), summed over Gaussian kernels."""
    xy = torch.cat([x, y])
    squared_distances = torch.cdist(xy, xy) ** 2
    kernel = sum(torch.exp(-squared_distances / (2 * s * s)) for s in bandwidths)
    n = len(x)
    return kernel[:n, :n].mean() + kernel[n:, n:].mean() - 2 * kernel[:n, n:].mean()


@dataclasses.dataclass
class Training:
    """What a 1-D generator training leaves: the generator, snapshots of its samples, curves."""

    generator: nn.Module
    snapshots: dict[int, np.ndarray]          # step -> generated sample
    losses: list[float]
    discriminator: nn.Module | None = None
    d_real: list[float] = dataclasses.field(default_factory=list)   # mean D(x) on true samples
    d_fake: list[float] = dataclasses.field(default_factory=list)   # mean D(G(u)) on generated ones


def _snapshot_steps(steps: int, count: int = 4) -> list[int]:
    return sorted({0, *np.linspace(0, steps, count).astype(int).tolist()[1:]})


def train_direct(steps: int, batch: int, seed: int, lr: float = 3e-3, logger=None) -> Training:
    """A generative matching network: gradient descent on MMD^2(true batch, generated batch)."""
    rng = torch.Generator().manual_seed(seed)
    generator = make_generator(seed)
    optimizer = torch.optim.Adam(generator.parameters(), lr=lr)
    probe = uniform_noise(4000, torch.Generator().manual_seed(seed + 99))
    keep, snapshots, losses = set(_snapshot_steps(steps)), {}, []
    for step in range(steps + 1):
        if step in keep:
            with torch.no_grad():
                snapshots[step] = generator(probe).squeeze(1).numpy()
        if step == steps:
            break
        loss = mmd_squared(generator(uniform_noise(batch, rng)), target_sample(batch, rng))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if logger is not None and step % 50 == 0:
            logger.scalars(step, {"direct/mmd2": loss.item()})
    return Training(generator, snapshots, losses)


def train_gan(steps: int, batch: int, seed: int, lr: float = 1e-3, logger=None, prefix: str = "gan",
              saturating: bool = False) -> Training:
    """A GAN on the 1-D problem: one discriminator step, then one generator step, per batch
    (the generator on the saturating loss, ascent on D's error, when `saturating`)."""
    rng = torch.Generator().manual_seed(seed)
    generator, discriminator = make_generator(seed), make_discriminator(seed)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    probe = uniform_noise(4000, torch.Generator().manual_seed(seed + 99))
    keep = set(_snapshot_steps(steps))
    result = Training(generator, {}, [], discriminator)
    for step in range(steps + 1):
        if step in keep:
            with torch.no_grad():
                result.snapshots[step] = generator(probe).squeeze(1).numpy()
        if step == steps:
            break
        real, fake = target_sample(batch, rng), generator(uniform_noise(batch, rng))
        played = adversarial_step(generator, discriminator, opt_g, opt_d, real, fake, saturating)
        d_loss, g_loss = played["d_loss"], played["g_loss"]
        real_logits, fake_logits = played["real_logits"], played["fake_logits"]
        result.losses.append(d_loss.item())
        result.d_real.append(torch.sigmoid(real_logits).mean().item())
        result.d_fake.append(torch.sigmoid(fake_logits).mean().item())
        if logger is not None and step % 50 == 0:
            logger.scalars(step, {f"{prefix}/d_loss": d_loss.item(), f"{prefix}/g_loss": g_loss.item(),
                                  f"{prefix}/D_real": result.d_real[-1], f"{prefix}/D_fake": result.d_fake[-1]})
    return result


def gradients_once_d_is_sure(seed: int, batch: int, d_steps: int, lr: float = 1e-3) -> dict[str, float]:
    """D trained `d_steps` against the untrained generator (held fixed), as it is early in a
    GAN's training; then, on one batch, the norm of the generator's gradient under the saturating
    and the non-saturating loss, and D's mean output on the generated samples."""
    rng = torch.Generator().manual_seed(seed)
    generator, discriminator = make_generator(seed), make_discriminator(seed)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    for _ in range(d_steps):
        with torch.no_grad():
            fake = generator(uniform_noise(batch, rng))
        discriminator_step(discriminator, opt_d, target_sample(batch, rng), fake)
    noise = uniform_noise(batch, rng)
    norms = {}
    for name, saturating in (("saturating", True), ("non-saturating", False)):
        generator.zero_grad()
        generator_loss(discriminator(generator(noise)), saturating).backward()
        norms[name] = float(torch.sqrt(sum((p.grad ** 2).sum() for p in generator.parameters())))
    with torch.no_grad():
        norms["D(G(z))"] = float(torch.sigmoid(discriminator(generator(noise))).mean())
    return norms


def ks_to_target(sample: np.ndarray) -> float:
    return float(stats.kstest(sample, stats.norm(TARGET_MEAN, TARGET_STD).cdf).statistic)


@register("ch56", "Modelos Generativos – O Diferencial das GANs",
          "Generative models: direct (matching) and indirect (adversarial) training",
          settings=(Setting("steps", 3000, 800, low=1), Setting("batch", 256, low=2)))
def demo(ctx) -> None:
    torch.set_num_threads(1)
    dataset = ctx.dataset()
    side = dataset.image_shape[0]
    ctx.report(tr("an n x n image is a vector of N numbers"), BOOK_N_IS_N_SQUARED,
               tr("{side} x {side} image -> N = {n}").format(side=side, n=dataset.train_images.shape[1]),
               data=dataset.name, by_construction=True,
               reason=tr("the loader stores each image flattened to side x side numbers"))

    steps = setting(ctx, "steps")
    batch = setting(ctx, "batch")
    data = tr("1-D target {target}, uniform input, {steps} steps of batch {batch}").format(
        target=target_name(), steps=steps, batch=batch)
    ctx.say(tr("training two generators [1, 32, 32, 1] on {data}").format(data=data))
    direct = train_direct(steps, batch, ctx.seed, logger=ctx.logger)
    gan = train_gan(steps, batch, ctx.seed, logger=ctx.logger)

    for tag, name, training in (("direct", tr("direct (MMD, generative matching network)"), direct),
                                ("indirect", tr(INDIRECT), gan)):
        final = training.snapshots[steps]
        ks = ks_to_target(final)
        ctx.report(tr("{name}: KS distance of 4,000 generated points to the target").format(name=name),
                   tr(BOOK_DIRECT), tr("KS {ks:.3f}; mean {mean:.2f} (target {target_mean}), std {std:.2f} "
                                       "(target {target_std})").format(
                       ks=ks, mean=final.mean(), target_mean=decimal(str(TARGET_MEAN)), std=final.std(),
                       target_std=decimal(str(TARGET_STD))), data=data, matches=ks < KS_MATCH,
                   reason="" if ks < KS_MATCH else tr(KS_TOO_FAR).format(ks=ks, limit=KS_MATCH, steps=steps))
        ctx.logger.scalars(steps, {f"{tag}/ks_final": ks})
    # The book's generator step, ascent on D's error: its gradient once D is sure, then its training.
    start = gradients_once_d_is_sure(ctx.seed, batch, 0)
    sure = gradients_once_d_is_sure(ctx.seed, batch, D_STEPS_BEFORE_GRADIENT)
    ratio, start_ratio = sure["saturating"] / sure["non-saturating"], start["saturating"] / start["non-saturating"]
    vanished = ratio < VANISHED_RATIO
    ctx.report(tr("generator's gradient norm, saturating vs non-saturating loss, after {steps} steps of D against "
                  "the untrained generator (before any: the same ratio)").format(steps=D_STEPS_BEFORE_GRADIENT),
               tr(GOODFELLOW_SATURATES),
               tr("{saturating:.3g} vs {non_saturating:.3g} (ratio {ratio:.3f}) with mean D(G(u)) {d:.3f}; before: "
                  "ratio {start_ratio:.2f} with D(G(u)) {start_d:.2f}").format(
                   saturating=sure["saturating"], non_saturating=sure["non-saturating"], ratio=ratio,
                   d=sure["D(G(z))"], start_ratio=start_ratio, start_d=start["D(G(z))"]),
               data=tr("1-D target {target}, one batch of {batch}").format(target=target_name(), batch=batch),
               source=tr(GOODFELLOW), matches=vanished,
               reason="" if vanished else tr("ratio {ratio:.3f} >= {limit:g}: the saturating gradient has not "
                                             "vanished").format(ratio=ratio, limit=VANISHED_RATIO))
    ctx.logger.scalars(0, {"ch56/gradient_ratio_saturating_over_non_saturating": ratio,
                           "ch56/gradient_ratio_before_d_trains": start_ratio})
    ascent = train_gan(steps, batch, ctx.seed, logger=ctx.logger, prefix="gan_saturating", saturating=True)
    final = ascent.snapshots[steps]
    ks, gan_ks = ks_to_target(final), ks_to_target(gan.snapshots[steps])
    ctx.report(tr("GAN with the generator by ascent on D's error (saturating): KS distance of 4,000 generated "
                  "points (the non-saturating GAN's)"), tr(BOOK_EQUILIBRIUM),
               tr("KS {ks:.3f} ({gan_ks:.3f}); mean {mean:.2f}, std {std:.2f}").format(
                   ks=ks, gan_ks=gan_ks, mean=final.mean(), std=final.std()), data=data,
               matches=ks < KS_MATCH,
               reason="" if ks < KS_MATCH else tr(KS_TOO_FAR).format(ks=ks, limit=KS_MATCH, steps=steps))
    ctx.plot("generated_histograms", _histograms(direct, gan))
    ctx.plot("learnt_transforms", _transforms(direct, gan))


def _histograms(direct: Training, gan: Training):
    from lab.plots import new_figure

    steps = sorted(direct.snapshots)
    fig, axes = new_figure(2, len(steps), figsize=(3.2 * len(steps), 5.6), sharex=True)
    xs = np.linspace(TARGET_MEAN - 4.5 * TARGET_STD, TARGET_MEAN + 4.5 * TARGET_STD, 300)
    density = stats.norm(TARGET_MEAN, TARGET_STD).pdf(xs)
    for row, (name, training) in enumerate(((tr(DIRECT), direct), (tr(INDIRECT), gan))):
        for col, step in enumerate(steps):
            ax = axes[row, col]
            sample = training.snapshots[step]
            ax.hist(np.clip(sample, xs[0], xs[-1]), bins=50, range=(xs[0], xs[-1]), density=True,
                    color="tab:orange" if row else "tab:green", alpha=0.75)
            ax.plot(xs, density, "k", lw=1.2)
            ax.set_title(tr("{name}, step {step}\nKS {ks:.3f}").format(name=name, step=step, ks=ks_to_target(sample)),
                         fontsize=9)
            ax.set_yticks([])
    fig.suptitle(tr("generated histograms (colour) against the target density (black)"))
    fig.tight_layout()
    return fig


def _transforms(direct: Training, gan: Training):
    """The learnt transform u -> G(u) against the exact inverse-CDF transform of chapter 55.

    A generator may learn the increasing map or its mirror image u -> F^-1((1 - u) / 2)."""
    from lab.plots import new_figure

    u = torch.linspace(-1, 1, 201).unsqueeze(1)
    exact = stats.norm(TARGET_MEAN, TARGET_STD).ppf(np.clip((u.squeeze(1).numpy() + 1) / 2, 1e-3, 1 - 1e-3))
    fig, ax = new_figure(figsize=(5.5, 4))
    with torch.no_grad():
        ax.plot(u, direct.generator(u), color="tab:green", label=tr(DIRECT))
        ax.plot(u, gan.generator(u), color="tab:orange", label=tr(INDIRECT))
    ax.plot(u, exact, "k--", lw=1, label=tr("inverse CDF (increasing)"))
    ax.plot(u, exact[::-1], "k:", lw=1, label=tr("inverse CDF (mirrored)"))
    ax.set(xlabel=tr("uniform input u"), ylabel="G(u)", title=tr("learnt transforms vs the exact one"))
    ax.legend(fontsize=8)
    return fig
