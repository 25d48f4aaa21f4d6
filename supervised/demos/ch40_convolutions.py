"""Chapters 40-43: convolutional networks - local receptive fields, shared weights, pooling.

* ch40 - the starting point: fully connected nets reach "better than 98%" on MNIST
  (ch040.md:31) yet ignore where the pixels are. The earlier chapters' MLP [784, 100, 10] is
  trained beside two `nets.build("lenet")` conv nets, 20 maps and the 20 + 40 maps of the
  book's plan (ch042.md:40), on the same images with the same budget: Nielsen's recipe for
  ReLU nets (his online chapter 6: eta 0.03, L2 lambda 0.1, mini-batches of 10, softmax).
* ch41 - local receptive fields: a 5x5 field (ch041.md:54) slides 23 pixels each way over
  28x28 pixels, giving 24x24 hidden neurons (ch041.md:75). Read off the module's layer
  shapes, counted with torch's unfold, and each hidden neuron's field found by autograd.
* ch42 - shared weights: 26 parameters per map, 520 for 20 maps against 23,550 for a dense
  layer of 30 neurons, "more than 40 times" (ch042.md:58), all counted on the modules; the
  module's map equals sigma(b + sum w a) with one kernel for every position (ch042.md:7); the
  learned 5x5 filters drawn as the book's figure draws them (darker = larger weight,
  ch042.md:52); a 3-map conv net against [784, 30, 10] for "fewer parameters, same
  performance" (ch042.md:61).
* ch43 - pooling: 2x2 max pooling 24x24 -> 12x12 (ch043.md:26), L2 pooling as the square
  root of the sum of squares (ch043.md:44), the worked net 28x28 -> 3x24x24 -> 3x12x12 -> 10
  (ch043.md:66, :69), trained with each pooling and compared on validation data as the chapter
  advises (ch043.md:47).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import nets
from lab.i18n import N_, tr
from lab.plots import new_figure
from nets.cnn import L2Pool2d, conv_output_size
from supervised.demos import Setting, register
from supervised.demos._training import data_reason, describe, fit, percent, setting

BOOK_MLP_ACCURACY = 98.0  # ch040.md:31 "precisão de classificação melhor que 98%"
BOOK_FIELD = 5  # ch041.md:54 "uma região de 5 × 5, correspondendo a 25 pixels de entrada"
BOOK_HIDDEN_SIDE = 24  # ch041.md:75 "haverá 24 × 24 neurônios na camada oculta"
BOOK_SLIDES = 23  # ch041.md:75 "mover o campo receptivo local 23 neurônios para o lado"
BOOK_PARAMS_PER_MAP = 26  # ch042.md:58 "cada mapa de recursos requer 26 parâmetros"
BOOK_CONV_PARAMS = 520  # ch042.md:58 "20 × 26 = 520 parâmetros"
BOOK_DENSE_PARAMS = 23_550  # ch042.md:58 "um total de 23.550 parâmetros"
BOOK_RATIO = 40  # ch042.md:58 "mais de 40 vezes mais parâmetros"
BOOK_PLAN_MAPS = (20, 40)  # ch042.md:40 "camadas convolucionais com 20 e 40 mapas de recursos"
BOOK_LENET5_MAPS = 6  # ch042.md:40 "LeNet-5 ... usou 6 mapas de recursos, cada um associado a um campo receptivo local 5 × 5"
BOOK_POOLED_SIDE = 12  # ch043.md:26 "após o agrupamento, temos 12 × 12 neurônios"
BOOK_WORKED_NET = "28×28 → 3×24×24 → 3×12×12 → 10"  # ch043.md:66, :69
NIELSEN_TWO_CONV_RELU = 99.23  # Nielsen (online) ch. 6: 20 + 40 maps, ReLU, eta 0.03, lambda 0.1, 60 epochs

#: The same training for every net of these chapters: Nielsen's recipe for his ReLU conv nets.
RECIPE = dict(cost="log_likelihood", lr=0.03, l2=0.1, batch_size=10)
MNIST_SIDE = 28

#: name -> (what it is, shown through tr(); nets.build kind, options); `side` and `padding` are filled in per dataset.
NETS = {
    "mlp_100": (N_("MLP [784, 100, 10]"), "mlp", dict(hidden=100)),
    "mlp_30": (N_("MLP [784, 30, 10]"), "mlp", dict(hidden=30)),
    "lenet_20": (N_("conv 20 maps + 100 hidden"), "lenet", dict(maps=[20], hidden=100)),
    "lenet_20_40": (N_("conv 20 + 40 maps + 100 hidden"), "lenet", dict(maps=list(BOOK_PLAN_MAPS), hidden=100)),
    "worked_max": (N_("worked net, 3 maps, max pooling"), "lenet", dict(maps=[3], hidden=0, pooling="max")),
    "worked_l2": (N_("worked net, 3 maps, L2 pooling"), "lenet", dict(maps=[3], hidden=0, pooling="l2")),
}
#: The pooling of each worked net, as chapter 43's verdict names the one the validation data pick.
POOLINGS = {"worked_max": N_("max pooling"), "worked_l2": N_("L2 pooling")}
#: Why a figure of a module's count or shape would differ: the module holds another number than the book's.
OTHER_COUNT = N_("the module holds another number of parameters")


def padding_for(side: int, stages: int = 2, kernel: int = BOOK_FIELD) -> int:
    """0 (the book's unpadded convolution) when `stages` conv + 2x2-pool stages fit a
    side x side image, else kernel // 2 so they do (scikit-learn's 8x8 digits)."""
    size = side
    for _ in range(stages):
        size = conv_output_size(size, kernel) // 2
    return 0 if size >= 1 else kernel // 2


def build(name: str, side: int, seed: int) -> nn.Module:
    """Net `name` of NETS for side x side images, initialised from `seed`."""
    _, kind, options = NETS[name]
    torch.manual_seed(seed)
    if kind == "mlp":
        return nets.build("mlp", sizes=[side * side, options["hidden"], 10], activation="relu")
    return nets.build("lenet", activation="relu", input_size=side, padding=padding_for(side), **options)


#: Nets trained in this process, keyed by what determines them, so that `demo.py --all` trains
#: each once for chapters 40-43.
_TRAINED: dict[tuple, tuple] = {}


#: The settings of every demo here that trains a net through `trained` (ch40, ch42, ch43).
TRAINING = (Setting("epochs", 20, 3, low=1), Setting("train_size", None, 2_000, kind=int, low=100))


def trained(ctx, name: str):
    """(model, history, initial first-layer kernels or None, training images) for net `name`,
    trained by RECIPE on the demo's device and handed back on the CPU for the analyses."""
    dataset = ctx.dataset()
    epochs = setting(ctx, "epochs")
    n_train = setting(ctx, "train_size")
    key = (name, ctx.seed, str(ctx.device), dataset.source, epochs, n_train)
    if key in _TRAINED:
        return _TRAINED[key]
    model = build(name, dataset.image_shape[0], ctx.seed)
    initial = model.convs[0].weight.detach().clone() if hasattr(model, "convs") else None
    ctx.say(tr("training {net} ({count:,} parameters): eta {lr:g}, lambda {l2:g}, mini-batch {batch}, "
               "{epochs} epochs").format(net=tr(NETS[name][0]), count=nets.count_parameters(model), lr=RECIPE["lr"],
                                         l2=RECIPE["l2"], batch=RECIPE["batch_size"], epochs=epochs))
    history = fit(ctx, model, dataset, name, epochs=epochs, train_subset=n_train,
                  eval_sets=("validation", "test"), **RECIPE)
    _TRAINED[key] = (model.cpu(), history, initial.cpu() if initial is not None else None, n_train)
    return _TRAINED[key]


def two_standard_errors(first_percent: float, second_percent: float, n_images: int) -> float:
    """Two standard errors (in points) of the difference of two accuracies, each measured on
    n_images: the gap below which two nets count as performing the same."""
    p, q = first_percent / 100, second_percent / 100
    return 200 * math.sqrt((p * (1 - p) + q * (1 - q)) / n_images)


def _percent(value: float) -> str:
    """An accuracy in percent with two decimals, in the output language's decimal mark."""
    return tr("{value:.2f}%").format(value=value)


def accuracy_at_best_validation(history) -> float:
    """The test accuracy of the epoch with the best validation accuracy, in percent."""
    return percent(history.test_accuracy[history.best_epoch - 1])


# --- ch40 -------------------------------------------------------------------------------------

@register("ch40", "Introdução às Redes Neurais Convolucionais",
          "Convolutional nets: a LeNet-style net against the best MLP on the same digits and budget",
          settings=TRAINING)
def introduction(ctx) -> None:
    dataset = ctx.dataset()
    results = {}
    for name in ("mlp_100", "lenet_20", "lenet_20_40"):
        model, history, _, n_train = trained(ctx, name)
        results[name] = (accuracy_at_best_validation(history), history, nets.count_parameters(model))
    data = describe(dataset, n_train, note=tr("test accuracy at the best validation epoch"))
    mlp, conv, deep = (results[n][0] for n in ("mlp_100", "lenet_20", "lenet_20_40"))
    for name, (accuracy, _, count) in results.items():
        ctx.say(tr("{net}: {count:,} parameters, {accuracy:.2f}% test").format(
            net=tr(NETS[name][0]), count=count, accuracy=accuracy))

    reason = data_reason(ctx, dataset, n_train)
    ctx.report(tr("MLP [784, 100, 10] test accuracy"),
               tr("better than {accuracy:.0f}% (ch040.md:31)").format(accuracy=BOOK_MLP_ACCURACY),
               _percent(mlp), data=data, matches=None if reason else mlp > BOOK_MLP_ACCURACY,
               reason=reason or tr("{points:.2f} points short of the book's").format(points=BOOK_MLP_ACCURACY - mlp))
    for name, accuracy in (("lenet_20", conv), ("lenet_20_40", deep)):
        ctx.report(tr("{net} vs MLP [784, 100, 10], same images and budget").format(net=tr(NETS[name][0])),
                   tr("conv nets suit images better than fully connected ones (ch040.md:31-37)"),
                   tr("{first:.2f}% vs {second:.2f}%").format(first=accuracy, second=mlp), data=data,
                   matches=accuracy > mlp,
                   reason=tr("the conv net trails the MLP by {points:.2f} points at this budget").format(
                       points=mlp - accuracy))
    ctx.report(tr("conv net 20 + 40 maps, test accuracy"),
               tr("{accuracy:.2f}% (60 epochs, full MNIST)").format(accuracy=NIELSEN_TWO_CONV_RELU),
               _percent(deep), data=data, matches=None, source=tr("Nielsen (online), chapter 6"),
               reason=(reason or tr("other budget")) + tr("; {epochs} epochs here, 60 in Nielsen's run").format(
                   epochs=results["lenet_20_40"][1].epochs))

    fig, ax = new_figure(figsize=(6.5, 4))
    for name, (_, history, _) in results.items():
        ax.plot(range(1, history.epochs + 1), [100 * a for a in history.test_accuracy], marker=".",
                label=tr(NETS[name][0]))
    ax.set(xlabel=tr("epoch"), ylabel=tr("test accuracy (%)"),
           title=tr("conv nets vs MLP ({data})").format(data=dataset.name))
    ax.legend()
    ctx.plot("conv_vs_mlp", fig)


# --- ch41 -------------------------------------------------------------------------------------

def receptive_field(model: nn.Module, map_index: int, row: int, col: int) -> np.ndarray:
    """The input pixels hidden neuron (map, row, col) of the first conv layer depends on: where
    its gradient with respect to the image is non-zero (a boolean side x side mask)."""
    side = model.input_size
    image = torch.rand(1, model.in_channels, side, side, requires_grad=True)
    model.convs[0](image)[0, map_index, row, col].backward()
    return (image.grad[0].abs().sum(0) > 0).numpy()


@register("ch41", "Campos Receptivos Locais em Redes Neurais Convolucionais",
          "Local receptive fields: a 5x5 field slides over 28x28 pixels, 24x24 hidden neurons")
def receptive_fields(ctx) -> None:
    torch.manual_seed(ctx.seed)
    model = nets.build("lenet", maps=[1], hidden=0, kernel_size=BOOK_FIELD, input_size=MNIST_SIDE)
    shapes = dict(model.layer_shapes())
    side = shapes["conv1"][1:]
    ctx.report(tr("hidden layer of a 5x5 field on 28x28 pixels (lenet layer_shapes)"),
               f"{BOOK_HIDDEN_SIDE} × {BOOK_HIDDEN_SIDE}",
               f"{side[0]} × {side[1]}", matches=side == (BOOK_HIDDEN_SIDE, BOOK_HIDDEN_SIDE),
               reason=tr("the module's output has another size"))
    positions = F.unfold(torch.zeros(1, 1, MNIST_SIDE, MNIST_SIDE), BOOK_FIELD).shape[-1]
    slides = math.isqrt(positions) - 1
    ctx.report(tr("one-pixel moves of the field along a row (torch unfold: positions - 1)"), BOOK_SLIDES,
               slides, matches=slides == BOOK_SLIDES, reason=tr("torch unfold counts another number of positions"))
    first, second = receptive_field(model, 0, 0, 0), receptive_field(model, 0, 0, 1)
    rows, cols = np.nonzero(first)
    ctx.report(tr("input pixels one hidden neuron depends on (non-zero gradient)"), "5 × 5 = 25 (ch041.md:54)",
               tr("{pixels} (rows {top}-{bottom}, columns {left}-{right})").format(
                   pixels=first.sum(), top=rows.min(), bottom=rows.max(), left=cols.min(), right=cols.max()),
               matches=bool(first.sum() == BOOK_FIELD ** 2), reason=tr("the neuron depends on another field"))
    shift = np.nonzero(second)[1].min() - cols.min()
    strided = conv_output_size(MNIST_SIDE, BOOK_FIELD, stride=2)
    ctx.say(tr("the next hidden neuron's field starts {shift} pixel to the right (stride 1); with stride 2 the "
               "hidden layer would be {side} × {side} (ch041.md:78 names the stride, no size)").format(
        shift=shift, side=strided))

    digit = ctx.dataset().test[0][0].reshape(ctx.dataset().image_shape)
    fig, axes = new_figure(1, 2, figsize=(8.5, 4.2))
    axes[0].imshow(digit, cmap="Greys")
    for mask, colour in ((first, "tab:red"), (second, "tab:blue")):
        r, c = np.nonzero(mask)
        axes[0].add_patch(_rectangle(c.min(), r.min(), c.max() - c.min() + 1, r.max() - r.min() + 1, colour))
    axes[0].set_title(tr("5x5 fields of hidden neurons\n(0, 0) red and (0, 1) blue"), fontsize=10)
    with torch.no_grad():
        hidden_map = model.convs[0](torch.as_tensor(digit, dtype=torch.float32)[None, None])[0, 0]
    axes[1].imshow(hidden_map.numpy(), cmap="Greys")
    axes[1].set_title(tr("the {rows}x{columns} hidden layer\n(one map, untrained weights)").format(
        rows=side[0], columns=side[1]), fontsize=10)
    ctx.plot("receptive_fields", fig)


def _rectangle(x: float, y: float, width: float, height: float, colour: str):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), width, height, fill=False, edgecolor=colour, linewidth=2)


