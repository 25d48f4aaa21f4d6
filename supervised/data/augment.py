"""Data expansion (chapter 24): enlarge the training set with slightly rotated copies of its images."""

from __future__ import annotations

import math
from typing import Literal, Sequence

import numpy as np

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
