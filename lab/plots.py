"""Plot helpers: the headless matplotlib backend, one way to save a figure, and figures drawn
straight to pixels (video frames).

Numbers on the axes follow the language (lab.i18n, issue 29): in Portuguese the tick labels of
a saved or drawn figure are written with a decimal comma (0,5; 1.000,5), as the rest of the
output is. Only numeric formatters are wrapped: labels a figure sets as text (categories, names,
`set_xticklabels`) are left as they are."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import ticker

from lab.i18n import language

if "ipykernel" not in sys.modules:  # in Jupyter keep the inline backend, so notebooks show figures
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def new_figure(*args, **kwargs):
    """plt.subplots on the headless backend (works without a display)."""
    return plt.subplots(*args, **kwargs)


#: formatters that write a tick's value as a number (others, e.g. FixedFormatter or a
#: category axis's, write text the figure chose)
NUMERIC_FORMATTERS = (ticker.ScalarFormatter, ticker.LogFormatter, ticker.FormatStrFormatter,
                      ticker.StrMethodFormatter, ticker.PercentFormatter, ticker.EngFormatter)
_SWAPPED_MARKS = str.maketrans(",.", ".,")


def decimal_comma(text: str) -> str:
    """A number written in English (0.5, 1,000.5) with Portuguese marks (0,5; 1.000,5); inside
    mathtext ($...$) the comma is braced so that it is not spaced as punctuation."""
    parts = text.translate(_SWAPPED_MARKS).split("$")
    return "$".join(part.replace(",", "{,}") if index % 2 else part for index, part in enumerate(parts))


class DecimalComma(ticker.Formatter):
    """A numeric tick formatter whose labels (and offset, e.g. '1e-3') are given decimal commas."""

    def __init__(self, inner: ticker.Formatter) -> None:
        self.inner = inner

    def set_axis(self, axis) -> None:
        super().set_axis(axis)
        self.inner.set_axis(axis)

    def set_locs(self, locs) -> None:
        self.inner.set_locs(locs)

    def __call__(self, x, pos=None) -> str:
        return decimal_comma(self.inner(x, pos))

    def format_ticks(self, values) -> list[str]:
        return [decimal_comma(label) for label in self.inner.format_ticks(values)]

    def get_offset(self) -> str:
        return decimal_comma(self.inner.get_offset())

    def format_data(self, value) -> str:
        return decimal_comma(self.inner.format_data(value))

    def format_data_short(self, value) -> str:
        return decimal_comma(self.inner.format_data_short(value))


def localise_ticks(fig) -> None:
    """In Portuguese, give every numeric tick label of `fig` a decimal comma (once; English: nothing)."""
    if language() != "pt":
        return
    for axes in fig.axes:
        for axis in getattr(axes, "_axis_map", {"x": axes.xaxis, "y": axes.yaxis}).values():
            for get, put in ((axis.get_major_formatter, axis.set_major_formatter),
                             (axis.get_minor_formatter, axis.set_minor_formatter)):
                formatter = get()
                if isinstance(formatter, NUMERIC_FORMATTERS):
                    put(DecimalComma(formatter))


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Save `fig` as PNG at `path` (creating folders; numbers on its axes in the user's
    language), close it, return the path."""
    localise_ticks(fig)
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
    localise_ticks(fig)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
