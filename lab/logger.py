"""One logger for every run: TensorBoard event files plus metrics.csv with the same scalars
(docs/design.md: TensorBoard tags). Every row is flushed, so a killed run keeps what it logged."""

from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path

import numpy as np
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams as hparams_summary


class Logger:
    """Write scalars, figures, videos and text for one run directory.

    `purge_step` (on resume) drops TensorBoard events logged after the checkpoint being resumed
    from, so the curves do not show the lost work twice.
    """

    def __init__(self, run_path: str | os.PathLike, purge_step: int | None = None):
        self.path = Path(run_path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.writer = SummaryWriter(log_dir=str(self.path), purge_step=purge_step)
        self.csv_path = self.path / "metrics.csv"
        self._columns: list[str] = []
        self._rows: list[dict] = []
        if self.csv_path.exists():
            with open(self.csv_path, newline="") as handle:
                reader = csv.DictReader(handle)
                self._columns = list(reader.fieldnames or [])
                self._rows = [
                    row for row in reader
                    if purge_step is None or int(float(row.get("step", 0) or 0)) < purge_step
                ]
            self._rewrite()

    # -- scalars ---------------------------------------------------------------------------
    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Log each tag -> value at `step` to TensorBoard and as one row of metrics.csv."""
        row = {"step": int(step), "wall_time": round(time.time(), 3)}
        for tag, value in values.items():
            value = float(value)
            self.writer.add_scalar(tag, value, int(step))
            row[tag] = value
        new_columns = [key for key in row if key not in self._columns]
        self._rows.append(row)
        if new_columns:
            self._columns += new_columns
            self._rewrite()
        else:
            with open(self.csv_path, "a", newline="") as handle:
                csv.DictWriter(handle, fieldnames=self._columns).writerow(row)
        self.writer.flush()

    def _rewrite(self) -> None:
        tmp = self.csv_path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self._columns)
            writer.writeheader()
            writer.writerows(self._rows)
        os.replace(tmp, self.csv_path)

    # -- pictures, videos, text ------------------------------------------------------------
    def figure(self, tag: str, figure, step: int = 0) -> None:
        """A matplotlib figure as a TensorBoard image (the figure is left open), numbers on its
        axes in the user's language as in the saved PNG."""
        from lab.plots import localise_ticks  # matplotlib only once a figure is logged

        localise_ticks(figure)
        self.writer.add_figure(tag, figure, global_step=step, close=False)
        self.writer.flush()

    def image(self, tag: str, image: np.ndarray, step: int = 0) -> None:
        """An (H, W, 3) uint8 image."""
        self.writer.add_image(tag, image, global_step=step, dataformats="HWC")
        self.writer.flush()

    def video(self, tag: str, frames: np.ndarray, step: int = 0, fps: int = 15) -> None:
        """A (T, H, W, 3) uint8 clip shown as an animated GIF in TensorBoard's Images tab.

        TensorBoard's image plugin displays any encoded image, and browsers animate GIFs, so
        this needs no moviepy (which torch's add_video requires).
        """
        import imageio.v3 as iio
        from tensorboard.compat.proto.summary_pb2 import Summary

        frames = np.asarray(frames, dtype=np.uint8)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"video frames must be (T, H, W, 3) uint8, got shape {frames.shape}")
        buffer = io.BytesIO()
        iio.imwrite(buffer, frames, extension=".gif", duration=1000 / fps, loop=0)
        image = Summary.Image(
            height=frames.shape[1], width=frames.shape[2], colorspace=3,
            encoded_image_string=buffer.getvalue(),
        )
        self.writer.file_writer.add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)
        self.writer.flush()

    def text(self, tag: str, text: str, step: int = 0) -> None:
        self.writer.add_text(tag, text, global_step=step)
        self.writer.flush()

    def hparams(self, params: dict, metrics: dict[str, float]) -> None:
        """Record hyperparameters with final metrics for TensorBoard's HParams tab."""
        clean = {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in params.items()}
        for summary in hparams_summary(clean, metrics):
            self.writer.file_writer.add_summary(summary)
        for tag, value in metrics.items():
            self.writer.add_scalar(tag, value)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()

    def __enter__(self) -> "Logger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
