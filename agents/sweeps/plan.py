"""A sweep's command line made into trials (docs/design.md: scale-out; chapters 66-75), every
one validated before anything is written.

`--seeds 0-9` runs each configuration at ten seeds; `--grid agent.alpha=0.05,0.1` adds one
configuration per value (Tune's grid search, every combination of every --grid); with
`--search optuna` the --grid values become choices and `--range key=LOW:HIGH[:log]` intervals
that Optuna samples, one configuration per trial at one seed (rerun the best with --seeds).
Every trial's config is resolved through agents.runner.resolve_config here, in the driver, so
a bad key or value stops the sweep with one line before Ray starts or a folder is made.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any

import torch

from lab.cli import UsageError
from lab.config import ConfigError, merge, parse_overrides
from lab.i18n import tr

from agents.config import RunConfig
from agents.runner import build_learner, check_flag_keys, complete_config, device_of, raw_config, resolve_config
from agents.sweeps.manifest import Manifest, label_of
from agents.tasks import BlackjackTask, task_for

SEARCHERS = ("optuna",)
SCHEDULERS = ("asha", "none")
METRICS = ("eval/mean_return", "eval/exact_return", "eval/regret")
BLACKJACK_METRICS = ("eval/exact_return", "eval/regret")  # the exact figures only Blackjack's task has
LOWER_IS_BETTER = ("eval/regret",)
RANGE_CHECKS = 1000  # values of a --range checked against the other settings before the search
ADDRESS = re.compile(r"^(auto|(ray://)?[A-Za-z0-9_.-]+:\d{1,5})$")


def parse_seeds(text: str) -> list[int]:
    """'0-9', '0,3,7', '2' or '0-4,9' -> sorted distinct seeds; UsageError naming the bad part."""
    seeds: set[int] = set()
    for part in str(text).split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match or (match.group(2) is not None and int(match.group(2)) < int(match.group(1))):
            raise UsageError(tr("--seeds {text}: {value} is not a seed or a range; give e.g. 0-9, 0,3,7 or 0-4,9 "
                                "(whole numbers >= 0, ranges low-high)").format(
                text=repr(text), value=repr(part.strip())))
        low = int(match.group(1))
        seeds.update(range(low, int(match.group(2) or low) + 1))
    return sorted(seeds)


def split_values(text: str) -> list[str]:
    """'0.1,0.5' -> ['0.1', '0.5']; commas inside brackets stay ('[64,64],[32]' -> two lists)."""
    values, depth, current = [], 0, ""
    for char in text:
        depth += (char in "[{") - (char in "]}")
        if char == "," and depth == 0:
            values.append(current)
            current = ""
        else:
            current += char
    return values + [current]


def _key_and_text(item: str, flag: str, example: str) -> tuple[str, str]:
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key or not text.strip() or any(not p for p in key.split(".")):
        raise UsageError(tr("{flag} {item}: expected {example}").format(flag=flag, item=repr(item), example=example))
    if key == "seed":
        raise UsageError(tr("{flag} {item}: seeds are swept with --seeds, e.g. --seeds 0-9").format(
            flag=flag, item=repr(item)))
    return key, text


def parse_value(key: str, text: str) -> Any:
    """One value as --set reads it (YAML scalars and lists: '3' -> 3, '1e-3' -> 0.001)."""
    node: Any = parse_overrides([f"{key}={text.strip()}"])
    for part in key.split("."):
        node = node[part]
    return node


def parse_grid(items: list[str]) -> dict[str, list]:
    grid: dict[str, list] = {}
    for item in items:
        key, text = _key_and_text(item, "--grid", "key=v1,v2,... e.g. --grid agent.alpha=0.05,0.1")
        if key in grid:
            raise UsageError(tr("--grid {item}: {key} is given twice; list all its values in one --grid").format(
                item=repr(item), key=key))
        values = [parse_value(key, v) for v in split_values(text) if v.strip()]
        if not values:
            raise UsageError(tr("--grid {item}: no values; expected key=v1,v2,... e.g. --grid "
                                "agent.alpha=0.05,0.1").format(item=repr(item)))
        if len({json.dumps(v) for v in values}) != len(values):
            raise UsageError(tr("--grid {item}: a value is repeated").format(item=repr(item)))
        grid[key] = values
    return grid


def parse_ranges(items: list[str]) -> dict[str, list]:
    """'agent.lr=1e-4:1e-2:log' -> {'agent.lr': [0.0001, 0.01, 'log']} (whole numbers stay int)."""
    ranges: dict[str, list] = {}
    for item in items:
        key, text = _key_and_text(item, "--range", "key=LOW:HIGH or key=LOW:HIGH:log, e.g. agent.lr=1e-4:1e-2:log")
        parts = text.split(":")
        scale = parts.pop() if len(parts) == 3 else "linear"
        bounds = [parse_value(key, p) for p in parts]
        numbers = len(bounds) == 2 and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
        if scale not in ("log", "linear") or not numbers or not bounds[0] < bounds[1] or \
                (scale == "log" and bounds[0] <= 0) or key in ranges:
            raise UsageError(tr("--range {item}: expected key=LOW:HIGH[:log] with numbers LOW < HIGH (LOW > 0 for "
                                "log), each key once").format(item=repr(item)))
        ranges[key] = [*bounds, scale]
    return ranges


def override(key: str, value: Any) -> str:
    """A swept value as a --set item (JSON is YAML, so it reads back as the same value)."""
    return f"{key}={json.dumps(value)}"


def grid_points(grid: dict[str, list]) -> list[dict]:
    """Every combination of the grid's values, in the order given ([{}] without a grid)."""
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def torch_threads(cpus_per_trial: float) -> int:
    """A trial's torch threads: its CPUs, so trials do not oversubscribe the cores."""
    return max(1, int(cpus_per_trial))


