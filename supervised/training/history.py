"""What a training run records epoch by epoch (the book's `network.py` prints the same figures
after each epoch, chapter 13), and bare arrays for callers without a `supervised.data.Dataset`."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np


@dataclasses.dataclass
class History:
    """What happened, epoch by epoch (list index 0 is epoch 1).

    Accuracies are fractions in [0, 1] (0.9549 is the book's 95.49%); NaN where that set was
    not evaluated. ``train_cost`` is the cost on the whole training set after the epoch,
    penalty included, as the book's ``total_cost`` (when "train" is not in eval_sets it is
    the mean of the epoch's mini-batch costs instead).
    """

    train_cost: list[float] = dataclasses.field(default_factory=list)
    train_accuracy: list[float] = dataclasses.field(default_factory=list)
    validation_accuracy: list[float] = dataclasses.field(default_factory=list)
    test_accuracy: list[float] = dataclasses.field(default_factory=list)
    epoch_seconds: list[float] = dataclasses.field(default_factory=list)
    lr: list[float] = dataclasses.field(default_factory=list)
    best_epoch: int | None = None  # 1-based epoch of the best validation accuracy
    stopped_early: bool = False
    stop_reason: str = "epochs"  # "epochs", "early_stopping", "lr_floor" or "callback"

    @property
    def epochs(self) -> int:
        return len(self.lr)

    @property
    def best_validation_accuracy(self) -> float:
        return self.validation_accuracy[self.best_epoch - 1] if self.best_epoch else math.nan

    @property
    def epochs_since_best(self) -> int:
        """Epochs since validation accuracy last improved (all of them if it never was measured)."""
        return self.epochs - (self.best_epoch or 0)

    @property
    def elapsed_seconds(self) -> list[float]:
        """Cumulative training seconds at the end of each epoch (chapter 29's x axis)."""
        return list(np.cumsum(self.epoch_seconds))

    def record(self, *, train_cost: float, train_accuracy: float, validation_accuracy: float,
               test_accuracy: float, seconds: float, lr: float) -> None:
        """Append one epoch; a validation accuracy better than every earlier one becomes the best."""
        improved = not math.isnan(validation_accuracy) and (
            self.best_epoch is None or validation_accuracy > self.best_validation_accuracy)
        if improved:
            self.best_epoch = self.epochs + 1
        self.train_cost.append(train_cost)
        self.train_accuracy.append(train_accuracy)
        self.validation_accuracy.append(validation_accuracy)
        self.test_accuracy.append(test_accuracy)
        self.epoch_seconds.append(seconds)
        self.lr.append(lr)

    def final(self, name: str) -> float:
        """Last value of a per-epoch list, e.g. ``history.final("test_accuracy")``."""
        values = getattr(self, name)
        return values[-1] if values else math.nan

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Arrays:
    """Bare train / validation / test arrays, for callers without a `supervised.data.Dataset`.

    Each split is ``(images, labels)`` or None; images (N, features) float, labels (N,) int.
    """

    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray] | None = None
    test: tuple[np.ndarray, np.ndarray] | None = None
