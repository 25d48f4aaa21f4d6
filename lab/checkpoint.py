"""One checkpoint format for every model in the project (docs/design.md: the run directory).

A checkpoint is a folder holding ``model.safetensors`` (every tensor and array) and
``state.json`` (everything else: counters, epsilon, RNG seeds, config, library version, and the
SHA-256 of the weights file). Loading never unpickles: safetensors holds raw numbers and JSON
holds plain values, so a checkpoint file can never run code.

Writes are atomic: the folder is written under a temporary name and renamed into place, so a
run killed mid-save leaves the previous checkpoint intact. A truncated or tampered weights file
fails the hash check with a clear CheckpointError instead of loading a wrong model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from lab.errors import CheckpointError, StorageError
from lab.i18n import tr

FORMAT = "dlbook-agents/checkpoint-v1"
WEIGHTS = "model.safetensors"
STATE = "state.json"


def check_tensors(loaded: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], where: str) -> None:
    """Refuse `loaded` unless it has exactly `expected`'s names, shapes and dtypes and only
    finite values: the SHA-256 in state.json is a checksum, not a proof of what a file holds."""
    missing, extra = sorted(set(expected) - set(loaded)), sorted(set(loaded) - set(expected))
    if missing or extra:
        raise CheckpointError(tr("checkpoint {where}: tensors do not match the model (missing {value}, unexpected "
                                 "{value2})").format(where=where, value=missing[:3], value2=extra[:3]))
    for name, reference in expected.items():
        value = loaded[name]
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(tr("checkpoint {where}: {name} is not a tensor").format(where=where, name=name))
        if tuple(value.shape) != tuple(reference.shape) or value.dtype != reference.dtype:
            raise CheckpointError(tr("checkpoint {where}: {name} is {dtype} {value}, the model needs {dtype2} "
                                     "{value2}").format(
                where=where, name=name, dtype=value.dtype, value=tuple(value.shape), dtype2=reference.dtype,
                value2=tuple(reference.shape)))
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise CheckpointError(tr("checkpoint {where}: {name} holds NaN or infinite values").format(
                where=where, name=name))


def _split(obj: Any, path: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor/array in a nested structure by a reference into `tensors`."""
    if isinstance(obj, torch.Tensor):
        tensors[path] = obj.detach().to("cpu").contiguous().clone()
        return {"__tensor__": path}
    if isinstance(obj, np.ndarray):
        tensors[path] = torch.from_numpy(np.ascontiguousarray(obj))
        return {"__array__": path}
    if isinstance(obj, dict):
        for key in obj:
            if not isinstance(key, (str, int)):
                raise TypeError(f"checkpoint keys must be str or int, got {key!r} at {path}")
        # JSON keys are strings; remember int keys (torch optimizer state uses them).
        out = {str(k): _split(v, f"{path}.{k}" if path else str(k), tensors) for k, v in obj.items()}
        int_keys = [str(k) for k in obj if isinstance(k, int)]
        if int_keys:
            out["__int_keys__"] = int_keys
        return out
    if isinstance(obj, (list, tuple)):
        return [_split(v, f"{path}.{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at '{path}' in a checkpoint")


def _join(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__array__" in obj:
            return tensors[obj["__array__"]].numpy()
        int_keys = set(obj.get("__int_keys__", ()))
        return {
            (int(k) if k in int_keys else k): _join(v, tensors)
            for k, v in obj.items()
            if k != "__int_keys__"
        }
    if isinstance(obj, list):
        return [_join(v, tensors) for v in obj]
    return obj


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(directory: str | os.PathLike, state: dict) -> Path:
    """Write `state` (nested dicts/lists of tensors, arrays and JSON values) to `directory`.

    The folder is replaced atomically; returns its path.
    """
    directory = Path(directory)
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _split(state, "", tensors)
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        _recover(directory)
        _remove_stale(directory)
        tmp = directory.parent / f".{directory.name}.tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    except OSError as err:
        raise StorageError(tr("cannot write checkpoint {directory}: {value}; the last intact checkpoint is kept").format(
            directory=directory, value=err.strerror or err)) from None
    try:
        save_file(tensors, str(tmp / WEIGHTS))
        document = {"format": FORMAT, "weights_sha256": _sha256(tmp / WEIGHTS), "state": skeleton}
        (tmp / STATE).write_text(json.dumps(document, indent=1))
        for name in (WEIGHTS, STATE):
            with open(tmp / name, "rb") as handle:
                os.fsync(handle.fileno())
        old = directory.parent / f".{directory.name}.old-{uuid.uuid4().hex[:8]}"
        if directory.exists():
            os.rename(directory, old)
        os.rename(tmp, directory)
        shutil.rmtree(old, ignore_errors=True)
    except (OSError, SafetensorError) as err:
        shutil.rmtree(tmp, ignore_errors=True)
        reason = getattr(err, "strerror", None) or str(err).splitlines()[0]
        raise StorageError(tr("cannot write checkpoint {directory} ({reason}): the last intact checkpoint is kept; "
                              "free some space and continue with --resume").format(
            directory=directory, reason=reason)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def library_version() -> str:
    """The installed dlbook-agents version, stamped into every checkpoint's state."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("dlbook-agents")
    except PackageNotFoundError:  # running from a source tree without installation
        return "source"


def _intact_steps(folder: Path) -> float | None:
    """The step recorded in an intact checkpoint folder, or None if it is not intact."""
    try:
        document = json.loads((folder / STATE).read_text())
        if document.get("format") != FORMAT or _sha256(folder / WEIGHTS) != document.get("weights_sha256"):
            return None
        steps = document["state"].get("steps", 0) if isinstance(document.get("state"), dict) else 0
        return float(steps) if isinstance(steps, (int, float)) else 0.0
    except (OSError, ValueError, KeyError, AttributeError):
        return None


def _recover(directory: Path) -> Path:
    """If a kill fell between the two renames of a save, `directory` is missing and the previous
    checkpoint sits under .old-* (and maybe the new one, complete, under .tmp-*): take the
    intact one with the most steps recorded in its state.json (never judged by mtime)."""
    if directory.exists():
        return directory
    candidates = [(steps, folder) for folder in directory.parent.glob(f".{directory.name}.*-*")
                  if folder.is_dir() and (steps := _intact_steps(folder)) is not None]
    if candidates:
        os.rename(max(candidates, key=lambda pair: pair[0])[1], directory)
    return directory


def _remove_stale(directory: Path) -> None:
    """Leftovers of saves that were killed (.tmp-* and .old-* beside `directory`)."""
    if directory.exists():
        for folder in directory.parent.glob(f".{directory.name}.*-*"):
            shutil.rmtree(folder, ignore_errors=True)


def load_checkpoint(directory: str | os.PathLike) -> dict:
    """Read a checkpoint written by save_checkpoint; raise CheckpointError if it is not intact."""
    directory = _recover(Path(directory))
    weights, state_file = directory / WEIGHTS, directory / STATE
    for needed in (weights, state_file):
        if not needed.is_file():
            raise CheckpointError(tr("checkpoint {directory}: missing {name}").format(
                directory=directory, name=needed.name))
    try:
        document = json.loads(state_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(tr("checkpoint {state_file}: not valid JSON ({err})").format(
            state_file=state_file, err=err)) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(tr("checkpoint {state_file}: unknown format, expected {FORMAT}").format(
            state_file=state_file, FORMAT=FORMAT))
    if not isinstance(document.get("state"), dict):
        raise CheckpointError(tr("checkpoint {state_file}: its state must be a mapping, got {value}").format(
            state_file=state_file, value=repr(document.get("state"))))
    if _sha256(weights) != document.get("weights_sha256"):
        raise CheckpointError(
            tr("checkpoint {weights}: SHA-256 does not match state.json (truncated or modified)").format(
                weights=weights)
        )
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(tr("checkpoint {weights}: unreadable ({err})").format(
            weights=weights, err=err)) from None
    try:
        return _join(document["state"], tensors)
    except KeyError as err:
        raise CheckpointError(tr("checkpoint {directory}: state.json names a missing tensor {err}").format(
            directory=directory, err=err)) from None
    except (TypeError, ValueError) as err:  # e.g. a hand-edited __int_keys__
        raise CheckpointError(tr("checkpoint {directory}: state.json is damaged ({err})").format(
            directory=directory, err=err)) from None
