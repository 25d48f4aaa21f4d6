"""Plot helpers: the headless matplotlib backend and one way to save a figure."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # in Jupyter keep the inline backend, so notebooks show figures
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def new_figure(*args, **kwargs):
    """plt.subplots on the headless backend (works without a display)."""
    return plt.subplots(*args, **kwargs)


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Save `fig` as PNG at `path` (creating folders), close it, return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
