"""The runner: preset -> config -> learner -> engine (docs/design.md: data flow; chapters 66-75).

Everything the user typed is checked here before anything is written: the preset, every
`--set` key and value (through :class:`agents.config.RunConfig`), the environment's name and
options, the device and the seed. Only then is the run directory made and the engine started.
"""

from __future__ import annotations

import importlib
from typing import Callable

import torch

import envs
from nets.registry import NetError
from lab.cli import UsageError
from lab.config import ConfigError, merge, parse_overrides, to_dict
from lab.i18n import tr
from lab.device import resolve_device
from lab.rundir import RunDir
from lab.seeding import seed_everything

from agents import presets
from agents.presets import BACKENDS, SB3_ALGOS
from agents.config import RunConfig
from agents.contract import Learner
from agents.engine import Engine, RunResult

#: (backend, algo) -> "module:Class" of the learner that runs it
LEARNERS = {
    ("native", "q-learning"): "agents.learners.tabular:TabularLearner",
    ("native", "value-function"): "agents.learners.tabular:TabularLearner",
    ("native", "dqn"): "agents.learners.dqn:DQNLearner",
    ("native", "r2d2"): "agents.learners.recurrent:RecurrentLearner",
    ("sb3", "dqn"): "agents.sb3.learner:SB3Learner",
    ("sb3", "r2d2"): "agents.sb3.learner:SB3Learner",
}
#: What people see of a finished run (plots, learning curve, recording), named for the same
#: reason: agents.watch sits above this core; the engine is given it as a callable
FINISH = "agents.watch.finish:finish_run"


def named(reference: str):
    """The object a "module:name" reference names (LEARNERS, FINISH)."""
    module, name = reference.split(":")
    return getattr(importlib.import_module(module), name)


#: config keys that --set does not take, each chosen by its own part of the command line
FLAG_KEYS = {"seed": "--seed N", "preset": "the PRESET argument", "backend": "--backend",
             "sb3_algo": "--algo"}
BUDGET_KEYS = ("total_steps", "total_episodes")


def check_flag_keys(overrides: dict, seed_flag: str = "--seed N") -> None:
    """Refuse a --set of a key that a flag sets (it would be replaced by the flag's value)."""
    for key, flag in FLAG_KEYS.items():
        if key in overrides:
            raise UsageError(tr("--set {key}=...: {key} is not a setting of --set; give it with {flag}").format(
                key=key, flag=seed_flag if key == "seed" else flag))


def resolve_config(preset: str, overrides: list[str] | None = None, seed: int = 0,
                   backend: str = "native", algo: str | None = None) -> RunConfig:
    """The preset's YAML merged with --set overrides, validated, and completed by its learner's
    `configure` (with backend sb3: the SB3 hyperparameters in `config.sb3`)."""
    return complete_config(raw_config(preset, overrides, seed, backend, algo),
                           budget_from=(presets.load(preset), parse_overrides(overrides)))


def complete_config(raw: dict, environment: bool = True, budget_from: tuple[dict, dict] | None = None) -> RunConfig:
    """A raw config (raw_config's) validated and completed by its learner's `configure`; with
    `environment`, its environment's name and options checked too; with `budget_from` (the
    preset's mapping and the --set changes), its budget checked by `check_budget`."""
    config = RunConfig.parse(raw)
    if budget_from is not None:
        check_budget(*budget_from, config)
    learner_class(config).configure(config)
    if environment:
        check_env(config)
    return config


