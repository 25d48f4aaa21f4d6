"""Random shifts of images, DrQ (docs/design.md: data-efficient Atari; chapter 70).

Kostrikov, Yarats & Fergus 2021: an option of chapter 70's DQN for learning from few frames.

Each frame stack of a batch is padded by `pad` pixels repeating its border and cropped back to
its size at a random offset, i.e. shifted by up to `pad` pixels in each direction, the same
shift for the four frames of one stack and an independent one per sample. It works on the
replayed uint8 arrays before they become tensors: an edge pad, then one fancy index into the
view of every possible crop (numpy's sliding_window_view), which copies each output byte once;
measured 0.85 ms for 32x4x84x84 on one loaded CPU thread, against 2.8 ms for torch's
index_select padding with one slice per sample (6 vs 13 ms before that for a per-sample gather).
"""

from __future__ import annotations

import numpy as np


def random_shift(images: np.ndarray, pad: int, rng: np.random.Generator) -> np.ndarray:
    """(B, C, H, W) -> the same shape, each sample shifted by its own offsets in [-pad, pad].

    `pad` 0 returns `images` unchanged; offsets come from `rng`, so a seeded agent shifts the
    same way every run.
    """
    if pad == 0:
        return images
    _, _, height, width = images.shape
    padded = np.pad(images, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="edge")
    corners = rng.integers(0, 2 * pad + 1, size=(len(images), 2))  # offset + pad
    crops = np.lib.stride_tricks.sliding_window_view(padded, (height, width), axis=(2, 3))  # B, C, 2p+1, 2p+1, H, W
    return crops[np.arange(len(images)), :, corners[:, 0], corners[:, 1]]
