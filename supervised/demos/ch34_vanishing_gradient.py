"""Chapters 34-36 (O problema da dissipação do gradiente, a matemática, outros problemas).

Three experiments of the chapters (Nielsen's chapter 5):

1. Depth alone does not help: [784, 30, 10] and then 2, 3 and 4 hidden layers of 30 sigmoid
   neurons, cross-entropy, eta = 0.1, lambda = 5.0, mini-batch 10, 30 epochs. The book's
   validation accuracies: 96.48%, 96.90%, 96.57%, 96.53%.
2. Why: the gradient dC/db^l of each hidden layer, averaged over the first 1,000 training
   images at initialisation, shrinks towards the input - book: (0.07, 0.31) for
   [784, 30, 30, 10], (0.012, 0.060, 0.283) with 3 hidden layers and (0.003, 0.017, 0.070,
   0.285) with 4. Those numbers come from the book's `generate_gradient.py`, which builds
   `network2.Network(sizes)` with its *default* initialisation - weights N(0, 1/sqrt(n_in)),
   biases N(0, 1) - and the cross-entropy cost; this demo does the same (averaged over several
   seeds, since the values depend on the random draw) and shows N(0, 1) weights beside it.
   Then it trains each network as the script does (full batch of those 1,000 images, eta 0.1,
   lambda 5.0) and plots the norms epoch by epoch.
3. The maths (chapter 35): in a chain of single neurons dC/db_1 = sigma'(z_1) w_2 sigma'(z_2)
   ... w_L sigma'(z_L) dC/da_L. sigma' is at most 1/4, so with |w| < 1 every layer multiplies
   the gradient by less than 1/4: it vanishes. With w = 100 and biases chosen so that every
   z = 0, each factor is w sigma'(0) = 100 / 4 = 25: it explodes (chapter 36). Either way the
   layers learn at very different speeds - the unstable gradient problem.
"""

from __future__ import annotations

import numpy as np
import torch

import nets
from lab.i18n import N_, listed, tr
from supervised.demos import Setting, register
from supervised.demos._training import setting

BOOK_ACCURACY = {1: 0.9648, 2: 0.9690, 3: 0.9657, 4: 0.9653}  # ch034.md:49, :61, :73 (96.53%: not in the text)
BOOK_INITIAL_NORMS = {
    2: (0.07, 0.31),
    3: (0.012, 0.060, 0.283),  # ch034.md:121
    4: (0.003, 0.017, 0.070, 0.285),  # ch034.md:121
}
GRADIENT_IMAGES = 1000
CHAIN_WEIGHT = 100.0
QUICK_TRAIN_IMAGES = 5_000  # --quick trains on at most this many images
#: Why the gradient norms of other images than MNIST digits are not judged against the book's.
NOT_MNIST_LIKE = N_("other data: not 784-pixel MNIST-like images")


# ---------------------------------------------------------------------------------------------
# 3. A chain of single neurons
# ---------------------------------------------------------------------------------------------


def chain_bias_gradients(weights: list[float], x: float = 1.0, z_zero: bool = True,
                         biases: list[float] | None = None) -> list[float]:
    """dC/db_j for a chain x -> neuron 1 -> ... -> neuron L with C = a_L, by autograd.

    With z_zero each bias is -w_j a_{j-1}, so every weighted input z_j is 0 (the chapter's
    choice for the exploding example); otherwise `biases` are used.
    """
    a = torch.tensor(x, dtype=torch.float64)
    bias_tensors = []
    for j, w in enumerate(weights):
        b_value = -w * float(a.detach()) if z_zero else biases[j]
        b = torch.tensor(b_value, dtype=torch.float64, requires_grad=True)
        bias_tensors.append(b)
        a = torch.sigmoid(w * a + b)
    return [float(g) for g in torch.autograd.grad(a, bias_tensors)]


def layer_factors(weights: list[float]) -> list[float]:
    """dC/db_j / dC/db_{j+1} = w_{j+1} sigma'(z_j) for the z = 0 chain."""
    grads = chain_bias_gradients(weights)
    return [grads[j] / grads[j + 1] for j in range(len(grads) - 1)]


