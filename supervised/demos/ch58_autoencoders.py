"""Chapters 58-59 (Introdução aos Autoencoders; Principais Tipos de Autoencoders): an encoder
h = f(x) and a decoder r = g(h) trained so that r is close to x, through a bottleneck.

The book's concrete example (ch058.md:31): the pixels of a 10 x 10 image, n = 100 inputs, and
s = 50 hidden units, so the network must compress; were the inputs independent random numbers
the compression would be "very difficult", while correlated inputs let it find structure. Here
the digits are average-pooled from 28 x 28 to 10 x 10 and every autoencoder of chapter 59 gets
the same 100 inputs and a 50-unit code (`nets.build("autoencoder")` / `"conv_autoencoder"`):

* standard: one hidden layer, Adam and the mean squared error (ch059.md:16);
* multilayer: three hidden layers, symmetric, the middle one the code: 100-75-50-75-100 (ch059.md:22);
* convolutional: a stride-2 convolution over the image instead of the flattened vector (ch059.md:31);
* sparse: an L1 penalty on the code's activity added to the loss, lambda * mean |h| (ch059.md:46);
* denoising: noise added to the input, the clean image the target (ch059.md:64); the book shows a
  noisy "4" coming out "much smoother" (ch058.md:67);
* contractive: the squared Frobenius norm of the Jacobian dh/dx added to the loss (ch059.md:85).

And the counter-example the chapter gives (ch058.md:52-55): a code as wide as the input lets
even a linear encoder and decoder copy the input without learning anything about the data -
a 100-100-100 autoencoder with no nonlinearity, which reconstructs random pixels as well as digits.

Measured: each one's held-out reconstruction error, the compression of digits against random
inputs of the same mean and variance, the sparse code's zeros against the standard one's, the
noisy "4" and all noisy held-out digits restored, and the contractive code's Jacobian.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

import nets
from lab.config import ConfigError
from lab.i18n import N_, decimal, tr
from supervised.demos import Setting, register
from supervised.demos._autoencoding import as_rgb, fit_unsupervised, tile
from supervised.demos._training import describe, setting

BOOK_INPUTS, BOOK_HIDDEN = 100, 50  # "imagem 10 × 10 (100 pixels), portanto n = 100 e ... s = 50" ch058.md:31
BOOK_SIDE = 10  # ch058.md:31
#: The book's claims, in the project's words (the `livro:` side of the figure lines).
BOOK_RANDOM_IS_HARD = N_("independent random inputs: compression very difficult; structure is learnt")  # ch058.md:31
BOOK_STANDARD = N_("three layers, Adam and the mean squared error")  # ch059.md:16
BOOK_MULTILAYER = N_("3 hidden layers, symmetric, the middle one as the code")  # ch059.md:22
BOOK_CONVOLUTIONAL = N_("convolutions over the image instead of the flattened vector")  # ch059.md:31
BOOK_SPARSE = N_("an L1 activity penalty: a sparser representation than the standard autoencoder's")  # ch059.md:46
BOOK_DENOISING = N_("noise added to the input, the autoencoder learns to remove it")  # ch059.md:64
BOOK_SMOOTHER_FOUR = N_("the noisy 4 comes out much smoother")  # ch058.md:67
BOOK_CONTRACTIVE = N_("Frobenius norm of the Jacobian penalised: less sensitive to small variations")  # ch059.md:85
BOOK_LINEAR_COPIES = N_("code as large as the input: even a linear encoder and decoder copy the input, "
                        "learning nothing about the data")  # ch058.md:52-55
BOOK_GIVES_NO_ERROR = N_("the book gives no reconstruction error")
#: Share of the held-out variance left unexplained under which an autoencoder counts as copying.
COPIES = 0.02
#: Adam's step size for every variant (the book names Adam, not its settings).
LEARNING_RATE = 3e-3

VARIANTS = ("standard", "multilayer", "convolutional", "sparse", "denoising", "contractive")
#: Each variant's name as a reader sees it (the chapter's own names: Padrão, Multicamada, ...).
VARIANT_NAMES = {"standard": N_("standard"), "multilayer": N_("multilayer"), "convolutional": N_("convolutional"),
                 "sparse": N_("sparse"), "denoising": N_("denoising"), "contractive": N_("contractive")}
DESCRIPTIONS = {"standard": BOOK_STANDARD, "multilayer": BOOK_MULTILAYER, "convolutional": BOOK_CONVOLUTIONAL,
                "sparse": BOOK_SPARSE, "denoising": BOOK_DENOISING, "contractive": BOOK_CONTRACTIVE}


@dataclasses.dataclass(frozen=True)
class Penalties:
    """What each variant adds to the mean squared error (all zero: the standard autoencoder)."""

    l1_activity: float = 0.0   # lambda * mean |h|
    contractive: float = 0.0   # lambda * ||dh/dx||_F^2 (mean over images)
    input_noise: float = 0.0   # std of the Gaussian noise added to the input (the target stays clean)


def pool_digits(images: np.ndarray | torch.Tensor, side: int) -> torch.Tensor:
    """(N, 784) pixels of 28 x 28 digits -> (N, side*side) by averaging (area) pooling."""
    images = torch.as_tensor(np.asarray(images, dtype=np.float32))
    source = int(round(images.shape[1] ** 0.5))
    if source == side:
        return images.clone()
    return F.adaptive_avg_pool2d(images.view(-1, 1, source, source), side).flatten(1)


def build_variant(name: str, side: int, code: int, seed: int) -> torch.nn.Module:
    """The `nets` model of one variant, for side x side inputs and a `code`-unit code."""
    torch.manual_seed(seed)
    inputs = side * side
    if name == "multilayer":
        middle = (inputs + code) // 2  # halfway between the input and the code
        return nets.build("autoencoder", input_size=inputs, hidden_sizes=[middle, code])
    if name == "convolutional":
        return nets.build("conv_autoencoder", channels=[32], code_size=code, image_size=side)
    return nets.build("autoencoder", input_size=inputs, hidden_sizes=[code])


def equal_size_linear(side: int, seed: int) -> torch.nn.Module:
    """side^2 -> side^2 -> side^2 with no nonlinearity: the code as wide as the input."""
    torch.manual_seed(seed)
    inputs = side * side
    return nets.build("autoencoder", input_size=inputs, hidden_sizes=[inputs], activation="identity",
                      output_activation="identity")


def add_noise(images: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    return images + std * torch.randn(images.shape, generator=generator)


def train_variant(model: torch.nn.Module, images: torch.Tensor, penalties: Penalties, *, epochs: int, seed: int,
                  logger=None, tag: str = "autoencoder") -> list[float]:
    """Adam (LEARNING_RATE, batches of 64) on MSE(g(f(x~)), x) + the variant's penalties, x~ the noisy input."""

    def loss(model, batch, generator):
        inputs = add_noise(batch, penalties.input_noise, generator) if penalties.input_noise else batch
        code = model.encode(inputs)
        mse = ((model.decode(code).reshape(batch.shape) - batch) ** 2).mean()
        total = mse
        if penalties.l1_activity:
            total = total + penalties.l1_activity * code.abs().mean()
        if penalties.contractive:
            total = total + penalties.contractive * model.contractive_penalty(inputs)
        return total, {"mse": mse.item()}

    return fit_unsupervised(model, images, loss, epochs=epochs, batch=64, lr=LEARNING_RATE, seed=seed,
                            logger=logger, tag=tag)


