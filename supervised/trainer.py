"""One supervised trainer for every chapter demo (chapters 12-13 and 17-39).

The pieces live in `supervised.training` (costs, gradients, step rules, between-epoch rules,
history, the loop); this module keeps the names the demos import:
``from supervised.trainer import train, Arrays, History, evaluate, ...``.
"""

from supervised.training.costs import (
    COSTS,
    EVAL_CHUNK,
    accuracy,
    as_tensors,
    cost_function,
    evaluate,
    regularization_penalty,
    weight_parameters,
)
from supervised.training.errors import TrainerError
from supervised.training.gradients import BACKPROPS, Autograd, ManualBackprop
from supervised.training.history import Arrays, History
from supervised.training.loop import EVAL_SETS, SINGLE_THREAD_BATCH_LIMIT, train, training_threads
from supervised.training.steps import OPTIMIZERS, Adam, Momentum, SGD, StepRule, make_step_rule
from supervised.training.stopping import SCHEDULES, Callback, EarlyStopping, HalveOnPlateau, Schedule

__all__ = [
    "BACKPROPS", "COSTS", "EVAL_CHUNK", "EVAL_SETS", "OPTIMIZERS", "SCHEDULES", "SINGLE_THREAD_BATCH_LIMIT",
    "Adam", "Arrays", "Autograd", "Callback", "EarlyStopping", "HalveOnPlateau", "History", "ManualBackprop",
    "Momentum", "SGD", "Schedule", "StepRule", "TrainerError",
    "accuracy", "as_tensors", "cost_function", "evaluate", "make_step_rule", "regularization_penalty", "train",
    "training_threads", "weight_parameters",
]