def typical_factor(samples: int, rng: np.random.Generator) -> float:
    """Median |w sigma'(z)| for w, z ~ N(0, 1): below 1/4, so gradients shrink layer by layer."""
    w, z = rng.standard_normal(samples), rng.standard_normal(samples)
    s = 1 / (1 + np.exp(-z))
    return float(np.median(np.abs(w) * s * (1 - s)))


# ---------------------------------------------------------------------------------------------
# 2. Bias gradients of the hidden layers
# ---------------------------------------------------------------------------------------------


def hidden_bias_gradient_norms(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor
                               ) -> list[float]:
    """||dC/db^l|| for each hidden layer, C the cross-entropy averaged over `images`."""
    from supervised.trainer import cost_function

    model.zero_grad()
    cost_function("cross_entropy", model(images), labels).backward()
    norms = [float(layer.bias.grad.norm()) for layer in model.layers[:-1]]
    model.zero_grad()
    return norms


def hidden_sizes(n_hidden: int, n_inputs: int = 784, n_outputs: int = 10) -> list[int]:
    return [n_inputs] + [30] * n_hidden + [n_outputs]


def initial_norms(n_hidden: int, images: torch.Tensor, labels: torch.Tensor, seeds, init: str = "scaled",
                  n_outputs: int = 10) -> np.ndarray:
    """Array (seeds, hidden layers) of bias-gradient norms at initialisation."""
    rows = []
    for seed in seeds:
        torch.manual_seed(seed)
        model = nets.build("mlp", sizes=hidden_sizes(n_hidden, images.shape[1], n_outputs), init=init)
        rows.append(hidden_bias_gradient_norms(model, images, labels))
    return np.array(rows)


def norms_during_training(n_hidden: int, images: torch.Tensor, labels: torch.Tensor, epochs: int,
                          seed: int = 0, n_outputs: int = 10) -> np.ndarray:
    """Array (epochs, hidden layers): norms before each epoch of full-batch training
    (eta 0.1, lambda 5.0), as the book's generate_gradient.py does."""
    from supervised.trainer import Arrays, train

    torch.manual_seed(seed)
    model = nets.build("mlp", sizes=hidden_sizes(n_hidden, images.shape[1], n_outputs), init="scaled")
    history = [hidden_bias_gradient_norms(model, images, labels)]

    def record(_epoch, _history, trained_model) -> None:
        history.append(hidden_bias_gradient_norms(trained_model, images, labels))

    train(model, Arrays(train=(images.numpy(), labels.numpy())), cost="cross_entropy", lr=0.1,
          batch_size=len(labels), epochs=epochs - 1, l2=5.0, seed=seed, quiet=True, eval_sets=(),
          callback=record)
    return np.array(history)


# ---------------------------------------------------------------------------------------------
# The demo
# ---------------------------------------------------------------------------------------------


@register("ch34", "O Problema da Dissipação do Gradiente (capítulos 34-36)",
          "The vanishing gradient problem (chapters 34-36)",
          settings=(Setting("gradient_epochs", 500, 40, low=1), Setting("epochs", 30, 3, low=1)),
          covers=("ch35", "ch36"))
def demo(ctx) -> None:
    _chain(ctx)
    dataset = ctx.dataset()
    images = torch.tensor(dataset.train_images[:GRADIENT_IMAGES], dtype=torch.float32)
    labels = torch.tensor(dataset.train_labels[:GRADIENT_IMAGES], dtype=torch.int64)
    mnist_like = dataset.name in ("mnist", "mnist-subset")  # real MNIST digits, if fewer of them
    data = tr("{name}, first {count:,} training images").format(name=dataset.name, count=len(labels))
    _initial_gradients(ctx, images, labels, dataset.num_classes, data, mnist_like)
    _training_evolution(ctx, images, labels, dataset.num_classes, data)
    _depth(ctx, dataset)