def raw_config(preset: str, overrides: list[str] | None = None, seed: int = 0,
               backend: str = "native", algo: str | None = None) -> dict:
    """The preset's YAML merged with --set overrides, the seed and the backend, not yet validated."""
    if backend not in BACKENDS:
        raise UsageError(tr("--backend {value} is not valid; choose one of: {choices}").format(
            value=repr(backend), choices=", ".join(BACKENDS)))
    given = parse_overrides(overrides)
    check_flag_keys(given)
    raw = merge(presets.load(preset), given) | {"seed": seed}
    if backend == "sb3":
        algo = algo or "dqn"
        if algo not in SB3_ALGOS:
            raise UsageError(tr("--algo {value} is not valid; choose one of: {choices}").format(
                value=repr(algo), choices=", ".join(SB3_ALGOS)))
        raw |= {"backend": "sb3", "sb3_algo": algo}
        given_replay = given.get("replay") if isinstance(given.get("replay"), dict) else {}
        if isinstance(raw.get("replay"), dict) and "saved" not in given_replay:
            # a preset's saved replay is this library's; SB3 keeps its own buffer and never resumes
            raw["replay"] = dict(raw["replay"], saved=False)
        sb3_budget = given["sb3"].get("total_steps") if isinstance(given.get("sb3"), dict) else None
        if sb3_budget is not None and any(key in given for key in BUDGET_KEYS):
            if "total_episodes" in given or given.get("total_steps") != sb3_budget:
                raise UsageError(tr("--set total_steps/total_episodes and --set sb3.total_steps give two "
                                    "budgets; give one of them"))
        elif any(key in given for key in BUDGET_KEYS) and isinstance(raw.get("sb3", {}), dict):
            # the user's budget wins over a tuned one: sb3.total_steps 0 keeps the config's (agents.sb3)
            raw["sb3"] = dict(raw.get("sb3") or {}, total_steps=0)
    return raw


def check_budget(base: dict, changes: dict, config: RunConfig) -> None:
    """Refuse a budget that would give a silent, useless run: `--set` of the budget key the
    preset (or the resumed run) does not count, which the other key would cut short or outlast,
    and a step budget that ends before the agent's first update."""
    for key in BUDGET_KEYS:
        other = BUDGET_KEYS[1 - BUDGET_KEYS.index(key)]
        counted = base.get(other) or 0
        if key in changes and (changes.get(key) or 0) and counted and other not in changes:
            raise ConfigError(tr("--set {key}={value}: {preset} counts its budget in {other} ({counted}), "
                                 "not {key}; set {other} instead, or add --set {other}=0 to count "
                                 "{key}").format(key=key, value=getattr(config, key), preset=config.preset,
                                                 other=other, counted=counted))
    starts = getattr(config.agent, "learning_starts", 0)
    if config.backend == "native" and not config.budget_in_episodes and config.total_steps <= starts:
        raise ConfigError(tr("total_steps={steps} ends before agent.learning_starts={starts}: the agent would "
                             "never learn; raise total_steps or lower agent.learning_starts").format(
            steps=config.total_steps, starts=starts))


def check_env(config: RunConfig) -> None:
    """A bad environment name or option is a config mistake: one line, before anything runs."""
    try:
        envs.check(config.env.name, **config.env.options)
    except (ValueError, TypeError) as err:  # a TypeError: an option of the wrong type (e.g. null)
        raise ConfigError(tr("config: env: {problem}").format(problem=err)) from None


def learner_class(config: RunConfig) -> type[Learner]:
    """The class of the learner that runs `config` (LEARNERS)."""
    return named(LEARNERS[(config.backend, config.algo)])


def build_learner(config: RunConfig, device: torch.device, train: bool = True) -> Learner:
    """The learner that runs `config` (train=False: built to load weights and play); a net the
    config asks for that cannot be built, or does not fit in memory, is a ConfigError."""
    try:
        return learner_class(config)(config, device, train=train)
    except NetError as err:  # an unknown net kind or option in the preset or --set
        raise ConfigError(tr("config: net: {problem}").format(problem=err)) from None
    except RuntimeError as err:
        if not isinstance(err, torch.OutOfMemoryError) and "allocate" not in str(err):
            raise
        raise ConfigError(tr("config: net: the network this config asks for does not fit in memory on {device} "
                             "({problem}); lower its sizes").format(device=device, problem=str(err).splitlines()[0][:120])) from None


