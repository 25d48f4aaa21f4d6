"""Device choice: `--device auto|cpu|cuda` (docs/design.md: runs on a laptop CPU, unchanged on a GPU)."""

from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """Turn 'auto', 'cpu', 'cuda' or 'cuda:N' into a torch.device.

    'auto' picks CUDA when available, else the CPU. Asking for CUDA on a machine without it is
    a user mistake and raises ValueError naming what is available.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {name}: CUDA is not available here; use auto or cpu")
        return torch.device(name)
    raise ValueError(f"--device {name!r} is not valid; choose one of: auto, cpu, cuda, cuda:N")


def available_memory_bytes() -> int:
    """Memory the system can give a new allocation now (Linux: MemAvailable), in bytes."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
