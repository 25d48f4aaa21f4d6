"""Progress bars for long work (steps, SPS, last return, ETA), silent with --quiet."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


class _Bar(tqdm):
    """A bar that stops at its total: eight Blackjack lanes can finish two episodes in the step
    that reaches a 100,000-episode budget, and the bar shows the budget done (100000/100000),
    not 100001/100000; the run's summary gives the true count."""

    def update(self, n: float | None = 1) -> bool | None:
        if self.total is not None and n is not None:
            n = max(0, min(n, self.total - self.n))
        return super().update(n)


def progress_bar(total: int | None, desc: str, quiet: bool = False, unit: str = "step") -> tqdm:
    """A tqdm bar on stderr; `bar.set_postfix(...)` shows live figures such as the last return.

    With quiet=True the bar is disabled but keeps the same interface, so callers never branch.
    """
    return _Bar(
        total=total,
        desc=desc,
        unit=unit,
        disable=quiet,
        file=sys.stderr,
        dynamic_ncols=True,
        smoothing=0.05,
        mininterval=0.5,
    )
