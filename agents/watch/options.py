"""record.py's and play.py's options, checked early (docs/design.md: command-line conventions).

Chapters 66-75. Nothing here loads PyTorch, so the scripts refuse a bad value in one line before
they load it; the recording and the live player check the same when they are called from Python.
"""

from __future__ import annotations

from typing import Any

from lab.cli import UsageError
from lab.i18n import tr
from lab.video import FORMATS

from agents.playing import check_episodes, check_play_options

#: how `scripts/play.py` shows a run (agents.watch.live)
MODES = ("watch", "play", "beside")


def check_record_options(episodes: Any, fmt: Any, fps: Any, epsilon: Any, seed: Any) -> None:
    """The recording's options (agents.watch.recording)."""
    if fmt not in FORMATS:
        raise UsageError(tr("--format {fmt} is not valid; choose one of: {choices}").format(
            fmt=repr(fmt), choices=', '.join(FORMATS)))
    check_episodes(episodes)
    if fps is not None and fps < 1:
        raise UsageError(tr("--fps must be a positive integer, got {fps}").format(fps=repr(fps)))
    check_play_options(epsilon=epsilon, seed=seed)


def check_live_options(mode: Any, episodes: Any, delay: Any, seed: Any) -> None:
    """The live player's options (agents.watch.live)."""
    if mode not in MODES:
        raise UsageError(tr("--mode {value} is not valid; choose one of: {choices}").format(
            value=repr(mode), choices=", ".join(MODES)))
    check_play_options(episodes=episodes, seed=seed)
    if delay is not None and not (0.0 <= delay <= 60.0):
        raise UsageError(tr("--delay must be between 0 and 60 seconds, got {value}").format(value=repr(delay)))
