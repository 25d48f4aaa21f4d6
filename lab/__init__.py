"""The bench every experiment runs on (docs/design.md: lab/).

Run directories, typed configs, TensorBoard + CSV logging, safe checkpoints, seeding, device
choice, progress bars, statistics and plots. Used alike by the RL agents (chapters 62-75) and
the supervised chapter demos (chapters 6-61). Imports none of the project's other packages.
"""

import importlib

#: name -> the module that defines it; loaded on first use, so that `import lab.cli` (every
#: script's --help) does not load PyTorch and TensorBoard through this package
_HOMES = {
    "CheckpointError": "lab.errors", "load_checkpoint": "lab.checkpoint", "save_checkpoint": "lab.checkpoint",
    "ConfigError": "lab.config", "from_dict": "lab.config", "merge": "lab.config", "parse_overrides": "lab.config",
    "to_dict": "lab.config", "resolve_device": "lab.device", "Logger": "lab.logger", "progress_bar": "lab.progress",
    "RunDir": "lab.rundir", "seed_everything": "lab.seeding", "summarize": "lab.stats",
}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'lab' has no attribute {name!r}")


__all__ = [
    "CheckpointError",
    "ConfigError",
    "Logger",
    "RunDir",
    "from_dict",
    "load_checkpoint",
    "merge",
    "parse_overrides",
    "progress_bar",
    "resolve_device",
    "save_checkpoint",
    "seed_everything",
    "summarize",
    "to_dict",
]
