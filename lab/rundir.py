"""The run directory, the contract every command shares (docs/design.md):

    runs/<preset>/<YYYYmmdd-HHMMSS>-s<seed>/
        config.yaml  events.out.tfevents.*  metrics.csv  eval.json
        checkpoints/latest/  checkpoints/best/  plots/  videos/
        .lock        who trains into it now (an OS lock, see RunDir.locked)

One process at a time trains into a run directory: train.py (a new run or --resume) and each
sweep trial hold an OS file lock on `.lock` while they write, so a second one is refused with
the holder's process id instead of doubling metrics rows and event files. The operating system
frees the lock when its holder's process ends, however it ends (SIGKILL included), so a killed
run never leaves a stale lock behind. Reading a run (evaluate.py, record.py) takes no lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from lab.cli import UsageError
from lab.config import ConfigError, dump_yaml, load_yaml
from lab.i18n import N_, tr


class RunDirError(ConfigError):
    """A --run-dir that cannot hold a new run: one line naming it and what to do."""


class RunDirInUse(RunDirError):
    """Another process holds the run directory's lock (it is training into it)."""


LOCK_FILE = ".lock"
_NOT_MADE = object()  # a RunDir that `create` did not make: `discard` leaves it alone
#: the locks this process holds: resolved run path -> [file descriptor, times taken]
_held: dict[Path, list[int]] = {}


#: What a holder writes into the lock file (in English, read back by `_holder` and by tests) and
#: what `_holder` says (in the output language).
_HOLDER_LINE = N_("process {pid} on host {host} since {time}")
_HOLDER_PATTERN = re.compile(r"process (?P<pid>\d+) on host (?P<host>\S+) since (?P<time>.+)")


def _holder(lock_file: Path) -> str:
    """Who holds a lock, as its holder wrote it, said in the output language ("process 1234 on
    host h since 2025-01-01 12:00:01")."""
    try:
        written = _HOLDER_PATTERN.fullmatch(lock_file.read_text().strip())
    except OSError:
        written = None
    if written is None:
        return tr("another process")
    return tr(_HOLDER_LINE).format(**written.groupdict())


def check_new_run_dir(path: str | os.PathLike) -> Path:
    """`path` as a place for a new run, or RunDirError: not valid UTF-8, a file, below a file,
    or a folder that already holds something (use --resume for a run to continue)."""
    path = Path(path)
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        raise RunDirError(tr("--run-dir {path} is not valid UTF-8; choose a plain name").format(
            path=repr(os.fsencode(path)))) from None
    if path.is_file():
        raise RunDirError(tr("--run-dir {path} is a file; give a folder that does not exist yet").format(path=path))
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise RunDirError(tr("--run-dir {path}: {parent} is a file, so nothing can be made below it").format(
                path=path, parent=parent))
    if path.is_dir() and any(p.name != LOCK_FILE for p in path.iterdir()):
        hint = (tr("continue that run with --resume {path}").format(path=path) if (path / "config.yaml").is_file()
                else tr("choose an empty or new folder"))
        raise RunDirError(tr("--run-dir {path} is not empty; {hint}").format(path=path, hint=hint))
    return path


