"""The bench every experiment runs on (docs/design.md: lab/).

Run directories, typed configs, TensorBoard + CSV logging, safe checkpoints, seeding, device
choice, progress bars, statistics and plots. Used alike by the RL agents (chapters 62-75) and
the supervised chapter demos (chapters 6-61). Imports none of the project's other packages.
"""

from lab.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from lab.config import ConfigError, from_dict, merge, parse_overrides, to_dict
from lab.device import resolve_device
from lab.logger import Logger
from lab.progress import progress_bar
from lab.rundir import RunDir
from lab.seeding import seed_everything
from lab.stats import summarize

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
