"""Speed and memory measured beside Stable-Baselines3 (docs/design.md: rooms; chapters 69-75).

`scripts/bench.py atari` prints one table whose lines are measured in the same process, close
in time, each with the ratio ours / reference:

(a) env     agent steps/s of our Boxing pipeline (`envs.make_vector("boxing", ...)`) against a
            bare `ale_py.vector_env.AtariVectorEnv` built with the same settings, both driven by
            the same random actions; the two are stepped in alternating blocks so that load from
            other processes hits both alike.
(b) train   agent steps/s including learning of our DQN (the run engine on a config built
            here) against Stable-Baselines3 DQN (`make_atari_env` = `AtariWrapper`, plus
            `VecFrameStack(4)`, `CnnPolicy`) with the same hyperparameters: Nature CNN, batch 32,
            one update per 4 agent steps, target refresh every 1,000 agent steps, a 100k replay,
            learning from step 1,000, Adam 1e-4, Huber loss, gradient norm 10, epsilon 1 -> 0.05
            over the first 10%, sticky actions 0.25, rewards clipped in learning. Both sides run
            with the same number of torch threads (torch's default; OMP_NUM_THREADS sets it).
            A second line divides by the CPU seconds of all threads, which other load on a
            shared machine moves less than wall-clock.
(c) replay  bytes per stored transition of our frame-once memory at a 1M capacity against SB3's
            `ReplayBuffer` (obs and next_obs) and its `optimize_memory_usage=True` (obs only),
            computed from the arrays each allocates (unwritten numpy zeros take no RAM, so this
            touches nothing).
(d) ingredients  milliseconds per update of the DQN with each data-efficient ingredient (C51,
            shifts, EMA target, AdamW, SPR, bfloat16 forward passes) against the plain DQN update in
            the same run (agents/bench/ingredients.py).

`scripts/bench.py blackjack` trains blackjack-dqn (chapters 71-75) with our DQN and with SB3's
DQN (`--backend sb3`: the same preset through the one preset -> SB3 mapping) on the same number
of agent steps, then compares training time, steps/s and the exact regret of each greedy
policy, computed by `envs.blackjack_solver` (no sampling noise in that figure).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import warnings
from typing import Callable

import numpy as np
import torch

import envs
from lab.cli import UsageError
from lab.device import resolve_device
from lab.i18n import tr

from agents import runner
from agents.config import RunConfig
from agents.bench import ATARI_PARTS, MEMORY_PARTS
from agents.bench.ingredients import measure_ingredients
from agents.replay import FrameReplayMemory
from agents.runner import resolve_config, train_config
from agents.sb3.mapping import unmapped_options

SUITES = ("atari", "blackjack", "memory")
ATARI_DEFAULT_STEPS = 20_000
ENV_BENCH_NUM_ENVS = 8
REPLAY_BENCH_CAPACITY = 1_000_000


class BenchError(UsageError):
    """A bad suite, part or step count (one line on stderr, exit status 2)."""


# -- shared helpers --------------------------------------------------------------------------
@contextlib.contextmanager
def torch_threads(count: int):
    """Run a block with `count` intra-op threads, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _row(name: str, ours: float, reference: float, unit: str, reference_name: str, target: str) -> dict:
    ratio = ours / reference if reference else float("nan")
    return {"name": name, "ours": ours, "reference": reference, "unit": unit,
            "reference_name": reference_name, "ratio": ratio, "target": target}


def format_table(title: str, rows: list[dict], notes: list[str]) -> str:
    """The rows as a fixed-width table with one ratio per line, then the notes."""
    width = max([34, *(len(row["name"]) for row in rows)])
    header = f"{'measure':{width}s} {'ours':>12s} {'reference':>12s} {'ratio':>7s}  {'target':10s} reference"
    lines = [title, header, "-" * len(header)]
    for row in rows:
        lines.append(f"{row['name']:{width}s} {row['ours']:12,.1f} {row['reference']:12,.1f} "
                     f"{row['ratio']:7.2f}  {row['target']:10s} {row['reference_name']} ({row['unit']})")
    return "\n".join(lines + [""] + notes)


