"""A sweep's trials on Ray Tune (docs/design.md: scale-out; chapters 66-75).

Every trial is an ordinary run: :func:`run_trial` calls ``agents.runner.train`` into
``<sweep>/<trial>/`` (config.yaml, checkpoints, TensorBoard, eval.json) and reports each of the
engine's evaluations to Tune through the engine's ``on_evaluation`` hook. Locally Ray gets
``--cpus`` CPUs and each trial ``--cpus-per-trial`` of them (and as many torch threads), so
trials never oversubscribe the cores; with ``--address`` the same trials run on a Ray cluster.
Ray Tune keeps its own experiment state in ``<sweep>/tune/`` (its storage path).

Fault tolerance is the engine's resume. When a trial's process dies, Tune starts the trial
again (``FailureConfig(max_failures)``) and :func:`run_trial` finds its run directory: with
``checkpoints/latest`` it continues from there (``runner.train(resume=...)``), with ``eval.json``
it only reports the finished figures. :func:`resume_sweep` restores Tune's experiment state
(``Tuner.restore``), which does not start finished trials again.

Trials write their run directories at the sweep's absolute path, so on a cluster that path must
be on a filesystem every node mounts at the same place (NFS), as Ray Tune itself asks of a
multi-node storage path since Ray 2.7.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import time
from pathlib import Path

import ray
from ray import tune

from lab.cli import UsageError
from lab.i18n import decimal, tr
from lab.rundir import RunDir

from agents import runner
from agents.sweeps.manifest import TUNE_FOLDER, Manifest
from agents.sweeps.plan import grid_points, override, trial_name, trial_overrides

OBJECT_STORE_BYTES = 128 * 1024**2  # trials pass no data through Ray's object store; keep it small
ADDRESS_TIMEOUT_S = 5
TRIAL_LOCK_WAIT_S = 60  # how long a restarted trial waits for its old worker to let go of the run
ASHA_GRACE, ASHA_REDUCTION = 2, 3  # first cut after two evaluations; a third goes on at each rung
#: eval.json key -> the TensorBoard tag the engine logs it under (what Tune's metric names)
EVAL_TAGS = {"mean": "eval/mean_return", "ci95": "eval/ci95", "exact_return": "eval/exact_return",
             "regret": "eval/regret"}


# -- inside a trial (a Ray worker process) ----------------------------------------------------
def run_trial(config: dict) -> None:
    """One trial: an ordinary run of the preset at one seed and one configuration."""
    sweep, seed, params = config["sweep"], int(config["seed"]), dict(config.get("params") or {})
    run_dir = Path(sweep["dir"]) / trial_name(params, seed, _trial_id(sweep))
    run_dir.mkdir(parents=True, exist_ok=True)
    # a trial Tune starts again while its old worker still runs waits for that worker's lock,
    # and decides what to do only once it holds it (lab.rundir)
    with RunDir(run_dir).locked(wait=TRIAL_LOCK_WAIT_S):
        _run_trial_locked(sweep, seed, params, run_dir)


def _run_trial_locked(sweep: dict, seed: int, params: dict, run_dir: Path) -> None:
    if (run_dir / "eval.json").is_file():  # finished before its process died or the sweep stopped
        state = json.loads((run_dir / "checkpoints" / "latest" / "state.json").read_text())["state"]
        evaluation = json.loads((run_dir / "eval.json").read_text())
        tune.report(final_metrics(evaluation, state["steps"], state["episodes"]) | {"resumed_from": state["steps"]})
        return
    latest = run_dir / "checkpoints" / "latest" / "state.json"
    resumed_from = json.loads(latest.read_text())["state"]["steps"] if latest.is_file() else 0

    def report_periodic(record: dict) -> None:
        if not record["final"]:  # the final figures are reported once eval.json is written
            tune.report(record | {"resumed_from": resumed_from})

    if resumed_from:
        result = runner.train(sweep["preset"], resume=str(run_dir), device=sweep["device"], quiet=True,
                              on_evaluation=report_periodic)
    else:
        RunDir(run_dir).clear()  # died before its first checkpoint: nothing to resume
        overrides = [*sweep["overrides"], *(override(key, value) for key, value in params.items())]
        result = runner.train(sweep["preset"], overrides=overrides, seed=seed, run_dir=str(run_dir),
                              device=sweep["device"], quiet=True, on_evaluation=report_periodic)
    tune.report(final_metrics(result.evaluation, result.steps, result.episodes) | {"resumed_from": resumed_from})


def _trial_id(sweep: dict) -> str | None:
    return tune.get_context().get_trial_id() if sweep["search"] else None


def final_metrics(evaluation: dict, steps: int, episodes: int) -> dict:
    """A finished run's eval.json as the metrics Tune records (the engine's tag names)."""
    return {tag: float(evaluation[key]) for key, tag in EVAL_TAGS.items() if key in evaluation} | {
        "steps": steps, "episodes": episodes, "final": True}


def _dirname(trial) -> str:
    """Tune's folder for a trial under tune/: the same name as its run directory."""
    c = trial.config
    return trial_name(dict(c.get("params") or {}), int(c["seed"]), trial.trial_id if c["sweep"]["search"] else None)