def _chain(ctx) -> None:
    factors = layer_factors([CHAIN_WEIGHT] * 4)
    ctx.report(tr("exploding chain, w = 100, z = 0: factor w sigma'(0) per layer"), 25.0,
               listed(tr("{factor:.6g}").format(factor=f) for f in factors),
               matches=all(abs(f - 25.0) < 1e-9 for f in factors), reason=tr("a factor differs from 25"))
    grads = chain_bias_gradients([CHAIN_WEIGHT] * 4)
    ratio = grads[0] / grads[-1]
    ctx.report(tr("exploding chain of 4 neurons: dC/db_1 / dC/db_4"), "25^3 = 15625", tr("{ratio:.6g}").format(ratio=ratio),
               matches=abs(ratio - 25.0**3) < 1e-6, reason=tr("the ratio differs from 25^3"))
    draws = 100_000
    median = typical_factor(draws, ctx.rng)
    ctx.report(tr("vanishing: typical |w sigma'(z)| for w, z ~ N(0, 1)"), tr("below 1/4"), round(median, 4),
               data=tr("median of {draws:,} draws").format(draws=draws), matches=median < 0.25,
               reason=tr("the median is not below 1/4"))


def _initial_gradients(ctx, images, labels, n_outputs: int, data: str, mnist_like: bool) -> None:
    seeds = range(ctx.seed, ctx.seed + (10 if ctx.quick else 30))
    for n_hidden, book in BOOK_INITIAL_NORMS.items():
        norms = initial_norms(n_hidden, images, labels, seeds, "scaled", n_outputs)
        mean, spread = norms.mean(axis=0), norms.std(axis=0)
        # One random draw decides the book's numbers, so ask for the same order of magnitude:
        # every layer within a factor of 2 of the book's value.
        within = bool(np.all(np.abs(np.log(mean / np.array(book))) < np.log(2)))
        ctx.report(tr("||dC/db|| per hidden layer at init, {n_hidden} hidden (book's network2 init)").format(
                       n_hidden=n_hidden),
                   book, "(" + listed(tr("{mean:.2g}+-{std:.1g}").format(mean=m, std=s)
                                                         for m, s in zip(mean, spread)) + ")",
                   data=tr("{data}; mean+-std over {seeds} seeds").format(data=data, seeds=len(seeds)),
                   matches=within if mnist_like else None,
                   reason=tr("outside the seeds' spread") if mnist_like else tr(NOT_MNIST_LIKE))
        book_ratios = np.array(book[1:]) / np.array(book[:-1])
        ratios = mean[1:] / mean[:-1]
        ctx.report(tr("ratio of successive layers' norms, {n_hidden} hidden").format(n_hidden=n_hidden),
                   tuple(np.round(book_ratios, 1).tolist()),
                   tuple(np.round(ratios, 1).tolist()), data=tr("{data}; from the means").format(data=data),
                   matches=bool(np.all(np.abs(np.log(ratios / book_ratios)) < np.log(2))) if mnist_like else None,
                   reason=tr("a ratio is off by more than 2x") if mnist_like else tr(NOT_MNIST_LIKE))
        normal = initial_norms(n_hidden, images, labels, seeds, "normal", n_outputs).mean(axis=0)
        ctx.report(tr("same with N(0, 1) weights, {n_hidden} hidden").format(n_hidden=n_hidden), tr("(not in the book)"),
                   "(" + listed(tr("{norm:.3f}").format(norm=m) for m in normal) + ")",
                   data=tr("{data}; mean over {seeds} seeds").format(data=data, seeds=len(seeds)),
                   matches=None, reason=tr("the book gives these only for its scaled initialisation"))


def _training_evolution(ctx, images, labels, n_outputs: int, data: str) -> None:
    epochs = setting(ctx, "gradient_epochs")
    evolutions = {n: norms_during_training(n, images, labels, epochs, ctx.seed, n_outputs)
                  for n in BOOK_INITIAL_NORMS}
    for n_hidden, norms in evolutions.items():
        ordered = np.mean(np.all(np.diff(norms, axis=1) > 0, axis=1))
        ctx.report(tr("{n_hidden} hidden: epochs where earlier layers have smaller gradients").format(n_hidden=n_hidden),
                   tr("throughout training"), tr("{ordered:.0%} of {epochs}").format(ordered=ordered, epochs=epochs),
                   data=tr("{data}, full-batch eta 0.1").format(data=data), matches=bool(ordered >= 0.9),
                   reason=tr("earlier layers were not smaller in 90% of the epochs"))
    for epoch in range(epochs):  # one TensorBoard/CSV row per epoch, every network and layer
        ctx.logger.scalars(epoch, {f"gradient_norm/{n_hidden}_hidden/layer_{j + 1}": float(value)
                                   for n_hidden, norms in evolutions.items() for j, value in enumerate(norms[epoch])})
    ctx.plot("gradient_norms_during_training", _evolution_figure(evolutions))