class RunDir:
    """A run's folder with named places for its files."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"
        self.plots = self.path / "plots"
        self.videos = self.path / "videos"
        self._existed: Any = _NOT_MADE  # create: the first folder on its path that existed before

    @classmethod
    def create(
        cls, preset: str, seed: int, root: str | os.PathLike = "runs", path: str | os.PathLike | None = None
    ) -> "RunDir":
        """Make a new run folder: exactly `path` when given (--run-dir), else a fresh
        runs/<preset>/<timestamp>-s<seed>/ (suffixed -2, -3... if that second is taken, even
        by a run started at the same moment: the folder is claimed by making it)."""
        def first_existing(folder: Path) -> Path | None:
            return next((p for p in (folder, *folder.parents) if p.exists()), None)

        if path is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            base = Path(root) / preset / f"{stamp}-s{seed}"
            existing, candidate, n = first_existing(base), base, 1
            while True:
                try:
                    candidate.mkdir(parents=True)
                    break
                except OSError:
                    if not candidate.exists():  # a parent cannot be made: reported below
                        break
                    n += 1
                    candidate = base.with_name(f"{base.name}-{n}")
            run = cls(candidate)
        else:
            run = cls(check_new_run_dir(path))
            existing = first_existing(run.path)
        run._existed = existing
        try:
            for folder in (run.path, run.checkpoints, run.plots, run.videos):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            run.discard()
            raise RunDirError(tr("--run-dir {path}: cannot create it ({problem})").format(
                path=run.path, problem=err.strerror or err)) from None
        return run

    def discard(self) -> None:
        """Leave nothing behind of a run refused after `create` (its data cannot be read, say):
        remove the folders `create` made, up to the first one that existed before (a parent only
        while empty: another run may have been made in it since), or empty a given folder that
        existed, its lock file kept."""
        existed = self._existed
        if existed is _NOT_MADE:
            return
        if existed == self.path:
            if self.path.is_dir():
                self.clear()
            return
        shutil.rmtree(self.path, ignore_errors=True)
        for parent in self.path.parents:
            if parent == existed or (existed is not None and existed not in parent.parents):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    @classmethod
    def open(cls, path: str | os.PathLike) -> "RunDir":
        """An existing run folder, or a one-line UsageError when `path` is no folder or holds no
        config.yaml. Here, without PyTorch, so that evaluate.py, record.py and play.py refuse a
        wrong folder before they load it."""
        run = cls(path)
        if not run.path.is_dir():
            raise UsageError(tr("run directory {path}: no such folder; give a folder made by train.py "
                                "(e.g. runs/blackjack-dqn/<time>-s0)").format(path=run.path))
        if not (run.path / "config.yaml").is_file():
            raise UsageError(tr("run directory {path}: no config.yaml here, so it is not a run directory "
                                "made by train.py").format(path=run.path))
        return run

    @contextlib.contextmanager
    def locked(self, wait: float = 0.0, new: bool = False):
        """Hold this run directory's lock for the block (within one process it may be taken
        again, e.g. a sweep trial around the run it starts). Another holder: RunDirInUse naming
        its process, after waiting up to `wait` seconds for it to end. `new`: the run is being
        made, so once the lock is held the folder must hold no config.yaml (a run started at the
        same moment on the same --run-dir took it first)."""
        key = self.path.resolve()
        if key in _held:
            _held[key][1] += 1
        else:
            _held[key] = [self._take_lock(wait), 1]
        try:
            if new and (self.path / "config.yaml").exists():
                raise RunDirError(tr("--run-dir {path} is not empty: another run took it first; "
                                     "choose an empty or new folder").format(path=self.path))
            yield self
        finally:
            _held[key][1] -= 1
            if _held[key][1] == 0:
                descriptor = _held.pop(key)[0]
                os.ftruncate(descriptor, 0)  # an idle lock file is empty: a refused command changes nothing
                os.close(descriptor)  # closing the last descriptor frees the OS lock

    def _take_lock(self, wait: float) -> int:
        lock_file = self.path / LOCK_FILE
        try:
            descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise RunDirError(tr("run directory {path}: cannot open its lock file ({problem})").format(
                path=self.path, problem=err.strerror or err)) from None
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(descriptor)
                    raise RunDirInUse(tr("run directory {path} is in use: {holder} is training into it; wait "
                                         "for it to end (or stop it), then try again").format(
                        path=self.path, holder=_holder(lock_file))) from None
                time.sleep(0.2)
        os.ftruncate(descriptor, 0)
        os.write(descriptor, (_HOLDER_LINE.format(pid=os.getpid(), host=socket.gethostname(),
                                                  time=time.strftime("%Y-%m-%d %H:%M:%S")) + "\n").encode())
        return descriptor

    def clear(self) -> None:
        """Remove everything in the folder but its lock file (a run to start again from nothing;
        call it while holding the lock)."""
        for child in self.path.iterdir():
            if child.name == LOCK_FILE:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

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
            raise RunDirError(tr("run directory {path}: no config.yaml here, so it is not a run directory "
                                 "made by train.py").format(path=self.path)) from None
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
