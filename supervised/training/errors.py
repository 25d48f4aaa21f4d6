"""The trainer's one error type (chapters 12-39's training)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class TrainerError(ValueError):
    """A bad argument to `train`; the message names it and the valid choices."""


def check_choice(what: str, value: Any, choices: Sequence[str]) -> None:
    """Raise TrainerError naming `what` and the valid `choices` unless `value` is one of them."""
    if value not in choices:
        raise TrainerError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")