def mse(model: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None) -> float:
    """Mean squared error per pixel of model(inputs) against targets (default: the inputs)."""
    targets = inputs if targets is None else targets
    model.eval()
    with torch.no_grad():
        return float(((model(inputs).reshape(targets.shape) - targets) ** 2).mean())


def unexplained_variance(model: torch.nn.Module, images: torch.Tensor) -> float:
    """sum of squared reconstruction errors / sum of squared deviations from the pixel means."""
    model.eval()
    with torch.no_grad():
        residual = ((model(images) - images) ** 2).sum()
    return float(residual / ((images - images.mean(0)) ** 2).sum())


def code_of(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model.encode(images)


def first_of_digit(labels: np.ndarray, digit: int) -> int:
    found = np.flatnonzero(labels == digit)
    if not len(found):
        raise ConfigError(tr("the held-out images contain no {digit}").format(digit=digit))
    return int(found[0])


def _code_fits_the_image(values: dict) -> None:
    """The pooled image's side must halve twice (the convolutional variant) and the code be narrower
    than the image it encodes."""
    side, code = values["side"], values["hidden"]
    if side % 2 or code >= side * side:
        raise ConfigError(tr("--set side={side} hidden={code}: demo ch58 needs an even side and hidden < side^2").format(
            side=side, code=code))


@register("ch58", "Introdução aos Autoencoders; Principais Tipos de Autoencoders (cap. 59)",
          "Autoencoders on 10 x 10 digits with 50 hidden units: standard, multilayer, convolutional, "
          "sparse, denoising, contractive",
          settings=(Setting("side", BOOK_SIDE, low=4, high=28),
                    Setting("hidden", BOOK_HIDDEN, low=1),
                    Setting("epochs", 40, 8, low=1),
                    Setting("l1", 1e-2, low=0.0),
                    Setting("contractive", 1e-4, low=0.0),
                    Setting("noise", 0.3, above=0.0)),
          check=_code_fits_the_image,
          covers=("ch59",))
def demo(ctx) -> None:
    torch.set_num_threads(1)
    side = setting(ctx, "side")
    code = setting(ctx, "hidden")
    epochs = setting(ctx, "epochs")
    l1 = setting(ctx, "l1")
    contractive = setting(ctx, "contractive")
    noise = setting(ctx, "noise")
    dataset = ctx.dataset()
    train, test = pool_digits(dataset.train[0], side), pool_digits(dataset.test[0], side)
    test_labels = dataset.test[1]
    data = describe(dataset, note=tr("average-pooled to {side} x {side}, {epochs} epochs per autoencoder").format(
        side=side, epochs=epochs))

    penalties = {"standard": Penalties(), "multilayer": Penalties(), "convolutional": Penalties(),
                 "sparse": Penalties(l1_activity=l1), "denoising": Penalties(input_noise=noise),
                 "contractive": Penalties(contractive=contractive)}
    models = {}
    for name in VARIANTS:
        models[name] = build_variant(name, side, code, ctx.seed)
        train_variant(models[name], train, penalties[name], epochs=epochs, seed=ctx.seed, logger=ctx.logger,
                      tag=f"autoencoder_{name}")

    standard = models["standard"]
    shape = (standard.input_size, standard.code_size)
    book_shape = (BOOK_INPUTS, BOOK_HIDDEN)
    ctx.report(tr("the book's example: inputs n and hidden units s of the standard autoencoder"), book_shape, shape,
               data=tr("built by nets.build('autoencoder') for {side} x {side} inputs").format(side=side),
               by_construction=shape == book_shape,
               reason=tr("built with n = side x side and s = hidden set to the book's; read back, not measured")
               if shape == book_shape else tr("--set side={side} hidden={code} chose another size").format(
                   side=side, code=code))

    # Every variant's held-out reconstruction error (the book gives none).
    errors = {name: mse(model, test) for name, model in models.items()}
    for name in VARIANTS:
        ctx.report(tr("{variant}: held-out reconstruction MSE per pixel").format(variant=tr(VARIANT_NAMES[name])),
                   tr(DESCRIPTIONS[name]), round(errors[name], 5), data=data, matches=None,
                   reason=tr(BOOK_GIVES_NO_ERROR))
    ctx.logger.scalars(0, {f"ch58/held_out_mse/{name}": value for name, value in errors.items()})

    # Structure vs random inputs: the same standard autoencoder on independent Gaussian pixels.
    generator = torch.Generator().manual_seed(ctx.seed + 3)
    mean, std = train.mean(0), train.std(0)
    random_train = mean + std * torch.randn(train.shape, generator=generator)
    random_test = mean + std * torch.randn(test.shape, generator=generator)
    on_random = build_variant("standard", side, code, ctx.seed)
    train_variant(on_random, random_train, Penalties(), epochs=epochs, seed=ctx.seed, tag="autoencoder_random")
    fvu_digits, fvu_random = unexplained_variance(standard, test), unexplained_variance(on_random, random_test)
    ok = fvu_digits < fvu_random
    ctx.report(tr("share of the held-out variance left unexplained: digits vs independent random pixels"),
               tr(BOOK_RANDOM_IS_HARD), tr("{digits:.3f} vs {random:.3f}").format(digits=fvu_digits, random=fvu_random),
               data=tr("{data}; random pixels: Gaussian, each with its digit pixel's mean and std").format(data=data),
               matches=ok, reason="" if ok else tr("the digits' reconstruction is not better than the random inputs'"))

    # The code as wide as the input: a linear autoencoder copies digits and random pixels alike.
    copies = {}
    for name, (inputs, held_out) in {"digits": (train, test), "random": (random_train, random_test)}.items():
        model = equal_size_linear(side, ctx.seed)
        train_variant(model, inputs, Penalties(), epochs=epochs, seed=ctx.seed, tag=f"autoencoder_copy_{name}")
        copies[name] = unexplained_variance(model, held_out)
    ok = max(copies.values()) < COPIES
    ctx.report(tr("{n}-{n}-{n} linear autoencoder: share of the held-out variance left unexplained, digits vs "
                  "random pixels (the 50-unit one's above)").format(n=side * side), tr(BOOK_LINEAR_COPIES),
               tr("{digits:.4f} vs {random:.4f}").format(digits=copies["digits"], random=copies["random"]),
               data=tr("{data}; random pixels as above").format(data=data), matches=ok,
               reason="" if ok else tr("more than {share} of the variance is left: it does not copy").format(
                   share=decimal(f"{COPIES:.0%}")))
    ctx.logger.scalars(0, {f"ch58/equal_size_linear/unexplained_{name}": v for name, v in copies.items()})

    # Sparse: zeros in the code (ReLU units that are off) and mean |h|.
    codes = {name: code_of(models[name], test) for name in ("standard", "sparse")}
    zeros = {name: float((h == 0).float().mean()) for name, h in codes.items()}
    activity = {name: float(h.abs().mean()) for name, h in codes.items()}
    ok = zeros["sparse"] > zeros["standard"] and activity["sparse"] < activity["standard"]
    ctx.report(tr("code units at zero / mean |h| on held-out digits: sparse vs standard"), tr(BOOK_SPARSE),
               tr("{sparse_zeros:.1f}% / {sparse_h:.3f} vs {standard_zeros:.1f}% / {standard_h:.3f}").format(
                   sparse_zeros=100 * zeros["sparse"], sparse_h=activity["sparse"],
                   standard_zeros=100 * zeros["standard"], standard_h=activity["standard"]),
               data=tr("{data}; lambda = {l1:g}").format(data=data, l1=l1),
               matches=ok, reason="" if ok else tr("the L1 penalty did not make the code sparser"))

    # Denoising: the book's noisy "4", then every held-out digit with the same kind of noise.
    noisy = add_noise(test, noise, torch.Generator().manual_seed(ctx.seed + 4))
    four = first_of_digit(test_labels, 4)
    clean_four, noisy_four = test[four:four + 1], noisy[four:four + 1]
    four_errors = {"noisy input": float(((noisy_four - clean_four) ** 2).mean()),
                   "standard": mse(standard, noisy_four, clean_four),
                   "denoising": mse(models["denoising"], noisy_four, clean_four)}
    ok = four_errors["denoising"] < min(four_errors["noisy input"], four_errors["standard"])
    ctx.report(tr("the noisy 4: MSE to the clean 4 of the input / standard output / denoising output"),
               tr(BOOK_SMOOTHER_FOUR), _errors_said(four_errors),
               data=tr("held-out image {index} (a 4), Gaussian noise std {noise:g}").format(index=four, noise=noise),
               matches=ok, reason="" if ok else tr("the denoising autoencoder's 4 is not the closest to the clean 4"))
    noisy_errors = {"noisy input": float(((noisy - test) ** 2).mean()), "standard": mse(standard, noisy, test),
                    "denoising": mse(models["denoising"], noisy, test)}
    ok = noisy_errors["denoising"] < min(noisy_errors["noisy input"], noisy_errors["standard"])
    ctx.report(tr("all noisy held-out digits: MSE to the clean ones of the input / standard / denoising"),
               tr(BOOK_DENOISING), _errors_said(noisy_errors),
               data=tr("{data}; Gaussian noise std {noise:g}").format(data=data, noise=noise), matches=ok,
               reason="" if ok else tr("the denoising autoencoder does not restore best"))

    # Contractive: ||dh/dx||_F^2 on held-out digits, and the code's response to a small nudge.
    with torch.no_grad():
        jacobian = {name: float(models[name].contractive_penalty(test)) for name in ("standard", "contractive")}
    nudge = 0.01 * torch.randn(test.shape, generator=torch.Generator().manual_seed(ctx.seed + 5))
    response = {name: float((code_of(models[name], test + nudge) - code_of(models[name], test)).norm(dim=1).mean()
                            / nudge.norm(dim=1).mean()) for name in jacobian}
    ok = jacobian["contractive"] < jacobian["standard"] and response["contractive"] < response["standard"]
    ctx.report(tr("||dh/dx||_F^2 / code change per unit input nudge: contractive vs standard"), tr(BOOK_CONTRACTIVE),
               tr("{contractive_j:.2f} / {contractive_r:.3f} vs {standard_j:.2f} / {standard_r:.3f}").format(
                   contractive_j=jacobian["contractive"], contractive_r=response["contractive"],
                   standard_j=jacobian["standard"], standard_r=response["standard"]),
               data=tr("{data}; lambda = {l:g}; nudge: Gaussian, std 0.01 per pixel").format(data=data, l=contractive),
               matches=ok, reason="" if ok else tr("the contractive code is not the less sensitive one"))

    ctx.table("autoencoders", [tr("autoencoder"), tr("held-out MSE per pixel"), tr("noisy -> clean MSE")],
              [[tr(VARIANT_NAMES[name]), errors[name], mse(models[name], noisy, test)] for name in VARIANTS])
    grid = _reconstruction_grid(models, test, noisy, test_labels)
    ctx.logger.image("images/autoencoder_reconstructions", as_rgb(grid[0]))
    ctx.plot("autoencoder_reconstructions", _reconstruction_figure(grid, errors, side))
    ctx.plot("noisy_four", _four_figure(clean_four, noisy_four, standard, models["denoising"], four_errors, side))
    ctx.plot("code_sparsity", _sparsity_figure(codes, zeros))


def _errors_said(errors: dict[str, float]) -> str:
    """'0.0900 / 0.0213 / 0.0150': the squared errors, in order, as the output language writes them."""
    return " / ".join(decimal(f"{value:.4f}") for value in errors.values())


def _reconstruction_grid(models, test, noisy, labels):
    """One held-out example of each digit: originals, each variant's reconstruction, the noisy
    inputs and the denoising autoencoder's output from them; returns (picture, row labels)."""
    shown = [first_of_digit(labels, d) for d in range(10) if (labels == d).any()]
    rows, names = [test[shown]], [tr("held-out")]
    with torch.no_grad():
        for name, model in models.items():
            rows.append(model(test[shown]).reshape(len(shown), -1))
            names.append(tr(VARIANT_NAMES[name]))
        rows += [noisy[shown], models["denoising"](noisy[shown]).reshape(len(shown), -1)]
    names += [tr("noisy input"), tr("denoising(noisy)")]
    return tile(torch.cat(rows), len(shown)), names


def _reconstruction_figure(grid, errors, side):
    from lab.plots import new_figure

    picture, names = grid
    fig, (ax_pictures, ax_bars) = new_figure(1, 2, figsize=(12, 6), gridspec_kw={"width_ratios": [1.2, 1]})
    ax_pictures.imshow(picture, cmap="gray", vmin=0, vmax=1)
    ax_pictures.set_yticks([(side + 1) * i + side / 2 for i in range(len(names))], names, fontsize=8)
    ax_pictures.set_xticks([])
    ax_pictures.set_title(tr("{side} x {side} held-out digits and their reconstructions").format(side=side),
                          fontsize=9)
    ax_bars.barh([tr(VARIANT_NAMES[name]) for name in errors], list(errors.values()), color="tab:blue")
    ax_bars.invert_yaxis()
    ax_bars.set(xlabel=tr("held-out MSE per pixel"), title=tr("reconstruction error of each autoencoder"))
    fig.tight_layout()
    return fig


def _four_figure(clean, noisy, standard, denoising, four_errors, side):
    from lab.plots import new_figure

    with torch.no_grad():
        images = [clean, noisy, standard(noisy), denoising(noisy)]
    titles = [tr("clean 4"), tr("noisy input\nMSE {mse:.4f}").format(mse=four_errors["noisy input"]),
              tr("standard autoencoder\nMSE {mse:.4f}").format(mse=four_errors["standard"]),
              tr("denoising autoencoder\nMSE {mse:.4f}").format(mse=four_errors["denoising"])]
    fig, axes = new_figure(1, 4, figsize=(10, 3))
    for ax, image, title in zip(axes, images, titles):
        ax.imshow(image.reshape(side, side).clamp(0, 1), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(tr("the book's noisy 4 (ch. 58): MSE to the clean 4"), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def _sparsity_figure(codes, zeros):
    from lab.plots import new_figure

    fig, ax = new_figure(figsize=(7, 4))
    top = max(float(h.max()) for h in codes.values())
    for (name, h), colour in zip(codes.items(), ("tab:blue", "tab:orange")):
        ax.hist(h.flatten().numpy(), bins=60, range=(0, top), alpha=0.6, color=colour,
                label=tr("{variant}: {share} of the units at 0").format(variant=tr(VARIANT_NAMES[name]),
                                                                        share=decimal(f"{100 * zeros[name]:.1f}%")))
    ax.set(yscale="log", xlabel=tr("code activation h_j (held-out digits)"), ylabel=tr("count"),
           title=tr("code activations: standard vs sparse (L1 activity penalty)"))
    ax.legend(fontsize=8)
    return fig
