"""Where the full datasets come from: the folders searched for the IDX files, and the download
of MNIST from its public mirrors (chapter 11 trains on the 70,000 images of MNIST).

Search order: data_dir (itself, then data_dir/<name>), $DLBOOK_DATA/<name> and $DLBOOK_DATA,
the cache folder ~/.cache/dlbook-agents/<name> (where `download_mnist` writes), and for
Fashion-MNIST the folder Debian's `dataset-fashion-mnist` package installs.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from pathlib import Path
from typing import Mapping, Sequence

from lab.i18n import N_, tr
from supervised.data.errors import DownloadError, UnknownDatasetError

FULL_DATASETS = ("mnist", "fashion-mnist")

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
        how = N_("data_dir argument")  # how a folder was chosen, shown through tr() in Dataset.source
        locations += [(Path(data_dir), how), (Path(data_dir) / name, how)]
    env_dir = os.environ.get(DATA_ENV_VAR)
    if env_dir:
        how = N_("DLBOOK_DATA environment variable")
        locations += [(Path(env_dir) / name, how), (Path(env_dir), how)]
    locations.append((default_cache_dir(name), N_("cache folder")))
    if name == "fashion-mnist":
        locations.append((DEBIAN_FASHION_MNIST_DIR, N_("Debian package dataset-fashion-mnist")))
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
        raise UnknownDatasetError(tr("no IDX files for dataset {name}; choose one of {choices}").format(
            name=repr(name), choices=", ".join(FULL_DATASETS)))


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
            raise DownloadError(tr("could not download {file} from any mirror ({failures}); copy the four MNIST "
                                   "files into {folder} or set {variable} to a folder holding them").format(
                file=filename, failures="; ".join(failures), folder=dest, variable=DATA_ENV_VAR))
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
