"""Plot helpers: the headless matplotlib backend, one way to save a figure, and figures drawn
straight to pixels (video frames)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib
import numpy as np

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


def offscreen_figure(width: float, height: float, dpi: float = 100):
    """A figure outside pyplot's bookkeeping, for drawing video frames one after another."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def figure_pixels(fig) -> np.ndarray:
    """The figure drawn as an (H, W, 3) uint8 array (its size in inches times its dpi)."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