# -- the driver ---------------------------------------------------------------------------------
class Progress(tune.Callback):
    """One line per trial event on the driver, instead of Tune's periodic status tables."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet, self.done = quiet, 0

    def _say(self, trial, text: str) -> None:
        if not self.quiet:
            print(f"[sweep] {_dirname(trial)}: {text}", flush=True)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        result = trial.last_result or {}
        figure = next((f"{tag} {decimal(f'{result[tag]:.5g}')}" for tag in ("eval/regret", "eval/mean_return")
                       if tag in result), "")
        self.done += 1
        how = tr("finished") if result.get("final") else tr("stopped by the scheduler")
        resumed = (tr(", resumed from step {step}").format(step=result["resumed_from"])
                   if result.get("resumed_from") else "")
        self._say(trial, tr("{how} ({figure}{resumed}) [{done} of {trials} trials ended]").format(
            how=how, figure=figure, resumed=resumed, done=self.done, trials=len(trials)))

    def on_trial_recover(self, iteration, trials, trial, **info) -> None:
        self._say(trial, tr("its process failed; Tune starts it again and it continues from its last checkpoint"))

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self._say(trial, tr("failed; Ray's error is in {path}").format(path=Path(trial.local_path or ".") / "error.txt"))


@dataclasses.dataclass
class SweepOutcome:
    """How the trials of one `fit` ended (the run directories hold the results)."""

    sweep_dir: Path
    trials: int
    errors: list[str]  # one line per failed trial
    unfinished: int  # neither finished nor failed: the sweep was interrupted

    @property
    def exit_code(self) -> int:
        return 130 if self.unfinished else (1 if self.errors else 0)


def new_sweep_dir(preset: str, sweep_dir: str | None) -> Path:
    """Where a new sweep goes: exactly `sweep_dir` (new or empty) or runs/<preset>/sweep-<time>/;
    checked, not made (nothing is written before Ray has started)."""
    if sweep_dir is not None:
        path = Path(sweep_dir)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            hint = (tr("continue it with --resume {path}").format(path=path) if (path / "sweep.json").is_file()
                    else tr("give a new or empty folder"))
            state = tr("not empty") if path.is_dir() else tr("a file")
            raise UsageError(tr("--sweep-dir {path} is {state}; {hint}").format(path=path, state=state, hint=hint))
        return path.resolve()
    base = Path("runs") / preset / f"sweep-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path.resolve()


def connect(address: str | None, cpus: int, quiet: bool) -> None:
    """Start a local Ray with `cpus` CPUs, or join the cluster at `address`."""
    options = dict(log_to_driver=not quiet, logging_level=logging.WARNING, include_dashboard=False)
    if address not in (None, "auto"):  # ray.init keeps retrying a silent address for minutes
        host, port = address.removeprefix("ray://").rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=ADDRESS_TIMEOUT_S).close()
        except OSError as err:
            raise UsageError(tr("--address {address}: nothing answers there ({value}); start the cluster with `ray "
                                "start --head` and give its address").format(
                address=address, value=err.strerror or err)) from None
    try:
        if address is None:
            ray.init(num_cpus=cpus, object_store_memory=OBJECT_STORE_BYTES, **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError) as err:
        where = "a local Ray" if address is None else f"--address {address}"
        raise UsageError(tr("{where}: Ray did not start or answer ({value}); for a cluster run `ray start --head` "
                            "on one machine and give its address").format(
            where=where, value=str(err).splitlines()[0])) from None


def param_space(manifest: Manifest, sweep_dir: Path) -> dict:
    """Constants every trial reads, the seeds (a grid) and the swept values: every combination
    of the --grid values, or, with a search, Tune domains that Optuna samples."""
    space = {"sweep": {"dir": str(sweep_dir), "preset": manifest.preset, "overrides": trial_overrides(manifest, {}),
                       "device": manifest.device, "search": manifest.search}}
    if manifest.search:
        space["seed"] = manifest.seeds[0]
        space["params"] = {key: tune.choice(values) for key, values in manifest.grid.items()} | {
            key: _domain(low, high, scale) for key, (low, high, scale) in manifest.ranges.items()}
        return space
    space["seed"] = tune.grid_search(manifest.seeds)
    if manifest.grid:
        space["params"] = tune.grid_search(grid_points(manifest.grid))
    return space


def _domain(low, high, scale: str):
    """Whole-number bounds sample whole numbers (HIGH included), others real numbers."""
    if isinstance(low, int) and isinstance(high, int):
        return tune.lograndint(low, high + 1) if scale == "log" else tune.randint(low, high + 1)
    return tune.loguniform(low, high) if scale == "log" else tune.uniform(low, high)


def tune_config(manifest: Manifest) -> tune.TuneConfig:
    """Tune's grid, or Optuna's sampler; ASHA on the periodic evaluations when asked for. ASHA
    counts time in evaluations (the engine's `evaluation_index`, the same after a resume); its
    max_t is no cap, since each run ends at its own budget."""
    options: dict = dict(trial_dirname_creator=_dirname, trial_name_creator=_dirname)
    if manifest.search or manifest.scheduler:
        options |= dict(metric=manifest.metric, mode=manifest.mode)
    if manifest.search == "optuna":
        from ray.tune.search.optuna import OptunaSearch

        options |= dict(search_alg=OptunaSearch(seed=manifest.seeds[0]), num_samples=manifest.trials)
    if manifest.scheduler == "asha":
        from ray.tune.schedulers import ASHAScheduler

        options["scheduler"] = ASHAScheduler(time_attr="evaluation_index", grace_period=ASHA_GRACE,
                                             reduction_factor=ASHA_REDUCTION, max_t=2**20)
    return tune.TuneConfig(**options)


def run_sweep(manifest: Manifest, sweep_dir: str | None = None, cpus: int | None = None,
              quiet: bool = False) -> SweepOutcome:
    """Run every trial of `manifest` on Ray Tune into a new sweep directory."""
    path = new_sweep_dir(manifest.preset, sweep_dir)
    connect(manifest.address, cpus or os.cpu_count() or 1, quiet)
    try:
        path.mkdir(parents=True, exist_ok=True)
        manifest.created, manifest.directory = time.strftime("%Y-%m-%d %H:%M:%S"), str(path)
        manifest.write(path)
        _announce(manifest, path, quiet)
        return outcome(_new_tuner(manifest, path, quiet).fit(), path, manifest)
    finally:
        ray.shutdown()


def resume_sweep(sweep_dir: str, address: str | None = None, cpus: int | None = None,
                 quiet: bool = False) -> SweepOutcome:
    """Continue an interrupted sweep: Tune's saved state when it has one (finished trials stay
    finished), else the same trials again, each finding its run directory as it was left."""
    manifest = Manifest.read(sweep_dir)
    path = Path(sweep_dir).resolve()
    if manifest.directory and Path(manifest.directory) != path:
        raise UsageError(tr("--resume {sweep_dir}: this sweep was made at {directory} and its trials write there; "
                            "resume it in that place").format(sweep_dir=sweep_dir, directory=manifest.directory))
    state = path / TUNE_FOLDER
    restorable = tune.Tuner.can_restore(str(state))
    if not restorable and manifest.search:
        raise UsageError(tr("--resume {sweep_dir}: Ray Tune saved no state in {state}, so the search cannot "
                            "continue; start a new sweep").format(sweep_dir=sweep_dir, state=state))
    connect(address or manifest.address, cpus or os.cpu_count() or 1, quiet)
    try:
        _announce(manifest, path, quiet)
        tuner = (tune.Tuner.restore(str(state), trainable=_trainable(manifest), resume_unfinished=True,
                                    resume_errored=True) if restorable else _new_tuner(manifest, path, quiet))
        return outcome(tuner.fit(), path, manifest)
    finally:
        ray.shutdown()


def _announce(manifest: Manifest, path: Path, quiet: bool) -> None:
    if not quiet:
        print("[sweep] " + tr("{path}: {trials} trials on {cpus} CPUs, {per_trial} per trial").format(
            path=path, trials=planned_trials(manifest), cpus=f"{ray.cluster_resources().get('CPU', 0):g}",
            per_trial=f"{manifest.cpus_per_trial:g}"), flush=True)


def _trainable(manifest: Manifest):
    return tune.with_resources(run_trial, {"cpu": manifest.cpus_per_trial, "gpu": manifest.gpus_per_trial})


def _new_tuner(manifest: Manifest, path: Path, quiet: bool) -> tune.Tuner:
    return tune.Tuner(_trainable(manifest), param_space=param_space(manifest, path),
                      tune_config=tune_config(manifest), run_config=_run_config(manifest, path, quiet))


def planned_trials(manifest: Manifest) -> int:
    return manifest.trials if manifest.search else len(manifest.seeds) * len(grid_points(manifest.grid))


def _run_config(manifest: Manifest, path: Path, quiet: bool) -> tune.RunConfig:
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    # Tune's TensorBoard logger would add a second copy of every curve under tune/; the runs log their own
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    return tune.RunConfig(name=TUNE_FOLDER, storage_path=str(path), verbose=0,
                          failure_config=tune.FailureConfig(max_failures=manifest.max_failures),
                          callbacks=[JsonLoggerCallback(), CSVLoggerCallback(), Progress(quiet)])


def outcome(grid, path: Path, manifest: Manifest) -> SweepOutcome:
    """Failed trials from the results; unfinished ones from the experiment state Tune saved last
    (after Ctrl+C its in-memory trials read as stopped, the saved ones as still running)."""
    errors = [tr("trial {name} failed: {error}").format(
        name=Path(r.path).name, error=str(r.error).strip().splitlines()[-1] if str(r.error) else repr(r.error))
        for r in grid if r.error is not None]
    saved = tune.ExperimentAnalysis(str(path / TUNE_FOLDER)).trials
    ended = sum(trial.status in ("TERMINATED", "ERROR") for trial in saved)
    return SweepOutcome(path, len(grid), errors, max(len(saved), planned_trials(manifest)) - ended)
