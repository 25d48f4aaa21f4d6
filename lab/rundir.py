"""The run directory, the contract every command shares (DESIGN.md):

    runs/<preset>/<YYYYmmdd-HHMMSS>-s<seed>/
        config.yaml  events.out.tfevents.*  metrics.csv  eval.json
        checkpoints/latest/  checkpoints/best/  plots/  videos/
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from lab.config import ConfigError, dump_yaml, load_yaml


class RunDir:
    """A run's folder with named places for its files."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"
        self.plots = self.path / "plots"
        self.videos = self.path / "videos"

    @classmethod
    def create(
        cls, preset: str, seed: int, root: str | os.PathLike = "runs", path: str | os.PathLike | None = None
    ) -> "RunDir":
        """Make a new run folder: exactly `path` when given (--run-dir), else a fresh
        runs/<preset>/<timestamp>-s<seed>/ (suffixed -2, -3... if that second is taken)."""
        if path is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            base = Path(root) / preset / f"{stamp}-s{seed}"
            candidate, n = base, 1
            while candidate.exists():
                n += 1
                candidate = base.with_name(f"{base.name}-{n}")
            path = candidate
        run = cls(path)
        for folder in (run.path, run.checkpoints, run.plots, run.videos):
            folder.mkdir(parents=True, exist_ok=True)
        return run

    @classmethod
    def open(cls, path: str | os.PathLike) -> "RunDir":
        """An existing run folder (it must hold config.yaml)."""
        run = cls(path)
        if not (run.path / "config.yaml").is_file():
            raise ValueError(f"run directory {run.path}: no config.yaml here (is it a run directory?)")
        return run

    def write_config(self, config: dict) -> Path:
        """Write the full resolved config (enough to rerun the run exactly)."""
        target = self.path / "config.yaml"
        tmp = target.with_name(f".config.yaml.{uuid.uuid4().hex[:8]}")
        dump_yaml(config, tmp)
        os.replace(tmp, target)
        return target

    def read_config(self) -> dict:
        try:
            return load_yaml(self.path / "config.yaml")
        except FileNotFoundError:
            raise ValueError(f"run directory {self.path}: no config.yaml") from None
        except ConfigError:
            raise

    def write_json(self, name: str, data: Any) -> Path:
        """Write JSON atomically (temporary name, then rename)."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
        os.replace(tmp, target)
        return target

    def read_json(self, name: str) -> Any:
        return json.loads((self.path / name).read_text())

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __str__(self) -> str:
        return str(self.path)
