"""The failures of the bench that a script reports in one line (lab.cli.run_main), defined
apart from lab.checkpoint so that a script's --help or a one-line error does not load PyTorch
(docs/design.md: command-line conventions)."""

from __future__ import annotations


class CheckpointError(RuntimeError):
    """A checkpoint is missing, truncated, tampered with or of an unknown format."""


class StorageError(CheckpointError):
    """A checkpoint could not be written (disk full, no permission); the previous one is intact."""
