"""`sweep.json`: what makes a folder a sweep (docs/design.md: scale-out; chapters 66-75).

    runs/<preset>/sweep-<YYYYmmdd-HHMMSS>/
        sweep.json            this manifest: preset, seeds, overrides, swept keys, search
        <trial>/              one ordinary run directory per trial (config.yaml, eval.json, ...)
        tune/                 Ray Tune's experiment state (what --resume restores)
        summary.csv  trials.csv  plots/learning_curves.png  tensorboard/   (the aggregation)

A trial's configuration is read back from its own `config.yaml` at the swept keys, so the
manifest needs no list of trials (a search creates them as it goes).
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from pathlib import Path
from typing import Any

from lab.cli import UsageError
from lab.config import from_dict
from lab.i18n import tr

MANIFEST = "sweep.json"
TUNE_FOLDER = "tune"
INSTALL_HINT = 'pip install -e ".[scale]"'


def require(module: str, purpose: str) -> None:
    """Import `module` (part of the `scale` extra) or stop with one line saying how to install it."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as err:
        raise UsageError(tr("{purpose} needs {value}, which is not installed ({err}); install it with: "
                            "{INSTALL_HINT}").format(
            purpose=purpose, value=module.split('.')[0], err=err, INSTALL_HINT=INSTALL_HINT)) from None


@dataclasses.dataclass
class Manifest:
    """One sweep as the command line asked for it (resolved)."""

    preset: str
    seeds: list[int]
    overrides: list[str]  # --set, applied to every trial
    swept: list[str]  # dotted config keys that differ between configurations (grid or search)
    grid: dict[str, list] = dataclasses.field(default_factory=dict)
    ranges: dict[str, list] = dataclasses.field(default_factory=dict)  # key -> [low, high, "log"|"linear"]
    search: str | None = None  # "optuna" or None (a grid of every combination)
    trials: int = 0  # with a search: how many configurations it samples
    scheduler: str | None = None  # "asha" or None
    metric: str = "eval/mean_return"
    mode: str = "max"
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    device: str = "auto"
    max_failures: int = 2
    address: str | None = None
    created: str = ""
    directory: str = ""  # where it was made: its trials write their run directories there

    def write(self, sweep_dir: Path) -> Path:
        target = Path(sweep_dir) / MANIFEST
        tmp = target.with_name(f".{MANIFEST}.{uuid.uuid4().hex[:8]}")
        tmp.write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")
        os.replace(tmp, target)
        return target

    @classmethod
    def read(cls, sweep_dir: str | os.PathLike) -> "Manifest":
        """The sweep directory's manifest, or a one-line UsageError if it is not a sweep directory."""
        path = Path(sweep_dir)
        if not path.is_dir():
            raise UsageError(tr("sweep directory {path}: no such folder; give a folder made by sweep.py (e.g. "
                                "runs/blackjack-q/sweep-<time>)").format(path=path))
        try:
            manifest = from_dict(cls, json.loads((path / MANIFEST).read_text()), "sweep.json")
            manifest.check()
            return manifest
        except FileNotFoundError:
            raise UsageError(tr("sweep directory {path}: no {MANIFEST} here, so it is not a sweep made by sweep.py").format(
                path=path, MANIFEST=MANIFEST)) from None
        except (ValueError, TypeError) as err:
            raise UsageError(tr("sweep directory {path}: {MANIFEST} is damaged ({err})").format(
                path=path, MANIFEST=MANIFEST, err=err)) from None

    def check(self) -> None:
        """Values a sweep.json written by sweep.py always has (ValueError naming the field)."""
        if not self.seeds or any(seed < 0 for seed in self.seeds):
            raise ValueError(f"seeds must be a list of whole numbers >= 0, got {self.seeds!r}")
        if not self.cpus_per_trial > 0 or not self.gpus_per_trial >= 0 or self.max_failures < 0 or self.trials < 0:
            raise ValueError("cpus_per_trial must be > 0, and gpus_per_trial, max_failures and trials >= 0")
        for name, value, choices in (("search", self.search, (None, "optuna")), ("scheduler", self.scheduler,
                                     (None, "asha")), ("mode", self.mode, ("min", "max"))):
            if value not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {value!r}")
        for key, bounds in self.ranges.items():
            if not (isinstance(bounds, list) and len(bounds) == 3 and bounds[2] in ("log", "linear")
                    and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds[:2])
                    and bounds[0] < bounds[1] and (bounds[2] == "linear" or bounds[0] > 0)):
                raise ValueError(f"ranges.{key} must be [low, high, 'log' or 'linear'], got {bounds!r}")
        if any(not isinstance(values, list) or not values for values in self.grid.values()):
            raise ValueError("every grid key must list its values")


def is_sweep_dir(path: str | os.PathLike) -> bool:
    return (Path(path) / MANIFEST).is_file()


def config_value(config: dict, dotted: str) -> Any:
    """The value at `agent.lr`-style key in a nested config mapping (None when absent)."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def label_of(params: dict[str, Any]) -> str:
    """A configuration's name in tables and folders: `agent.alpha=0.1,agent.gamma=1`."""
    return ",".join(f"{key}={_short(value)}" for key, value in params.items()) or "preset"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace(" ", "")