def trial_overrides(manifest: Manifest, params: dict) -> list[str]:
    return [*manifest.overrides, f"torch_threads={torch_threads(manifest.cpus_per_trial)}",
            *(override(k, v) for k, v in params.items())]


def trial_name(params: dict, seed: int, trial_id: str | None = None) -> str:
    """A trial's folder: `s3`, `agent.alpha=0.1-s3`, or `trial-2569523b-s0` in a search (whose
    sampled values are read from the trial's config.yaml)."""
    if trial_id is not None:
        return f"trial-{trial_id.rsplit('_', 1)[-1]}-s{seed}"
    return f"s{seed}" if not params else f"{label_of(params)}-s{seed}"


def default_metric(preset_config) -> str:
    return "eval/regret" if isinstance(task_for(preset_config.env.name), BlackjackTask) else "eval/mean_return"


def make_manifest(preset: str, seeds: str, overrides: list[str], grid: list[str], ranges: list[str],
                  search: str | None, trials: int | None, scheduler: str | None, metric: str | None,
                  cpus_per_trial: float, gpus_per_trial: float, cpus: int, device: str,
                  max_failures: int, address: str | None) -> Manifest:
    """The sweep the command line asks for, with every trial config resolved (UsageError or
    ConfigError, one line, on the first mistake; nothing is written here)."""
    seed_list = parse_seeds(seeds)
    grid_values, range_values = parse_grid(grid), parse_ranges(ranges)
    if search is not None and search not in SEARCHERS:
        raise UsageError(tr("--search {search} is not valid; choose one of: {choices}").format(
            search=repr(search), choices=', '.join(SEARCHERS)))
    if search is None and (range_values or trials is not None):
        raise UsageError(tr('--range and --trials only apply with --search optuna'))
    if search is not None:
        if not grid_values and not range_values:
            raise UsageError(tr('--search optuna needs a space to search: --range key=LOW:HIGH[:log] or --grid key=v1,v2'))
        if len(seed_list) != 1:
            raise UsageError(tr("--search samples one configuration per trial at one seed; give one seed (e.g. "
                                "--seeds 0), then rerun the best at --seeds {seeds} --set ...").format(seeds=seeds))
        if trials is None or trials < 1:
            raise UsageError(tr("--trials must be a whole number >= 1 with --search, got {trials}").format(
                trials=trials))
    scheduler = scheduler or ("asha" if search else "none")
    if scheduler not in SCHEDULERS:
        raise UsageError(tr("--scheduler {scheduler} is not valid; choose one of: {choices}").format(
            scheduler=repr(scheduler), choices=', '.join(SCHEDULERS)))
    if not (cpus_per_trial > 0 and math.isfinite(cpus_per_trial)) or not gpus_per_trial >= 0:
        raise UsageError(tr("--cpus-per-trial must be > 0 and --gpus-per-trial >= 0, got {cpus_per_trial} and "
                            "{gpus_per_trial}").format(cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial))
    if address is None and not 1 <= cpus:
        raise UsageError(tr("--cpus must be >= 1, got {cpus}").format(cpus=cpus))
    if address is None and cpus_per_trial > cpus:
        raise UsageError(tr("--cpus-per-trial {cpus_per_trial} is more than the {cpus} CPUs Ray may use (--cpus): "
                            "no trial could start").format(cpus_per_trial=cpus_per_trial, cpus=cpus))
    if address is not None and not ADDRESS.match(address):
        raise UsageError(tr("--address {address} is not valid; give auto, HOST:PORT or ray://HOST:PORT").format(
            address=repr(address)))
    if max_failures < 0:
        raise UsageError(tr("--max-failures must be >= 0, got {max_failures}").format(max_failures=max_failures))
    device_of(device)  # e.g. --device cuda on a machine without CUDA: before Ray starts
    swept = [*grid_values, *range_values]
    check_flag_keys(parse_overrides(overrides), seed_flag="--seeds (e.g. --seeds 0-9)")
    given = set(_dotted(parse_overrides(overrides)))
    for key in swept + ["torch_threads"]:
        if key in given:
            what = "--cpus-per-trial sets torch_threads" if key == "torch_threads" else f"{key} is swept"
            raise UsageError(tr("--set {key}=...: {what}; leave it out of --set").format(key=key, what=what))
    manifest = Manifest(preset, seed_list, list(overrides), swept, grid=grid_values, ranges=range_values,
                        search=search, trials=trials or 0, scheduler=None if scheduler == "none" else scheduler,
                        cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial, device=device,
                        max_failures=max_failures, address=address)
    configs = trial_configs(manifest)
    manifest.metric = metric or default_metric(configs[0])
    allowed = METRICS if isinstance(task_for(configs[0].env.name), BlackjackTask) else \
        tuple(m for m in METRICS if m not in BLACKJACK_METRICS)
    if manifest.metric not in allowed:
        raise UsageError(tr("--metric {metric} is not valid for {preset}; choose one of: {choices}").format(
            metric=repr(manifest.metric), preset=preset, choices=', '.join(allowed)))
    manifest.mode = "min" if manifest.metric in LOWER_IS_BETTER else "max"
    if manifest.scheduler == "asha" and any(c.evaluation.every == 0 for c in configs):
        raise UsageError(tr("--scheduler asha stops trials at their periodic evaluations, but {preset} evaluates "
                            "only at the end (evaluation.every=0); add e.g. --set evaluation.every={value}").format(
            preset=preset, value=max(1, configs[0].budget // 10)))
    return manifest


def check_resumable(manifest: Manifest) -> None:
    """A sweep.json read back for --resume, checked as make_manifest checked it (its device on
    this machine, every trial's config) before Ray starts."""
    device_of(manifest.device)
    try:
        trial_configs(manifest)
    except (UsageError, ConfigError) as err:
        raise UsageError(tr("sweep {sweep}: its sweep.json gives a trial config this version refuses: "
                            "{err}").format(sweep=manifest.directory or manifest.preset, err=err)) from None


def trial_configs(manifest: Manifest) -> list[RunConfig]:
    """The resolved config of each grid point with each range's ends, each built into its
    learner once (a net too small or too large is refused here, not inside a trial); then every
    value a range can give is checked against those (UsageError or ConfigError, one line,
    naming the value)."""
    corners = grid_points(manifest.grid | {key: [low, high] for key, (low, high, _) in manifest.ranges.items()})
    configs = [resolve_config(manifest.preset, trial_overrides(manifest, params), manifest.seeds[0])
               for params in corners]
    for config in configs:
        build_learner(config, torch.device("cpu"), train=False).close()
    base = raw_config(manifest.preset, trial_overrides(manifest, {}), manifest.seeds[0])
    for key, (low, high, scale) in manifest.ranges.items():
        for value in range_values(low, high, scale)[1:-1]:  # the ends were resolved above
            for params in corners:
                point = params | {key: value}
                try:
                    complete_config(merge(base, parse_overrides([override(k, v) for k, v in point.items()])),
                                    environment=key.startswith("env."))
                except (UsageError, ConfigError) as err:
                    raise UsageError(tr("--range {key}={low}:{high}: the value {value} it may sample is refused "
                                        "({err}); narrow the range or use --grid with valid values").format(
                        key=key, low=low, high=high, value=value, err=err)) from None
    return configs


def range_values(low, high, scale: str) -> list:
    """The values of a range checked before a search samples it: every whole number of a whole
    range up to RANGE_CHECKS of them (else that many spread evenly), or RANGE_CHECKS real
    numbers spread evenly (on a log scale for log ranges), ends included."""
    whole = isinstance(low, int) and isinstance(high, int)
    if whole and high - low < RANGE_CHECKS:
        return list(range(low, high + 1))
    if scale == "log":
        points = [low * (high / low) ** (i / (RANGE_CHECKS - 1)) for i in range(RANGE_CHECKS)]
    else:
        points = [low + (high - low) * i / (RANGE_CHECKS - 1) for i in range(RANGE_CHECKS)]
    return sorted({int(round(p)) for p in points} | {low, high}) if whole else [low, *points[1:-1], high]


def _dotted(tree: dict, prefix: str = "") -> list[str]:
    keys = []
    for key, value in tree.items():
        keys += _dotted(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"]
    return keys

