"""Random shifts of image observations (DrQ, Kostrikov, Yarats & Fergus 2021), an option of
chapter 70's DQN for learning from few frames.

Each frame stack of a batch is padded by `pad` pixels repeating its border and cropped back to
its size at a random offset, i.e. shifted by up to `pad` pixels in each direction, the same
shift for the four frames of one stack and an independent one per sample. Replicate padding
is the same as clamping the crop's indices to the image, so no padded copy is made: one
gather on the (uint8) batch does it.
"""

from __future__ import annotations

import numpy as np
import torch


def random_shift(images: torch.Tensor, pad: int, rng: np.random.Generator) -> torch.Tensor:
    """(B, C, H, W) -> the same shape, each sample shifted by its own offsets in [-pad, pad].

    `pad` 0 returns `images` unchanged; offsets come from `rng`, so a seeded agent shifts the
    same way every run.
    """
    if pad == 0:
        return images
    batch, _, height, width = images.shape
    offsets = torch.as_tensor(rng.integers(-pad, pad + 1, size=(batch, 2)), device=images.device)
    rows = (torch.arange(height, device=images.device) + offsets[:, :1]).clamp(0, height - 1)  # (B, H)
    cols = (torch.arange(width, device=images.device) + offsets[:, 1:]).clamp(0, width - 1)  # (B, W)
    samples = torch.arange(batch, device=images.device)[:, None, None, None]
    channels = torch.arange(images.shape[1], device=images.device)[None, :, None, None]
    return images[samples, channels, rows[:, None, :, None], cols[:, None, None, :]]
