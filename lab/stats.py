"""Summary statistics for evaluations: mean, standard deviation, median and the half-width of a
95% confidence interval for the mean (normal approximation, 1.96 standard errors)."""

from __future__ import annotations

import math
from typing import Iterable


def summarize(values: Iterable[float]) -> dict:
    """Return {episodes, mean, std, median, ci95} for a list of episode returns.

    `std` is the sample standard deviation (n-1); `ci95` is 1.96 * std / sqrt(n), 0 for n < 2.
    """
    xs = [float(v) for v in values]
    n = len(xs)
    if n == 0:
        raise ValueError("summarize() needs at least one value")
    mean = sum(xs) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else 0.0
    ordered = sorted(xs)
    mid = n // 2
    median = ordered[mid] if n % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])
    ci95 = 1.96 * std / math.sqrt(n) if n > 1 else 0.0
    return {"episodes": n, "mean": mean, "std": std, "median": median, "ci95": ci95}