def device_of(name: str) -> torch.device:
    try:
        return resolve_device(name)
    except ValueError as err:  # e.g. --device cuda on a machine without CUDA
        raise UsageError(str(err)) from None


def train(preset: str, overrides: list[str] | None = None, seed: int | None = None, device: str = "auto",
          run_dir: str | None = None, quiet: bool = False, resume: str | None = None,
          backend: str = "native", algo: str | None = None,
          on_evaluation: Callable[[dict], None] | None = None, drawings: bool = True) -> RunResult:
    """Train `preset` (or resume RUN_DIR) to the end of its budget; the finished run as data.
    `on_evaluation` is called after each evaluation; `drawings=False` leaves out what people
    see of the run (plots, learning curve, recording: FINISH), keeping eval.json and checkpoints."""
    device_of(device)  # a bad --device stops before anything else
    if not resume:
        config = resolve_config(preset, overrides, 0 if seed is None else seed, backend, algo)
        return train_config(config, device=device, run_dir=run_dir, quiet=quiet,
                            on_evaluation=on_evaluation, drawings=drawings)
    run = RunDir.open(resume)  # no such folder, or no config.yaml there: one line
    with run.locked():  # before reading anything: a second --resume of the same run stops here
        config = resumed_config(run, overrides, seed)
        return train_config(config, device=device, quiet=quiet, resume=run,
                            on_evaluation=on_evaluation, drawings=drawings)


def resumed_config(run: RunDir, overrides: list[str] | None, seed: int | None) -> RunConfig:
    """The stored config of a run to continue, with `--set` overrides (e.g. a raised budget)."""
    stored = run.read_config()
    check_flag_keys(parse_overrides(overrides))
    if seed is not None and seed != stored.get("seed"):
        raise UsageError(tr("--seed {seed} differs from the run's seed {stored}; leave --seed out when "
                            "resuming").format(seed=seed, stored=stored.get("seed")))
    if stored.get("backend") == "sb3":
        raise UsageError(tr("--resume is not supported with --backend sb3 (SB3 keeps no resumable state "
                            "outside its pickled zips); start a new run"))
    changes = parse_overrides(overrides)
    try:
        config = RunConfig.parse(merge(stored, changes))
    except ConfigError:
        written_by = _writer_of(run)
        if written_by is not None:
            raise ConfigError(tr("--resume {path}: this run was written by dlbook-agents {version}, whose "
                                 "config layout this version does not read; train it again").format(
                path=run.path, version=written_by)) from None
        raise
    check_budget(stored, changes, config)
    return config


def _writer_of(run: RunDir) -> str | None:
    """The library version that wrote an older run's latest checkpoint (None: ours, or none)."""
    import json

    try:
        state = json.loads((run.checkpoints / "latest" / "state.json").read_text())["state"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(state, dict):
        return None
    return None if state.get("engine_format") else str(state.get("library_version", "(unknown)"))


def train_config(config: RunConfig, device: str = "auto", run_dir: str | None = None, quiet: bool = False,
                 resume: RunDir | None = None,
                 on_evaluation: Callable[[dict], None] | None = None, drawings: bool = True) -> RunResult:
    """Run a validated config to the end of its budget (a new run, or `resume`'s)."""
    torch_device = device_of(device)
    if config.record_episodes > 0 and not drawings:
        raise UsageError(tr("record_episodes={count} is a drawing: set record_episodes=0 to train without "
                            "drawings").format(count=config.record_episodes))
    seed_everything(config.seed)
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    learner = build_learner(config, torch_device)
    run = resume
    if run is None:
        name = config.preset + (f"-sb3-{config.sb3_algo}" if config.backend == "sb3" else "")
        run = RunDir.create(name, config.seed, path=run_dir)
    with run.locked(new=resume is None):  # one process trains into a run directory (lab.rundir)
        if resume is None:
            run.write_config(to_dict(config))
        engine = Engine(config, learner, run, quiet=quiet, on_evaluation=on_evaluation,
                        finish=named(FINISH) if drawings else None)
        return engine.run_to_end(resume=resume is not None)
