"""Progress bars for long work (steps, SPS, last return, ETA), silent with --quiet."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def progress_bar(total: int | None, desc: str, quiet: bool = False, unit: str = "step") -> tqdm:
    """A tqdm bar on stderr; `bar.set_postfix(...)` shows live figures such as the last return.

    With quiet=True the bar is disabled but keeps the same interface, so callers never branch.
    """
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=quiet,
        file=sys.stderr,
        dynamic_ncols=True,
        smoothing=0.05,
        mininterval=0.5,
    )
