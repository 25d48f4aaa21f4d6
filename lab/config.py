"""Typed configuration: YAML presets merged with `--set key=value` overrides, validated into
dataclasses (docs/design.md: data flow of train.py).

A bad key or value stops here with one line naming it and what would be valid, e.g.
``config: unknown key 'agent.gama'; allowed keys of agent: gamma, lr, ...`` or
``config: agent.gamma must be a float, got 'high'``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml

from lab.i18n import tr


class ConfigError(ValueError):
    """A configuration key or value is not valid; the message is one line for the user."""


def load_yaml(path: str | Path) -> dict:
    """Read a YAML mapping with the safe loader (never constructs Python objects)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(tr("config: {path} is not valid YAML: {problem}").format(
            path=path, problem=str(err).splitlines()[0])) from None
    if not isinstance(data, dict):
        raise ConfigError(tr("config: {path} must hold a mapping, got {type}").format(
            path=path, type=type(data).__name__))
    return data


def dump_yaml(data: dict, path: str | Path) -> None:
    """Write a mapping as YAML, keys in their given order."""
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False, default_flow_style=None))


def parse_overrides(items: list[str] | None) -> dict:
    """Turn ['agent.lr=0.001', 'env.name=five-rooms'] into a nested dict.

    Values are parsed as YAML scalars/lists ('3' -> 3, '1e-3' -> 0.001, 'true' -> True,
    '[64, 64]' -> [64, 64]); anything else stays a string.
    """
    result: dict = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(tr("--set {item}: expected key=value, e.g. --set agent.lr=0.001").format(item=repr(item)))
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise ConfigError(tr("--set {item}: the key is empty or has an empty part").format(item=repr(item)))
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if isinstance(value, str) and _looks_like_float(value):
            value = float(value)
        node = result
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(tr("--set {item}: {part} is set both as a value and a section").format(
                    item=repr(item), part=part))
        node[parts[-1]] = value
    return result


def _looks_like_float(text: str) -> bool:
    # YAML 1.1 reads '1e-3' as a string; users mean a number.
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in {"nan", "inf", "-inf", "+inf", "infinity"}


def merge(base: dict, overrides: dict) -> dict:
    """Recursively merge `overrides` into a copy of `base` (override values win)."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def to_dict(obj: Any) -> Any:
    """A dataclass (possibly nested) as plain dicts/lists, ready for YAML or JSON."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


T = typing.TypeVar("T")


def from_dict(cls: type[T], data: dict | None, where: str = "") -> T:
    """Build dataclass `cls` from a mapping, checking every key and value.

    Unknown keys, missing required keys, wrong types and values outside a Literal's choices
    raise ConfigError with the dotted path of the offending key.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    data = {} if data is None else data
    section = where or "config"
    if not isinstance(data, dict):
        raise ConfigError(tr("config: {key} must be a mapping, got {value}").format(key=section, value=_show(data)))
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = f"{where}.{unknown[0]}" if where else unknown[0]
        raise ConfigError(tr("config: unknown key '{key}'; allowed keys of {section}: {allowed}").format(
            key=key, section=section, allowed=", ".join(fields)))
    values = {}
    for name, field in fields.items():
        path = f"{where}.{name}" if where else name
        if name in data:
            values[name] = _coerce(hints[name], data[name], path)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(tr("config: missing required key '{key}'").format(key=path))
    try:
        return cls(**values)
    except (ValueError, TypeError) as err:
        if isinstance(err, ConfigError):
            raise
        message = str(err)
        named = section == "config" or message.startswith(f"{section}.")  # the message names the key
        prefix = tr("config") if named else tr("config: {section}").format(section=section)
        raise ConfigError(f"{prefix}: {message}") from None


def _show(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _coerce(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    args = get_args(tp)
    if tp is Any:
        return value
    if origin is Literal:
        if value in args and not (isinstance(value, bool) and not any(a is value for a in args)):
            return value
        choices = ", ".join(str(a) for a in args)
        raise ConfigError(tr("config: {key} must be one of: {choices}; got {value}").format(
            key=path, choices=choices, value=repr(value)))
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in args:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, path)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if len(errors) == 1 else
                          tr("config: {key} has the wrong type: got {value}").format(key=path, value=_show(value)))
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, path)
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(tr("config: {key} must be a list, got {value}").format(key=path, value=_show(value)))
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(tr("config: {key} must have {expected} items, got {got}").format(
                    key=path, expected=len(args), got=len(value)))
            return tuple(_coerce(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item_type = args[0] if args else Any
        items = [_coerce(item_type, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if (origin is tuple or tp is tuple) else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(tr("config: {key} must be a mapping, got {value}").format(key=path, value=_show(value)))
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(tr("config: {key} must be true or false, got {value}").format(key=path, value=_show(value)))
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(tr("config: {key} must be an integer, got {value}").format(key=path, value=_show(value)))
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(tr("config: {key} must be a number, got {value}").format(key=path, value=_show(value)))
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(tr("config: {key} must be a string, got {value}").format(key=path, value=_show(value)))
    return value
