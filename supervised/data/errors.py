"""The data package's errors and its one warning (book chapters 11-13: getting MNIST)."""

from __future__ import annotations

from lab.config import ConfigError


class DataError(ConfigError):
    """Base class of every data problem this module reports. A ConfigError (so a ValueError):
    met from a script, `lab.cli.run_main` prints it as one line with exit status 2."""


class IdxFormatError(DataError):
    """An IDX file is truncated, damaged or not the kind of file expected; names the file."""


class DatasetNotFoundError(DataError, FileNotFoundError):
    """No copy of the requested dataset was found; the message says where we looked and how to get it.

    The message is worded for Python callers (`download=True`, `data_dir`); the parts are kept so a
    command line can say the same in its own flags: `dataset` (the name), `searched` (the folders
    looked in) and `lacking` ("" or which folder lacks which files).
    """

    def __init__(self, message: str, dataset: str = "", searched: str = "", lacking: str = "") -> None:
        super().__init__(message)
        self.dataset, self.searched, self.lacking = dataset, searched, lacking


class DownloadError(DataError):
    """Every mirror failed for a file; the message lists each URL and why it failed."""


class UnknownDatasetError(DataError):
    """The dataset name is not one of DATASET_NAMES."""


class DataFallbackWarning(UserWarning):
    """The full dataset was missing, so a smaller bundled set of real digits is used instead.

    Besides the message (worded for Python callers: `download=True`, `data_dir`), it keeps its
    parts, so a command line can say the same in its own flags (`--download`, `--data-dir`):
    `searched` (the folders looked in), `download_problem` ("" or why a download failed) and
    `stand_in` (the `Dataset.source` of the digits used instead).
    """

    def __init__(self, message: str, searched: str = "", download_problem: str = "", stand_in: str = "") -> None:
        super().__init__(message)
        self.searched, self.download_problem, self.stand_in = searched, download_problem, stand_in
