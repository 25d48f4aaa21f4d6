"""One checkpoint format for every model in the project (DESIGN.md: the run directory).

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

FORMAT = "dlbook-agents/checkpoint-v1"
WEIGHTS = "model.safetensors"
STATE = "state.json"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, truncated, tampered with or of an unknown format."""


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
    directory.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _split(state, "", tensors)
    tmp = directory.parent / f".{directory.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
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


def _recover(directory: Path) -> Path:
    """If a kill fell between the two renames, the previous checkpoint sits under .old-*."""
    if directory.exists():
        return directory
    olds = sorted(directory.parent.glob(f".{directory.name}.old-*"), key=os.path.getmtime)
    if olds:
        os.rename(olds[-1], directory)
    return directory


def load_checkpoint(directory: str | os.PathLike) -> dict:
    """Read a checkpoint written by save_checkpoint; raise CheckpointError if it is not intact."""
    directory = _recover(Path(directory))
    weights, state_file = directory / WEIGHTS, directory / STATE
    for needed in (weights, state_file):
        if not needed.is_file():
            raise CheckpointError(f"checkpoint {directory}: missing {needed.name}")
    try:
        document = json.loads(state_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"checkpoint {state_file}: not valid JSON ({err})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {state_file}: unknown format, expected {FORMAT}")
    if _sha256(weights) != document.get("weights_sha256"):
        raise CheckpointError(
            f"checkpoint {weights}: SHA-256 does not match state.json (truncated or modified)"
        )
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"checkpoint {weights}: unreadable ({err})") from None
    try:
        return _join(document["state"], tensors)
    except KeyError as err:
        raise CheckpointError(f"checkpoint {directory}: state.json names a missing tensor {err}") from None
