"""Shared by the generative demos of chapters 54 and 58-61: one mini-batch Adam loop for any
model trained on images alone (autoencoders, the VAE), held-out squared errors, and tiling
images into one picture for the plots and TensorBoard.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from lab.i18n import tr

#: batch_loss(model, batch, generator) -> (the loss to minimise, scalars to log for that batch)
BatchLoss = Callable[[nn.Module, torch.Tensor, torch.Generator], tuple[torch.Tensor, dict[str, float]]]


def fit_unsupervised(model: nn.Module, images: torch.Tensor, batch_loss: BatchLoss, *, epochs: int, batch: int,
                     lr: float, seed: int, lr_drops: tuple[float, ...] = (), logger=None, tag: str = "",
                     ) -> list[float]:
    """Adam on shuffled mini-batches of `images` for `epochs` epochs; returns each epoch's mean loss.

    lr_drops: fractions of the training at which the learning rate is divided by 10 (a small
    learning rate at the end lets the noise of the mini-batches settle).
    `logger` gets `<tag>/loss` and the batch_loss scalars averaged over each epoch.
    """
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batches_per_epoch = math.ceil(len(images) / batch)
    milestones = sorted({max(1, round(f * epochs * batches_per_epoch)) for f in lr_drops})
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.1)
    model.train()
    epoch_losses: list[float] = []
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        totals: dict[str, float] = {}
        for start in range(0, len(images), batch):
            loss, scalars = batch_loss(model, images[order[start:start + batch]], generator)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            for name, value in {"loss": loss.item(), **scalars}.items():
                totals[name] = totals.get(name, 0.0) + value / batches_per_epoch
        if not math.isfinite(totals["loss"]):
            raise FloatingPointError(tr("{tag}: the loss became {loss} in epoch {epoch}").format(
                tag=tag or tr("training"), loss=totals["loss"], epoch=epoch + 1))
        epoch_losses.append(totals["loss"])
        if logger is not None:
            logger.scalars(epoch + 1, {f"{tag}/{name}": value for name, value in totals.items()})
    model.eval()
    return epoch_losses


def squared_error(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None) -> float:
    """Mean over images of ||target - model(input)||^2 (summed over pixels), in eval mode."""
    targets = inputs if targets is None else targets
    model.eval()
    with torch.no_grad():
        return float(((model(inputs).reshape(targets.shape) - targets) ** 2).flatten(1).sum(1).mean())


def tile(images: np.ndarray | torch.Tensor, columns: int, side: int | None = None, gap: int = 1) -> np.ndarray:
    """(N, side*side) or (N, 1, side, side) images -> one (rows*side, columns*side) picture in
    [0, 1], with a `gap`-pixel white border between the tiles."""
    images = np.asarray(images.detach().cpu() if isinstance(images, torch.Tensor) else images, dtype=np.float32)
    side = side or int(round(math.sqrt(images[0].size)))
    images = np.clip(images.reshape(len(images), side, side), 0.0, 1.0)
    rows = math.ceil(len(images) / columns)
    step = side + gap
    canvas = np.ones((rows * step - gap, columns * step - gap), dtype=np.float32)
    for index, image in enumerate(images):
        r, c = divmod(index, columns)
        canvas[r * step:r * step + side, c * step:c * step + side] = image
    return canvas


def as_rgb(picture: np.ndarray) -> np.ndarray:
    """A grey picture in [0, 1] as the (H, W, 3) uint8 that TensorBoard's image tab shows."""
    grey = (np.clip(picture, 0.0, 1.0) * 255).round().astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)