def _parts(only: str | None, choices: tuple[str, ...]) -> list[str]:
    if not only:
        return list(choices)
    wanted = [part.strip() for part in only.split(",") if part.strip()]
    for part in wanted:
        if part not in choices:
            raise BenchError(tr("--only: unknown part {part}; choose from {choices}").format(
                part=repr(part), choices=", ".join(choices)))
    return wanted


def _seeds(text: str | None) -> list[int]:
    """"0,1,2" -> [0, 1, 2] (default those three); each a whole number >= 0, none twice."""
    if text is None:
        return [0, 1, 2]
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise BenchError(tr("--seeds must be comma-separated whole numbers >= 0, e.g. 0,1,2; got {text}").format(
            text=repr(text))) from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise BenchError(tr("--seeds must be distinct whole numbers >= 0, e.g. 0,1,2; got {text}").format(text=repr(text)))
    return seeds


# -- (a) the environment pipeline ------------------------------------------------------------
def raw_boxing_vector(num_envs: int, seed: int):
    """A bare AtariVectorEnv with the settings envs.atari uses for the Machado protocol."""
    from ale_py.vector_env import AtariVectorEnv

    env = AtariVectorEnv(
        "boxing", num_envs, max_num_frames_per_episode=108_000, repeat_action_probability=0.25,
        full_action_space=True, img_height=84, img_width=84, grayscale=True, stack_num=4,
        frameskip=4, maxpool=True, noop_max=30, episodic_life=False, life_loss_info=False,
        reward_clipping=False, use_fire_reset=False,
    )
    env.reset(seed=seed)
    return env


