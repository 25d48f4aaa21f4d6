"""Small helpers shared by the training demos of chapters 13-39: build the book's MLP, train it
through `supervised.trainer.train` with the demo's seed, logger and quiet flag, and describe
the data a figure was measured on (the full MNIST of the book, Fashion-MNIST, or a stand-in);
and for the later chapters a linear probe of frozen features (ch78, ch84).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import nets
from lab.i18n import number, tr
from supervised.trainer import History, train

#: The book's split of MNIST (chapter 11): the figures quoted by the book were measured on it.
BOOK_TRAIN_SIZE = 50_000
#: How close (percentage points) an accuracy must be to the book's to count as a match.
MATCH_TOLERANCE_PP = 0.5


def setting(ctx, name: str) -> Any:
    """The value of setting `name` for this run: the user's `--set name=value` (already checked),
    else the `--quick` or full value the demo declares in its `register(..., settings=...)`."""
    try:
        return ctx.settings[name]
    except KeyError:
        raise LookupError(f"demo {ctx.key} reads setting {name!r}, which its register(...) does not declare") \
            from None


def paired_gap(first: torch.Tensor, second: torch.Tensor) -> tuple[float, float]:
    """Mean of first - second over paired test items (the same test sequences given to two
    models) and two standard errors of that mean."""
    difference = (first - second).double()
    return float(difference.mean()), float(2 * difference.std() / math.sqrt(len(difference)))


def linear_probe(train_features: np.ndarray, train_labels: np.ndarray, test_features: np.ndarray,
                 seed: int, n_classes: int | None = None, iterations: int = 100,
                 weight_decay: float = 1e-3) -> np.ndarray:
    """Logistic regression (full-batch L-BFGS) on standardised frozen features; test predictions.
    What a representation knows of a task, with nothing of it trained but one linear layer
    (`n_classes`: default the largest training label + 1)."""
    torch.manual_seed(seed)
    mean, std = train_features.mean(0), train_features.std(0) + 1e-6
    x = torch.from_numpy((train_features - mean) / std).float()
    y = torch.from_numpy(train_labels)
    layer = nn.Linear(x.shape[1], int(train_labels.max()) + 1 if n_classes is None else n_classes)
    optimizer = torch.optim.LBFGS(layer.parameters(), max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(layer(x), y) + weight_decay * layer.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return layer(torch.from_numpy((test_features - mean) / std).float()).argmax(-1).numpy()


def generator_loss(fake_logits: torch.Tensor, saturating: bool = False) -> torch.Tensor:
    """What G minimises, from D's logits on generated samples. Non-saturating (the default):
    -log D(G(z)), make D call them real. Saturating: log(1 - D(G(z))), i.e. ascent on D's own
    cross-entropy on them (the book's "maximise the classification error", ch056.md:158), whose
    gradient D(G(z)) vanishes once D rejects them confidently (Goodfellow et al. 2014, section 3)."""
    if saturating:
        return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def discriminator_step(discriminator: nn.Module, opt_d: torch.optim.Optimizer, real: torch.Tensor,
                       fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """D's step to tell `real` (label 1) from the detached `fake` (label 0) by binary
    cross-entropy; (its loss, its logits on real, on fake)."""
    real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
    d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) \
        + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    return d_loss, real_logits, fake_logits


def adversarial_step(generator: nn.Module, discriminator: nn.Module, opt_g: torch.optim.Optimizer,
                     opt_d: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor,
                     saturating: bool = False) -> dict:
    """One round of chapter 56's game: D takes its `discriminator_step`, then G takes one on
    `generator_loss` (the non-saturating -log D(G(z)) of Goodfellow et al. 2014 unless
    `saturating`). The losses and D's logits, as tensors."""
    d_loss, real_logits, fake_logits = discriminator_step(discriminator, opt_d, real, fake)
    g_loss = generator_loss(discriminator(fake), saturating)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return {"d_loss": d_loss, "g_loss": g_loss, "real_logits": real_logits, "fake_logits": fake_logits}


def mlp(ctx, sizes: list[int], *, init: str = "normal", activation: str = "sigmoid",
        dropout: float = 0.0, seed_offset: int = 0) -> nn.Module:
    """The book's fully connected network, initialised from the demo's seed.

    init "normal" is N(0, 1) for every weight and bias, the book's choice until chapter 25.
    """
    torch.manual_seed(ctx.seed + seed_offset)
    return nets.build("mlp", sizes=sizes, activation=activation, init=init, dropout=dropout).to(ctx.device)


def fit(ctx, model: nn.Module, dataset: Any, name: str, **options: Any) -> History:
    """`train(...)` with the demo's seed, device, logger (tags prefixed `name/`) and quiet flag."""
    options.setdefault("seed", ctx.seed)
    return train(model, dataset, device=ctx.device, logger=ctx.logger, log_prefix=f"{name}/",
                 quiet=ctx.quiet, desc=name, **options)


def train_size(dataset: Any, subset: int | None) -> int:
    """Training images actually used when training on the first `subset` images."""
    total = len(dataset.train[1])
    return total if subset is None else min(total, subset)


def describe(dataset: Any, n_train: int | None = None, note: str = "") -> str:
    """'mnist-subset: 1,000 train / 714 test images' for a figure's data column, in the output
    language (`note` as the caller wrote it)."""
    used = train_size(dataset, n_train)
    extra = f", {note}" if note else ""
    return tr("{name}: {train:,} train / {test:,} test images").format(
        name=dataset.name, train=used, test=len(dataset.test[1])) + extra


def book_comparable(dataset: Any, n_train: int | None, book_train: int = BOOK_TRAIN_SIZE) -> bool:
    """Whether this run used the book's data: full MNIST and the book's number of training images."""
    return getattr(dataset, "name", "") == "mnist" and train_size(dataset, n_train) == book_train \
        and len(dataset.test[1]) == 10_000


def percent(fraction: float) -> float:
    return round(100.0 * float(fraction), 2)


def data_reason(ctx, dataset: Any, n_train: int | None = None, book_train: int = BOOK_TRAIN_SIZE) -> str:
    """Why a figure measured on `dataset` is not comparable with the book's ("" when it is)."""
    if book_comparable(dataset, n_train, book_train):
        return tr("reduced size under --quick") if ctx.quick else ""
    if getattr(dataset, "name", "") == "mnist":
        return tr("other size: {used:,} training images, the book: {book:,}").format(
            used=train_size(dataset, n_train), book=book_train)
    return ctx.other_data(dataset, tr("full MNIST, {count:,} training images").format(count=book_train), n_train)


def report_accuracy(ctx, label: str, book_percent: float, measured_fraction: float, dataset: Any,
                    n_train: int | None = None, book_train: int = BOOK_TRAIN_SIZE, note: str = "",
                    source: str = "book") -> None:
    """Report an accuracy (in %) beside the book's; judged only when the data is the book's."""
    measured = percent(measured_fraction)
    reason = data_reason(ctx, dataset, n_train, book_train)
    matches = None
    if not reason:
        matches = abs(measured - book_percent) <= MATCH_TOLERANCE_PP
        reason = "" if matches else tr("more than {points:g} points from the book's on the same data").format(
            points=MATCH_TOLERANCE_PP)
    ctx.report(label, f"{number(book_percent, 2)}%", f"{number(measured, 2)}%",
               data=describe(dataset, n_train, note),
               matches=matches, reason=reason, source=source)
