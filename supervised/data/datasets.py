"""The Dataset (train / validation / test images and labels, and where they came from) and the
splits the book uses (chapter 11: 50,000 training, 10,000 validation, 10,000 test images).

A full IDX dataset is split as the book splits MNIST: train = the first images of the
training file, validation = images from its held-out tail (50,000-59,999), test = the test
file. A bundled set (sorted by class) is shuffled with a seed first, then cut in order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from lab.i18n import tr
from supervised.data.errors import DatasetNotFoundError, IdxFormatError
from supervised.data.idx import read_idx_images, read_idx_labels
from supervised.data.sources import find_idx_files

#: The book's split (chapter 11): 50,000 train, 10,000 validation, 10,000 test images.
BOOK_SPLIT = (50_000, 10_000, 10_000)

DIGIT_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


@dataclass(frozen=True, repr=False)
class Dataset:
    """Train / validation / test images and labels, plus where they came from.

    Images are float32 in [0, 1] when normalized (else the file's uint8 pixels), shaped
    (N, rows*cols) when flattened or (N, 1, rows, cols); labels are int64 class indices.
    `name` is the data actually used (with name="auto" it may be "mnist-subset");
    `source` is one human-readable line saying what the data is, where it was read from and
    how it was split.
    """

    name: str
    source: str
    train_images: np.ndarray
    train_labels: np.ndarray
    validation_images: np.ndarray
    validation_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    image_shape: tuple[int, int]
    class_names: tuple[str, ...] = DIGIT_CLASSES
    location: Path | None = None
    is_fallback: bool = False

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        return self.train_images, self.train_labels

    @property
    def validation(self) -> tuple[np.ndarray, np.ndarray]:
        return self.validation_images, self.validation_labels

    @property
    def test(self) -> tuple[np.ndarray, np.ndarray]:
        return self.test_images, self.test_labels

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(train, validation, test) image counts."""
        return len(self.train_labels), len(self.validation_labels), len(self.test_labels)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_size(self) -> int:
        """Pixels per image (784 for MNIST): the first layer's width in the book's networks."""
        return self.image_shape[0] * self.image_shape[1]

    def __repr__(self) -> str:
        train, validation, test = self.sizes
        return (
            f"Dataset(name={self.name!r}, train={train}, validation={validation}, test={test}, "
            f"image_shape={self.image_shape}, source={self.source!r})"
        )


def check_split(split: Sequence[int]) -> tuple[int, int, int]:
    try:
        sizes = tuple(int(size) for size in split)
        well_formed = len(sizes) == 3 and all(size == value for size, value in zip(sizes, split))
    except (TypeError, ValueError):
        well_formed = False
    if not well_formed or sizes[0] <= 0 or sizes[1] < 0 or sizes[2] < 0:
        raise ValueError(
            "split must be three whole numbers (train > 0, validation >= 0, test >= 0) "
            f"such as {BOOK_SPLIT}, got {split!r}"
        )
    return sizes  # type: ignore[return-value]


def load_idx_dataset(
    name: str, folder: Path, how: str, split: tuple[int, int, int], *, normalize: bool, flatten: bool
) -> Dataset:
    files, missing = find_idx_files(folder)
    if missing:
        raise DatasetNotFoundError(tr("{folder} lacks {files}").format(folder=folder, files=", ".join(missing)))
    train_images = read_idx_images(files["train_images"])
    train_labels = read_idx_labels(files["train_labels"])
    test_images = read_idx_images(files["test_images"])
    test_labels = read_idx_labels(files["test_labels"])
    for images, labels, image_role, label_role in (
        (train_images, train_labels, "train_images", "train_labels"),
        (test_images, test_labels, "test_images", "test_labels"),
    ):
        if len(images) != len(labels):
            raise IdxFormatError(tr("{images} has {count} images but {labels} has {labelled} labels").format(
                images=files[image_role], count=len(images), labels=files[label_role], labelled=len(labels)))
    if train_images.shape[1:] != test_images.shape[1:]:
        raise IdxFormatError(tr("{train} holds {train_shape} images but {test} holds {test_shape}").format(
            train=files["train_images"], train_shape=train_images.shape[1:], test=files["test_images"],
            test_shape=test_images.shape[1:]))

    n_train, n_validation, n_test = split
    available = len(train_labels)
    # Validation comes from the tail the book holds out (images 50,000-59,999 of 60,000), so a
    # smaller split never trains on an image the book validates on.
    book_validation_start = available - available // 6
    validation_start = max(n_train, min(available - n_validation, book_validation_start))
    if validation_start + n_validation > available or n_test > len(test_labels):
        raise ValueError(
            f"split {split} does not fit {name}: {available} training-file images "
            f"(shared by train and validation) and {len(test_labels)} test images"
        )
    validation_end = validation_start + n_validation
    title = "MNIST" if name == "mnist" else "Fashion-MNIST"
    source = tr(
        "{title} from {folder} ({how}; {files}): train = training-file images 0-{train_last:,}, "
        "validation = {validation_first:,}-{validation_last:,}, test = test-file images 0-{test_last:,} "
        "({train:,}/{validation:,}/{test:,})"
    ).format(title=title, folder=folder, how=tr(how), files=", ".join(path.name for path in files.values()),
             train_last=n_train - 1, validation_first=validation_start, validation_last=validation_end - 1,
             test_last=n_test - 1, train=n_train, validation=n_validation, test=n_test)
    return Dataset(
        name=name,
        source=source,
        train_images=_prepare(train_images[:n_train], normalize, flatten, 255),
        train_labels=train_labels[:n_train],
        validation_images=_prepare(train_images[validation_start:validation_end], normalize, flatten, 255),
        validation_labels=train_labels[validation_start:validation_end],
        test_images=_prepare(test_images[:n_test], normalize, flatten, 255),
        test_labels=test_labels[:n_test],
        image_shape=tuple(train_images.shape[1:]),
        class_names=DIGIT_CLASSES if name == "mnist" else FASHION_CLASSES,
        location=folder,
    )


def split_shuffled(
    name: str,
    origin: str,
    images: np.ndarray,
    labels: np.ndarray,
    split: tuple[int, int, int],
    seed: int,
    max_pixel: int,
    normalize: bool,
    flatten: bool,
) -> Dataset:
    # The bundled sets are sorted by class, so they are shuffled before splitting.
    order = np.random.default_rng(seed).permutation(len(labels))
    images, labels = images[order], labels[order].astype(np.int64)
    sizes = split if sum(split) <= len(labels) else _proportional_sizes(len(labels), split)
    ends = np.cumsum(sizes)
    parts = [(0, ends[0]), (ends[0], ends[1]), (ends[1], ends[2])]
    (train, validation, test) = [(images[a:b], labels[a:b]) for a, b in parts]
    source = tr("{origin}, shuffled with seed {seed} and split {train:,}/{validation:,}/{test:,} "
                "(train/validation/test)").format(origin=origin, seed=seed, train=sizes[0],
                                                  validation=sizes[1], test=sizes[2])
    return Dataset(
        name=name,
        source=source,
        train_images=_prepare(train[0], normalize, flatten, max_pixel),
        train_labels=train[1],
        validation_images=_prepare(validation[0], normalize, flatten, max_pixel),
        validation_labels=validation[1],
        test_images=_prepare(test[0], normalize, flatten, max_pixel),
        test_labels=test[1],
        image_shape=tuple(images.shape[1:]),
        is_fallback=True,
    )


def _proportional_sizes(total: int, split: tuple[int, int, int]) -> tuple[int, int, int]:
    """Split `total` items in the proportions of `split`, rounding so the sizes add up to total."""
    exact = [total * part / sum(split) for part in split]
    sizes = [math.floor(value) for value in exact]
    by_remainder = sorted(range(3), key=lambda i: exact[i] - sizes[i], reverse=True)
    for i in by_remainder[: total - sum(sizes)]:
        sizes[i] += 1
    return tuple(sizes)  # type: ignore[return-value]


def _prepare(images: np.ndarray, normalize: bool, flatten: bool, max_pixel: int) -> np.ndarray:
    shape = (len(images), -1) if flatten else (len(images), 1, *images.shape[1:])
    images = images.reshape(shape)
    if normalize:
        return images.astype(np.float32) / np.float32(max_pixel)
    return images.copy()