# --- ch42 -------------------------------------------------------------------------------------

def shared_weight_map(image: np.ndarray, kernel: np.ndarray, bias: float) -> np.ndarray:
    """The chapter's sum for every hidden neuron (j, k): b + sum_l sum_m w[l, m] a[j + l, k + m],
    with the same w and b at every position (before the activation)."""
    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)
    return bias + np.einsum("jklm,lm->jk", windows, kernel)


def neighbour_correlation(kernels: torch.Tensor) -> float:
    """Mean correlation between horizontally and vertically adjacent weights of each kernel:
    about 0 for weights drawn at random, positive where kernels have light and dark regions."""
    values = []
    for kernel in kernels.detach().reshape(-1, *kernels.shape[-2:]).numpy():
        pairs = np.concatenate([np.stack([kernel[:, :-1].ravel(), kernel[:, 1:].ravel()]),
                                np.stack([kernel[:-1].ravel(), kernel[1:].ravel()])], axis=1)
        values.append(np.corrcoef(pairs)[0, 1])
    return float(np.mean(values))


@register("ch42", "Compartilhamento de Pesos em Redes Neurais Convolucionais",
          "Shared weights: 26 parameters per map, 520 vs 23,550, the learned 5x5 filters",
          settings=TRAINING)
def shared_weights(ctx) -> None:
    torch.manual_seed(ctx.seed)
    conv_net = nets.build("lenet", maps=[20], hidden=100)
    dense_net = nets.build("mlp", sizes=[MNIST_SIDE * MNIST_SIDE, 30, 10])
    conv_params = nets.count_parameters(conv_net.convs[0])
    per_map = conv_params // conv_net.convs[0].out_channels
    dense_params = nets.count_parameters(dense_net.layers[0])
    ctx.report(tr("parameters per feature map (5x5 weights + 1 bias, counted on lenet)"), BOOK_PARAMS_PER_MAP,
               per_map, matches=per_map == BOOK_PARAMS_PER_MAP, reason=tr(OTHER_COUNT))
    ctx.report(tr("parameters of the conv layer with 20 maps"), BOOK_CONV_PARAMS, conv_params,
               matches=conv_params == BOOK_CONV_PARAMS, reason=tr(OTHER_COUNT))
    ctx.report(tr("parameters of a dense layer 784 -> 30 (counted on mlp)"), tr("{count:,}").format(count=BOOK_DENSE_PARAMS),
               tr("{count:,}").format(count=dense_params), matches=dense_params == BOOK_DENSE_PARAMS,
               reason=tr(OTHER_COUNT))
    ratio = dense_params / conv_params
    ctx.report(tr("dense / conv parameters"), tr("more than {ratio}x").format(ratio=BOOK_RATIO),
               tr("{ratio:.1f}x").format(ratio=ratio), matches=ratio > BOOK_RATIO,
               reason=tr("the ratio is not above the book's bound"))
    lenet5 = nets.count_parameters(nets.build("lenet", maps=[BOOK_LENET5_MAPS], hidden=0).convs[0])
    lenet5_book = BOOK_LENET5_MAPS * (BOOK_FIELD * BOOK_FIELD + 1)
    ctx.report(tr("LeNet-5's first layer: 6 maps of 5 × 5 (counted on lenet maps=[6])"),
               tr("{maps} × (5 × 5 + 1) = {count} (from ch042.md:40's 6 maps of 5 × 5)").format(
                   maps=BOOK_LENET5_MAPS, count=lenet5_book), lenet5,
               matches=lenet5 == lenet5_book, reason=tr(OTHER_COUNT))

    dataset = ctx.dataset()
    image = dataset.test[0][0].reshape(dataset.image_shape).astype(np.float32)
    kernel, bias = conv_net.convs[0].weight[0, 0].detach().numpy(), conv_net.convs[0].bias[0].item()
    with torch.no_grad():
        module_map = conv_net.convs[0](torch.from_numpy(image)[None, None])[0, 0].numpy()
    difference = float(np.abs(module_map - shared_weight_map(image, kernel, bias)).max())
    ctx.report(tr("conv map vs b + sum w a with one kernel for all positions (max difference)"),
               tr("the same weights and bias for all 24 × 24 neurons (ch042.md:7)"),
               tr("{difference:.1e}").format(difference=difference),
               data=tr("one {data} test image").format(data=dataset.name), matches=difference < 1e-5,
               reason=tr("the module's map is not the shared-weight sum"))

    model, history, initial, n_train = trained(ctx, "lenet_20")
    learned = model.convs[0].weight.detach()
    structure, chance = neighbour_correlation(learned), neighbour_correlation(initial)
    data = describe(dataset, n_train)
    ctx.report(tr("learned 5x5 filters: correlation of adjacent weights"),
               tr("clear light and dark sub-regions, structure beyond chance (ch042.md:55)"),
               tr("{learned:.2f} learned vs {initial:.2f} at initialisation").format(learned=structure, initial=chance),
               data=data, matches=structure > chance + 0.1,
               reason=tr("the learned filters are hardly smoother than random ones"),
               quick_cannot_judge=tr("{epochs} epochs: too short a run to tell learned structure from the initial "
                                     "weights").format(epochs=history.epochs))

    small, small_history, _, _ = trained(ctx, "worked_max")
    dense, dense_history, _, _ = trained(ctx, "mlp_30")
    small_acc, dense_acc = (accuracy_at_best_validation(h) for h in (small_history, dense_history))
    small_count, dense_count = nets.count_parameters(small), nets.count_parameters(dense)
    noise = two_standard_errors(small_acc, dense_acc, len(dataset.test[1]))
    ctx.report(tr("conv net of 3 maps ({small:,} parameters) vs MLP [784, 30, 10] ({dense:,})").format(
                   small=small_count, dense=dense_count),
               tr("fewer parameters for the same performance (ch042.md:61)"),
               tr("{conv:.2f}% vs {mlp:.2f}% test; gaps under {noise:.2f} points (two standard errors) "
                  "count as the same").format(conv=small_acc, mlp=dense_acc, noise=noise), data=data,
               matches=small_count < dense_count and small_acc >= dense_acc - noise,
               reason=tr("with {ratio:.1f}x fewer parameters the conv net trails by {points:.2f} points, more than "
                         "two standard errors").format(ratio=dense_count / small_count, points=dense_acc - small_acc))

    fig, axes = new_figure(4, 10, figsize=(10, 4.6))
    for row, (kernels, title) in enumerate(((learned, tr("learned")), (initial, tr("at initialisation")))):
        for index in range(20):
            ax = axes[2 * row + index // 10, index % 10]
            kernel = kernels[index, 0].numpy()
            scale = float(np.abs(kernel).max())  # each filter on its own scale, as the book's figure
            # Greys: white for the smallest (most negative) weights, dark for the largest (ch042.md:52).
            ax.imshow(kernel, cmap="Greys", vmin=-scale, vmax=scale)
            ax.set_xticks([]), ax.set_yticks([])
        axes[2 * row, 0].set_title(f"{title}", loc="left", fontsize=9)
    fig.suptitle(tr("the 20 5x5 filters of the first conv layer ({data}, {epochs} epochs)").format(
        data=dataset.name, epochs=history.epochs))
    ctx.plot("learned_filters", fig)


# --- ch43 -------------------------------------------------------------------------------------

@register("ch43", "Camadas de Pooling em Redes Neurais Convolucionais",
          "Pooling: 2x2 max pooling 24 -> 12, L2 pooling, the worked net 28x28 -> 3x24x24 -> 3x12x12 -> 10",
          settings=TRAINING)
def pooling(ctx) -> None:
    shapes = dict(nets.build("lenet", maps=[20], hidden=100).layer_shapes())
    ctx.report(tr("2x2 max pooling of a 24x24 map (lenet layer_shapes)"), f"{BOOK_POOLED_SIDE} × {BOOK_POOLED_SIDE}",
               f"{shapes['pool1'][1]} × {shapes['pool1'][2]}",
               matches=shapes["pool1"][1:] == (BOOK_POOLED_SIDE, BOOK_POOLED_SIDE),
               reason=tr("the module's output has another size"))
    window = torch.tensor([[[[1.0, -2.0], [3.0, 4.0]]]])
    l2 = float(L2Pool2d(2)(window))
    by_hand = math.sqrt(sum(v * v for v in window.flatten().tolist()))
    ctx.report(tr("L2 pooling of the 2x2 region [[1, -2], [3, 4]] (nets.cnn.L2Pool2d)"),
               tr("sqrt of the sum of squares = {value:.4f} (ch043.md:44)").format(value=by_hand),
               tr("{l2:.4f} (max pooling: {max:.0f})").format(l2=l2, max=float(F.max_pool2d(window, 2))),
               matches=abs(l2 - by_hand) < 1e-5, reason=tr("the module computes another value"))

    worked = dict(nets.build("lenet", maps=[3], hidden=0).layer_shapes())
    measured = (f"{worked['input'][1]}×{worked['input'][2]} → {'×'.join(map(str, worked['conv1']))} → "
                f"{'×'.join(map(str, worked['pool1']))} → {worked['output'][0]}")
    ctx.report(tr("the worked net (lenet maps=[3], hidden=0)"), BOOK_WORKED_NET, measured,
               matches=measured == BOOK_WORKED_NET, reason=tr("the module's layers have other shapes"))
    # "fewer features pooled, so fewer parameters in the later layers" (ch043.md:41): the worked
    # net's output layer after pooling vs one reading the 3x24x24 conv maps directly.
    worked_net = nets.build("lenet", maps=[3], hidden=0)
    after_pooling = nets.count_parameters(worked_net.output_layer)
    with torch.no_grad():
        unpooled = worked_net.convs[0](torch.zeros(1, 1, MNIST_SIDE, MNIST_SIDE)).numel()
    without_pooling = nets.count_parameters(nn.Linear(unpooled, worked_net.out_features))
    ctx.report(tr("parameters of the worked net's output layer: after 2x2 pooling vs on the unpooled 3x24x24 maps"),
               tr("pooling leaves fewer features, so fewer parameters in the later layers (ch043.md:41); "
                  "3×12×12×10+10 = {pooled:,} vs 3×24×24×10+10 = {unpooled:,} from ch043.md:66's sizes").format(
                   pooled=4_330, unpooled=17_290),
               tr("{pooled:,} vs {unpooled:,}").format(pooled=after_pooling, unpooled=without_pooling),
               matches=(after_pooling, without_pooling) == (4_330, 17_290),
               reason=tr("the layers hold other numbers of parameters"))

    dataset = ctx.dataset()
    runs = {name: trained(ctx, name) for name in ("worked_max", "worked_l2")}
    validation = {name: percent(run[1].best_validation_accuracy) for name, run in runs.items()}
    winner = max(validation, key=validation.get)
    ctx.report(tr("worked net: best validation accuracy, max vs L2 pooling"),
               tr("both are widely used; compare them on validation data (ch043.md:44-47)"),
               tr("{first:.2f}% vs {second:.2f}%").format(first=validation["worked_max"], second=validation["worked_l2"]),
               data=describe(dataset, runs["worked_max"][3]), matches=None,
               reason=tr("the book names no winner; here the validation data pick {pooling}").format(
                   pooling=tr(POOLINGS[winner])))

    model = runs["worked_max"][0]
    image = torch.as_tensor(dataset.test[0][0].reshape(dataset.image_shape), dtype=torch.float32)[None, None]
    with torch.no_grad():
        feature = model.activation(model.convs[0](image))[:, :1]
    panels = [(tr("input"), image), (tr("feature map 1 (ReLU)"), feature),
              (tr("2x2 max pooling"), F.max_pool2d(feature, 2)), (tr("2x2 L2 pooling"), L2Pool2d(2)(feature))]
    fig, axes = new_figure(1, 4, figsize=(11, 3))
    for ax, (title, tensor) in zip(axes, panels):
        ax.imshow(tensor[0, 0].numpy(), cmap="Greys")
        ax.set_title(f"{title}\n{tuple(tensor.shape[-2:])}", fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
    ctx.plot("pooling", fig)