def _depth(ctx, dataset) -> None:
    from supervised.trainer import train

    epochs = setting(ctx, "epochs")
    train_size, validation_size = _train_images(ctx, dataset), dataset.sizes[1]
    data = tr("{name}, {train:,} training / {validation:,} validation images, {epochs} epochs").format(
        name=dataset.name, train=train_size, validation=validation_size, epochs=epochs)
    comparable = dataset.name == "mnist" and train_size == 50_000 and epochs == 30
    if not comparable:
        ctx.say(tr("note: the book trains on 50,000 MNIST images for 30 epochs; with {images:,} images and "
                   "{epochs} epochs the deeper networks get far fewer updates and may not have started to "
                   "learn yet - the vanishing gradient itself at work. Accuracies below are not comparable.").format(
            images=train_size, epochs=epochs))
    accuracies = {}
    for n_hidden, book in BOOK_ACCURACY.items():
        torch.manual_seed(ctx.seed)
        model = nets.build("mlp", sizes=hidden_sizes(n_hidden, dataset.input_size, dataset.num_classes),
                           init="scaled")
        history = train(model, dataset, cost="cross_entropy", lr=0.1, batch_size=10, epochs=epochs, l2=5.0,
                        train_subset=_train_images(ctx, dataset), seed=ctx.seed, device=ctx.device,
                        logger=ctx.logger, log_prefix=f"depth_{n_hidden}/", quiet=ctx.quiet,
                        eval_sets=("validation",), desc=tr("{n_hidden} hidden").format(n_hidden=n_hidden))
        accuracy = history.final("validation_accuracy")
        accuracies[n_hidden] = accuracy
        ctx.report(tr("validation accuracy, {n_hidden} hidden layer(s) of 30").format(n_hidden=n_hidden),
                   tr("{accuracy:.2%}").format(accuracy=book), tr("{accuracy:.2%}").format(accuracy=accuracy),
                   data=data, matches=(abs(accuracy - book) <= 0.005) if comparable else None,
                   reason=tr("more than 0.5 points from the book's") if comparable else ctx.other_data(dataset))
    spread = max(accuracies.values()) - min(accuracies.values())
    ctx.report(tr("spread of accuracy over depths 1-4"), tr("under 0.5 points: depth alone does not help"),
               tr("{spread:.2f} points").format(spread=spread * 100), data=data,
               matches=(spread < 0.005) if comparable else None,
               reason=tr("the spread is 0.5 points or more") if comparable else ctx.other_data(dataset))


def _train_images(ctx, dataset) -> int:
    """Training images used: all of them, or at most QUICK_TRAIN_IMAGES with --quick."""
    return min(dataset.sizes[0], QUICK_TRAIN_IMAGES) if ctx.quick else dataset.sizes[0]


def _evolution_figure(evolutions: dict[int, np.ndarray]):
    from lab.plots import new_figure

    fig, axes = new_figure(1, len(evolutions), figsize=(5 * len(evolutions), 4))
    for ax, (n_hidden, norms) in zip(np.atleast_1d(axes), evolutions.items()):
        for layer in range(norms.shape[1]):
            ax.semilogy(norms[:, layer], label=tr("hidden layer {layer}").format(layer=layer + 1))
        ax.set_title(tr("speed of learning: {n_hidden} hidden layers").format(n_hidden=n_hidden))
        ax.set_xlabel(tr("epoch (full batch of {images:,} images)").format(images=GRADIENT_IMAGES))
        ax.set_ylabel(tr("||dC/db|| (log scale)"))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return fig
