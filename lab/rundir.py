"""The run directory, the contract every command shares (docs/design.md):

    runs/<preset>/<YYYYmmdd-HHMMSS>-s<seed>/
        config.yaml  events.out.tfevents.*  metrics.csv  eval.json
        checkpoints/latest/  checkpoints/best/  plots/  videos/
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from lab.config import ConfigError, dump_yaml, load_yaml


class RunDirError(ConfigError):
    """A --run-dir that cannot hold a new run: one line naming it and what to do."""


def check_new_run_dir(path: str | os.PathLike) -> Path:
    """`path` as a place for a new run, or RunDirError: not valid UTF-8, a file, below a file,
    or a folder that already holds something (use --resume for a run to continue)."""
    path = Path(path)
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        raise RunDirError(f"--run-dir {os.fsencode(path)!r} is not valid UTF-8; choose a plain name") from None
    if path.is_file():
        raise RunDirError(f"--run-dir {path} is a file; give a folder that does not exist yet")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise RunDirError(f"--run-dir {path}: {parent} is a file, so nothing can be made below it")
    if path.is_dir() and any(path.iterdir()):
        hint = (f"continue that run with --resume {path}" if (path / "config.yaml").is_file()
                else "choose an empty or new folder")
        raise RunDirError(f"--run-dir {path} is not empty; {hint}")
    return path


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
        run = cls(check_new_run_dir(path))
        existing = next((p for p in (run.path, *run.path.parents) if p.exists()), None)
        try:
            for folder in (run.path, run.checkpoints, run.plots, run.videos):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            # leave nothing behind: remove what this call made, up to the first folder that existed
            made = [p for p in (run.path, *run.path.parents) if p.exists() and p != existing
                    and (existing is None or existing in p.parents)]
            for folder in made:
                shutil.rmtree(folder, ignore_errors=True)
            raise RunDirError(f"--run-dir {run.path}: cannot create it ({err.strerror or err})") from None
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
