"""What happens between epochs: the learning rate of the next epoch, and whether to stop.

* `Schedule` - a caller's function (epoch index from 0, history) -> eta, asked before each epoch;
* `HalveOnPlateau` (chapter 27) - halve eta each time validation accuracy has not improved for
  `patience` epochs; stop once eta would fall below `floor_factor` times the first eta (the
  book suggests 1/128 of it);
* `EarlyStopping` (chapter 28) - stop after N epochs without a better validation accuracy;
* `Callback` - a caller's function (epoch, history, model) -> True to stop.

Each rule sees the History after every epoch and returns why to stop ("" to go on); the first
rule with a reason stops training, and that reason becomes `history.stop_reason`.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from supervised.training.history import History

SCHEDULES = ("halve_on_plateau",)


class Rule:
    """A between-epochs rule: may set the next epoch's eta, may stop training."""

    needs_validation = False

    def next_lr(self, epoch_index: int, history: History, lr: float) -> float:
        return lr

    def after_epoch(self, epoch: int, history: History, model: nn.Module) -> str:
        return ""


class Schedule(Rule):
    def __init__(self, function: Callable[[int, History], float]) -> None:
        self.function = function

    def next_lr(self, epoch_index: int, history: History, lr: float) -> float:
        return float(self.function(epoch_index, history))


class HalveOnPlateau(Rule):
    needs_validation = True

    def __init__(self, first_lr: float, patience: int = 1, floor_factor: float = 1 / 128) -> None:
        self.floor = first_lr * floor_factor * (1 - 1e-9)  # tolerance: 1/128 itself is still allowed
        self.patience, self.stale, self.halvings = patience, 0, 0

    def next_lr(self, epoch_index: int, history: History, lr: float) -> float:
        return lr / 2 ** self.halvings

    def after_epoch(self, epoch: int, history: History, model: nn.Module) -> str:
        self.stale = 0 if history.best_epoch == epoch else self.stale + 1
        if self.stale < self.patience:
            return ""
        self.stale = 0
        if history.lr[-1] / 2 < self.floor:
            return "lr_floor"
        self.halvings += 1
        return ""


class EarlyStopping(Rule):
    needs_validation = True

    def __init__(self, patience: int) -> None:
        self.patience = patience

    def after_epoch(self, epoch: int, history: History, model: nn.Module) -> str:
        return "early_stopping" if history.epochs_since_best >= self.patience else ""


class Callback(Rule):
    def __init__(self, function: Callable[[int, History, nn.Module], bool | None]) -> None:
        self.function = function

    def after_epoch(self, epoch: int, history: History, model: nn.Module) -> str:
        return "callback" if self.function(epoch, history, model) else ""
