"""What every chapter demo is handed: data choice, size, seed, device, a run directory with
its logger, and one way to report a figure beside the book's (`book: X | measured: Y | data: D`).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Any

import numpy as np

from lab.config import parse_overrides
from lab.device import resolve_device
from lab.logger import Logger
from lab.plots import save_figure
from lab.rundir import RunDir
from lab.seeding import seed_everything


#: Every figure line ends with one of these verdicts.
VERDICTS = ("match", "differs", "not comparable")


@dataclasses.dataclass
class Figure:
    """One figure of the chapter: what the reference (the book, unless `source` names another)
    prints and what this run measured, judged `match`, `differs` or `not comparable`.

    `matches` True -> match; False -> differs; None -> not comparable (other data, a figure the
    book only describes). `reason` says why a figure differs or is not comparable (other data,
    reduced size under --quick, ...); `source` is "book" for a figure found in the book's text,
    otherwise where the figure comes from (e.g. "Nielsen (online)", "Vaswani et al. 2017").
    """

    label: str
    book: Any
    measured: Any
    data: str
    matches: bool | None = None
    reason: str = ""
    source: str = "book"

    @property
    def verdict(self) -> str:
        return VERDICTS[0] if self.matches else VERDICTS[1] if self.matches is False else VERDICTS[2]

    def line(self) -> str:
        judged = self.verdict + (f": {self.reason}" if self.reason and self.matches is not True else "")
        return (f"{self.label}: {self.source}: {_fmt(self.book)} | measured: {_fmt(self.measured)} | "
                f"data: {self.data}  [{judged}]")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return str(value)


class DemoContext:
    """Handed to each demo function; use `ctx.report(...)` for every figure the chapter gives."""

    def __init__(self, key: str, run: RunDir, data: str, data_dir: str | None, download: bool,
                 quick: bool, seed: int, device: str, overrides: dict, quiet: bool) -> None:
        self.key, self.run = key, run
        self.data_name, self.data_dir, self.download = data, data_dir, download
        self.quick, self.seed, self.quiet = quick, seed, quiet
        self.device = resolve_device(device)
        self.options = overrides  # --set key=value, for demos that expose knobs
        self.rng = seed_everything(seed)
        self.logger = Logger(run.path)
        self.figures: list[Figure] = []
        self.started = time.perf_counter()
        self._dataset = None

    @classmethod
    def create(cls, key: str, data: str = "auto", data_dir: str | None = None, download: bool = False,
               quick: bool = False, seed: int = 0, device: str = "auto", run_dir: str | None = None,
               overrides: list[str] | None = None, quiet: bool = False) -> "DemoContext":
        run = RunDir.create(key, seed, path=run_dir)
        run.write_config({"demo": key, "data": data, "data_dir": data_dir, "quick": quick,
                          "seed": seed, "device": device, "overrides": overrides or []})
        return cls(key, run, data, data_dir, download, quick, seed, device,
                   parse_overrides(overrides), quiet)

    # -- data --------------------------------------------------------------------------------
    def dataset(self, **options):
        """The chosen dataset (loaded once); prints a notice naming the data actually used."""
        if self._dataset is None:
            from supervised.data import load_dataset

            self._dataset = load_dataset(self.data_name, data_dir=self.data_dir, download=self.download,
                                         seed=self.seed, quiet=self.quiet, **options)
            self.say(f"data: {self._dataset.source}")
        return self._dataset

    # -- output ------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        print(text, flush=True)

    def report(self, label: str, book: Any, measured: Any, data: str = "exact",
               matches: bool | None = None, reason: str = "", source: str = "book") -> Figure:
        """Print and keep `label: book: X | measured: Y | data: D  [verdict: reason]`."""
        figure = Figure(label, book, measured, data, None if matches is None else bool(matches),
                        reason, source)
        self.figures.append(figure)
        print(figure.line(), flush=True)
        return figure

    def plot(self, name: str, fig, step: int = 0) -> None:
        """Save a matplotlib figure to plots/<name>.png and show it in TensorBoard."""
        self.logger.figure(f"plots/{name}", fig, step)
        path = save_figure(fig, self.run.plots / f"{name}.png")
        self.say(f"plot: {path}")

    def finish(self) -> dict:
        result = {
            "demo": self.key, "quick": self.quick, "seed": self.seed,
            "seconds": round(time.perf_counter() - self.started, 2),
            "figures": [dataclasses.asdict(f) | {"book": _jsonable(f.book), "measured": _jsonable(f.measured),
                                                 "verdict": f.verdict}
                        for f in self.figures],
        }
        self.run.write_json("results.json", result)
        self.say(f"{self.key}: {len(self.figures)} figures in {result['seconds']} s -> {self.run.path}")
        return result

    def __enter__(self) -> "DemoContext":
        return self

    def __exit__(self, *exc) -> None:
        self.logger.close()


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, (int, float, str, bool, type(None), dict)) else str(value)