def measure_env(steps: int, seed: int, num_envs: int = ENV_BENCH_NUM_ENVS, block: int = 50) -> dict:
    """Agent steps/s of ours and of the raw vector env with random actions, stepped in
    alternating blocks of `block` vector steps until each has made `steps` agent steps."""

    ours = envs.make_vector("boxing", num_envs=num_envs, seed=seed)
    raw = raw_boxing_vector(num_envs, seed)
    actions = np.random.default_rng(seed).integers(18, size=(block, num_envs))
    seconds = {"ours": 0.0, "raw": 0.0}
    done = 0
    try:
        for env in (ours, raw):  # warm-up: first steps allocate buffers
            for a in actions[:20]:
                env.step(a)
        while done < steps:
            pair = (("ours", ours), ("raw", raw))
            for name, env in pair if (done // (block * num_envs)) % 2 == 0 else pair[::-1]:
                start = time.perf_counter()
                for a in actions:
                    env.step(a)
                seconds[name] += time.perf_counter() - start
            done += block * num_envs
    finally:
        ours.close()
        raw.close()
    return {name: done / value for name, value in seconds.items()} | {"steps": done}


# -- (b) training throughput -----------------------------------------------------------------
def atari_bench_config(steps: int, seed: int, threads: int, channels_last: bool = True) -> dict:
    """Our DQN with Stable-Baselines3's Atari DQN settings (see the module docstring).

    SB3's target_update_interval counts agent steps; ours counts gradient steps, so 1,000
    agent steps at one update per 4 steps is a target period of 250.
    """
    return {
        "preset": "bench-atari", "algo": "dqn", "seed": seed,
        "description": "bench.py atari: DQN with Stable-Baselines3's settings",
        "env": {"name": "boxing", "options": {"protocol": "machado"}, "num_envs": 1},
        "total_steps": steps,
        "net": {"kind": "nature_cnn", "options": {}},
        "agent": {"gamma": 0.99, "n_step": 1, "double": False, "dueling": False, "loss": "huber",
                  "optimizer": "adam", "lr": 1e-4, "adam_eps": 1e-8, "max_grad_norm": 10.0,
                  "target_update": "hard", "target_period": 250, "batch_size": 32,
                  "learning_starts": 1000, "train_every": 4, "clip_rewards": True,
                  "channels_last": channels_last},
        "replay": {"capacity": 100_000},
        "exploration": {"schedule": "linear", "start": 1.0, "end": 0.05, "fraction": 0.1},
        # the loop's final evaluation is not timed; one episode keeps it short
        "evaluation": {"every": 0, "episodes": 1, "epsilon": 0.05},
        "log_every": 1000, "checkpoint_every": 10 * steps, "record_episodes": 0,
        "torch_threads": threads,
    }


def measure_ours_atari(steps: int, seed: int, device: str, threads: int, quiet: bool) -> dict:
    """Steps/s of our DQN under the engine on the bench config: the training loop alone (the
    engine's RunResult excludes the final evaluation), and its CPU seconds over all threads."""

    config = RunConfig.parse(atari_bench_config(steps, seed, threads))
    with tempfile.TemporaryDirectory() as folder, torch_threads(threads):
        result = train_config(config, device=device, run_dir=f"{folder}/run", quiet=quiet)
    return {"steps": result.steps, "seconds": result.seconds, "sps": result.steps_per_second,
            "cpu": result.cpu_seconds}


def measure_sb3_atari(steps: int, seed: int, device: str, threads: int, quiet: bool) -> dict:
    """Wall time of Stable-Baselines3's `model.learn(steps)` with the same settings."""
    import ale_py
    import gymnasium
    from stable_baselines3 import DQN
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    gymnasium.register_envs(ale_py)
    # frameskip=1: AtariWrapper skips 4 itself (v5's own frameskip 4 would make it 16)
    env = VecFrameStack(make_atari_env("ALE/Boxing-v5", n_envs=1, seed=seed,
                                       env_kwargs={"frameskip": 1}), n_stack=4)
    with torch_threads(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SB3 warns that 100k uncompressed frames may not fit
        model = DQN("CnnPolicy", env, buffer_size=100_000, learning_starts=1000, train_freq=4,
                    gradient_steps=1, target_update_interval=1000, batch_size=32, learning_rate=1e-4,
                    gamma=0.99, exploration_fraction=0.1, exploration_initial_eps=1.0,
                    exploration_final_eps=0.05, max_grad_norm=10.0, seed=seed, device=device, verbose=0)
        start, cpu_start = time.perf_counter(), time.process_time()
        model.learn(total_timesteps=steps, progress_bar=False)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    done = int(model.num_timesteps)
    env.close()
    del model
    return {"steps": done, "seconds": seconds, "sps": done / seconds, "cpu": cpu}


# -- (c) replay memory -----------------------------------------------------------------------
def replay_bytes(capacity: int = REPLAY_BENCH_CAPACITY) -> dict:
    """Bytes per stored transition: ours at `capacity`, SB3's buffers from their array sizes."""
    import gymnasium
    from stable_baselines3.common.buffers import ReplayBuffer

    ours = FrameReplayMemory(capacity, frame_shape=(84, 84), stack=4).bytes_per_transition
    observation_space = gymnasium.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    action_space = gymnasium.spaces.Discrete(18)
    sb3 = {}
    size = 1000  # per-transition cost does not depend on the size; a small one allocates little
    for optimize in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            buffer = ReplayBuffer(size, observation_space, action_space, device="cpu",
                                  optimize_memory_usage=optimize,
                                  handle_timeout_termination=not optimize)  # SB3 allows only one
        arrays = [value for value in vars(buffer).values() if isinstance(value, np.ndarray)]
        sb3[optimize] = sum(array.nbytes for array in arrays) / buffer.buffer_size
    return {"ours": ours, "sb3": sb3[False], "sb3_optimized": sb3[True]}


# -- the Atari table -------------------------------------------------------------------------
def run_atari(steps: int, seed: int, device: str, quiet: bool, parts: list[str],
              threads: int | None = None, log: Callable[[str], None] = print) -> str:
    # Both sides of (b) get torch's default intra-op thread count (all cores, or
    # OMP_NUM_THREADS): on a machine shared with other busy processes, OMP_NUM_THREADS=1 gives
    # steadier figures (two busy thread pools on two shared cores were measured 5-10x slower).
    threads = threads or torch.get_num_threads()
    rows, notes = [], []
    if "env" in parts:
        log(f"(a) stepping {ENV_BENCH_NUM_ENVS} Boxing envs with random actions, ours and raw in turn ...")
        env = measure_env(steps, seed)
        rows.append(_row(f"(a) env steps/s, {ENV_BENCH_NUM_ENVS} envs", env["ours"], env["raw"],
                         "agent steps/s", "raw AtariVectorEnv", ">= 0.9"))
    if "train" in parts:
        log(f"(b) training {steps} steps with our DQN, then with Stable-Baselines3 DQN ...")
        ours = measure_ours_atari(steps, seed, device, threads, quiet)
        sb3 = measure_sb3_atari(steps, seed, device, threads, quiet)
        rows.append(_row("(b) DQN training steps/s", ours["sps"], sb3["sps"], "agent steps/s incl. learning",
                         "SB3 DQN", ">= 1.5"))
        rows.append(_row("(b) DQN training steps/CPU-second", ours["steps"] / ours["cpu"],
                         sb3["steps"] / sb3["cpu"], "agent steps per CPU-second, all threads",
                         "SB3 DQN", "(steadier)"))
        notes.append(f"(b) {steps} agent steps, 1 env, {threads} torch thread(s) each, device {device}: "
                     f"ours {ours['seconds']:.1f} s ({ours['cpu']:.1f} CPU-s), "
                     f"SB3 model.learn {sb3['seconds']:.1f} s ({sb3['cpu']:.1f} CPU-s). Wall-clock "
                     "ratios move with other load on the machine; CPU-seconds move less.")
    if "replay" in parts:
        memory = replay_bytes()
        rows.append(_row("(c) replay bytes/transition", memory["ours"], memory["sb3"], "bytes",
                         "SB3 ReplayBuffer", "<= 7.2 KB"))
        rows.append(_row("(c) replay bytes/transition", memory["ours"], memory["sb3_optimized"], "bytes",
                         "SB3 optimize_memory_usage", "<= 7.2 KB"))
        notes.append(f"(c) ours at a {REPLAY_BENCH_CAPACITY:,} capacity: "
                     f"{memory['ours'] * REPLAY_BENCH_CAPACITY / 1e9:.2f} GB in all; "
                     f"SB3 would need {memory['sb3'] * REPLAY_BENCH_CAPACITY / 1e9:.1f} GB "
                     f"({memory['sb3_optimized'] * REPLAY_BENCH_CAPACITY / 1e9:.1f} GB optimized)")
    if "ingredients" in parts:
        log("(d) timing one update of the DQN with each data-efficient ingredient ...")
        cost = measure_ingredients(seed)
        for name in cost:
            if name not in ("plain", "reset"):
                rows.append(_row(f"(d) update + {name}", cost[name], cost["plain"], "ms per update",
                                 "plain DQN update", "(cost)"))
        rows.append(_row("(d) one reset (shrink-perturb)", cost["reset"], cost["plain"], "ms per reset",
                         "plain DQN update", "(cost)"))
        notes.append(f"(d) batch 32, Nature CNN, 18 actions, {threads} torch thread(s), device cpu: plain DQN "
                     f"update {cost['plain']:.1f} ms (Adam, hard target). Medians of 5 alternating rounds of 4 "
                     "updates; a shared, loaded machine moves them.")
    return format_table(f"bench atari (Boxing, seed {seed}): ratio = ours / reference", rows, notes)


# -- Blackjack -------------------------------------------------------------------------------
def measure_blackjack(seed: int, device: str, quiet: bool, overrides: list[str], backend: str) -> dict:
    """Train blackjack-dqn with `backend` (ours, or SB3's DQN through the one preset -> SB3
    mapping of agents.sb3.mapping); its steps, training seconds and exact regret."""

    # no evaluations inside the timed loop; the final one is outside RunResult.seconds
    extra = ["record_episodes=0", "evaluation.every=0"]
    with tempfile.TemporaryDirectory() as folder:
        result = runner.train("blackjack-dqn", overrides=overrides + extra, seed=seed, device=device,
                              run_dir=f"{folder}/run", quiet=quiet, backend=backend)
    return {"steps": result.steps, "seconds": result.seconds, "sps": result.steps_per_second,
            "regret": float(result.evaluation["regret"]),
            "exact_return": float(result.evaluation["exact_return"])}


def run_blackjack(seed: int, device: str, quiet: bool, overrides: list[str] | None = None,
                  log: Callable[[str], None] = print) -> str:

    overrides = list(overrides or [])
    log("training blackjack-dqn (ours) ...")
    ours = measure_blackjack(seed, device, quiet, overrides, "native")
    log(f"training blackjack-dqn with Stable-Baselines3 DQN for the same {ours['steps']} agent steps ...")
    sb3 = measure_blackjack(seed, device, quiet, overrides + [f"total_steps={ours['steps']}", "total_episodes=0"], "sb3")
    rows = [
        _row("steps/s (training loop)", ours["sps"], sb3["sps"], "agent steps/s", "SB3 DQN", "higher"),
        _row("wall-clock of training", ours["seconds"], sb3["seconds"], "s", "SB3 DQN", "lower"),
        _row("exact regret x1000", 1000 * ours["regret"], 1000 * sb3["regret"], "optimal - exact return",
             "SB3 DQN", "lower"),
    ]
    missing = unmapped_options("dqn", resolve_config("blackjack-dqn", overrides))
    notes = [f"blackjack-dqn budget: {ours['steps']} agent steps; exact expected returns "
             f"ours {ours['exact_return']:+.5f}, SB3 {sb3['exact_return']:+.5f} (envs.blackjack_solver)",
             "SB3 side: the preset through agents.sb3.mapping (the --backend sb3 mapping); it ignores "
             + "; ".join(missing)]
    return format_table(f"bench blackjack (seed {seed}): ratio = ours / reference", rows, notes)


# -- entry point -----------------------------------------------------------------------------
def run(suite: str, steps: int | None = None, seed: int = 0, device: str = "cpu", quiet: bool = False,
        only: str | None = None, seeds: str | None = None, workers: int = 1) -> str:
    """Measure `suite` ("atari", "blackjack" or "memory") and return the table to print.

    `steps` sets the Atari training measurement (default 20,000 agent steps per side; also the
    env measurement's agent steps), replaces blackjack-dqn's budget of 100,000 episodes by
    that many agent steps, or every memory training's budget; `only` picks Atari or memory
    parts, e.g. "env,replay"; `seeds` (memory: "0,1,2") and `workers` (memory: trainings at once).
    """
    if suite not in SUITES:
        raise BenchError(tr("unknown bench suite {suite}; choose one of {choices}").format(
            suite=repr(suite), choices=", ".join(SUITES)))
    if steps is not None and steps < 1:
        raise BenchError(tr("--steps must be >= 1, got {steps}").format(steps=steps))
    if seed < 0:
        raise BenchError(tr("--seed must be >= 0, got {seed}").format(seed=seed))

    try:
        device = str(resolve_device(device))
    except ValueError as err:
        raise BenchError(str(err)) from None
    log = (lambda message: None) if quiet else (lambda message: print(message, flush=True))
    if workers < 1:
        raise BenchError(tr("--workers must be >= 1, got {workers}").format(workers=workers))
    if suite == "memory":
        from agents.bench.memory import DEFAULT_PARTS, run_memory

        parts = _parts(only, MEMORY_PARTS) if only else list(DEFAULT_PARTS)
        return run_memory(_seeds(seeds), parts, workers, steps, log=log)
    if seeds is not None:
        raise BenchError(tr("--seeds applies to the memory suite; the others take --seed"))
    if workers != 1:
        raise BenchError(tr("--workers applies to the memory suite; the others measure one process at a time"))
    if suite == "atari":
        return run_atari(steps or ATARI_DEFAULT_STEPS, seed, device, quiet, _parts(only, ATARI_PARTS), log=log)
    if only:
        raise BenchError(tr("--only applies to the atari and memory suites (atari parts: {parts})").format(
            parts=", ".join(ATARI_PARTS)))
    overrides = [f"total_steps={steps}", "total_episodes=0"] if steps else None
    return run_blackjack(seed, device, quiet, overrides, log=log)
