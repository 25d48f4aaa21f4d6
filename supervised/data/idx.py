"""The IDX file format in which MNIST and Fashion-MNIST ship (chapter 11's data): read and write.

An IDX file is a 4-byte magic number 0x0000TTNN (TT the element type, NN the number of
dimensions), NN big-endian uint32 dimension sizes, then the elements, big-endian, row-major.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from lab.i18n import tr
from supervised.data.errors import IdxFormatError

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


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzipped or raw, detected from its first bytes) into a numpy array.

    Checks the magic number, the dimensions and that the data is exactly as long as the
    dimensions say; any problem raises IdxFormatError naming the file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IdxFormatError(tr("cannot read IDX file {path}: {problem}").format(
            path=path, problem=exc.strerror or exc)) from exc
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise IdxFormatError(tr("damaged or truncated gzip file {path}: {problem}").format(
                path=path, problem=exc)) from exc

    if len(raw) < 4:
        raise IdxFormatError(tr("{path} is too short to be an IDX file ({size} bytes)").format(path=path, size=len(raw)))
    zeros, type_code, ndim = raw[:2], raw[2], raw[3]
    if zeros != b"\x00\x00" or type_code not in _IDX_DTYPES or ndim == 0:
        raise IdxFormatError(tr("{path} is not an IDX file: magic number 0x{magic} (expected 0x0000TTNN with a "
                                "known type byte TT such as 08 and NN >= 1 dimensions)").format(
            path=path, magic=raw[:4].hex()))
    header_length = 4 + 4 * ndim
    if len(raw) < header_length:
        raise IdxFormatError(tr("{path} is truncated inside its header ({size} bytes)").format(path=path, size=len(raw)))
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = header_length + math.prod(dims) * dtype.itemsize
    if len(raw) != expected:
        problem = (tr("{path} is truncated") if len(raw) < expected else tr("{path} has trailing bytes")).format(path=path)
        raise IdxFormatError(tr("{problem}: dimensions {dims} need {expected} bytes, the file has {size}").format(
            problem=problem, dims=dims, expected=expected, size=len(raw)))
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
        raise IdxFormatError(tr("{path} is not an image file: expected uint8 data with 3 dimensions (N, rows, "
                                "cols), got {dtype} with shape {shape}").format(
            path=path, dtype=images.dtype, shape=images.shape))
    return images


def read_idx_labels(path: str | os.PathLike, num_classes: int = 10) -> np.ndarray:
    """Read an IDX label file: int64 array of shape (N,) with values in [0, num_classes)."""
    labels = read_idx(path)
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise IdxFormatError(tr("{path} is not a label file: expected uint8 data with 1 dimension, got {dtype} "
                                "with shape {shape}").format(path=path, dtype=labels.dtype, shape=labels.shape))
    if labels.size and labels.max() >= num_classes:
        raise IdxFormatError(tr("{path} has label {label}, outside 0..{last}").format(
            path=path, label=labels.max(), last=num_classes - 1))
    return labels.astype(np.int64)
