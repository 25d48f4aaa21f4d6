"""`scripts/bench.py memory` (docs/design.md: agents with memory; chapters 48-53, 76-90): the
agents with memory against their references (R2D2 on chapters 48-53's LSTM/GRU and chapters
76-90's attention; beyond the book).

Every figure here is counted, not timed, so other load on the machine does not move it:

(a) learning  for each seed, CartPole without velocities (position and angle only) trained by
              the presets cartpole-novel-lstm and cartpole-novel-gru (our R2D2-style DQN), the
              memory-less cartpole-novel-dqn (one observation at a time, on the same budget as
              the LSTM) and, as the reference, sb3-contrib's RecurrentPPO with RL-Zoo's tuned
              settings (`--backend sb3 --algo recurrent-ppo`, its own 100k budget). Each line:
              the greedy mean return over the final 20 episodes, and the first agent step at
              which a periodic greedy evaluation (every 2,500 steps, 20 episodes, the same for
              all) reached 475. The ratio is ours / RecurrentPPO of those steps. Beside the final
              network, what `scripts/evaluate.py RUN_DIR` reports by default: the best checkpoint
              the periodic evaluations kept, replayed on 20 episodes of a seed they never used.
(b) popgym    the three POPGym presets (RepeatPrevious, StatelessCartPole, HigherLower at the
              easy level) per seed: the normalised return of the final greedy evaluation (100
              episodes) and of the best periodic one (closer to the paper's MMER, a maximum
              over training) and its checkpoint replayed on 100 held-out episodes, beside the best
              and the GRU figures of Morad et al. 2023's Table 3.
              HigherLower also gets two hand-written players: the shown card only, and
              perfect card counting (the best possible), over 2,000 episodes.
(c) replay    bytes per stored step of the sequence replay against the flat replay of chapter
              70, computed from the arrays each allocates: a 2-float observation without and
              with a stored LSTM state, then every memory preset's own replay (its observation,
              memory and stored state floats) beside the flat replay of the same observation.

Trainings run in `workers` processes at once (one torch thread each): with 2 cores, 2.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import tempfile

import numpy as np

import envs

from agents import runner
from agents.evaluation import evaluate_checkpoint
from agents.learners.dqn import build_memory
from agents.learners.recurrent import build_memory_q_network, build_sequence_memory, stored_state_size
from agents.replay import ReplayMemory, SequenceReplay
from agents.runner import resolve_config

DEFAULT_PARTS = ("lstm", "gru", "dqn", "recurrent-ppo", "replay")
SOLVED = 475.0  # CartPole-v1's threshold
POPGYM_PRESETS = ("popgym-repeat-previous", "popgym-stateless-cartpole", "popgym-higher-lower")
#: part -> (preset, backend, algo); the memory-less DQN gets the LSTM's budget (below)
LEARNERS = {
    "lstm": ("cartpole-novel-lstm", "native", None),
    "gru": ("cartpole-novel-gru", "native", None),
    "transformer": ("cartpole-novel-transformer", "native", None),
    "dqn": ("cartpole-novel-dqn", "native", None),
    "recurrent-ppo": ("cartpole-novel-lstm", "sb3", "recurrent-ppo"),
}


def train_once(preset: str, seed: int, overrides: list[str], backend: str, algo: str | None) -> dict:
    """One training to the end of its budget in a throw-away run directory: its periodic
    evaluations (step, greedy mean) and its final evaluation."""

    curve: list[tuple[int, float]] = []

    def remember(values: dict) -> None:
        if not values["final"]:
            curve.append((int(values["steps"]), float(values["eval/mean_return"])))

    with tempfile.TemporaryDirectory() as folder:
        result = runner.train(preset, overrides=overrides + ["record_episodes=0"], seed=seed, device="cpu",
                              run_dir=f"{folder}/run", quiet=True, backend=backend, algo=algo,
                              on_evaluation=remember)
        best, trained = evaluate_best(result.run_dir, int(result.evaluation["episodes"]))
    return {"preset": preset, "seed": seed, "backend": backend, "algo": algo, "memory": trained.net.kind,
            "steps": result.steps,
            "final": float(result.evaluation["mean"]), "final_episodes": int(result.evaluation["episodes"]),
            "best_checkpoint": float(best["mean"]), "best_steps": int(best["checkpoint"].get("steps", -1)),
            "curve": curve, "evaluation": {k: v for k, v in result.evaluation.items() if k != "returns"}}


def evaluate_best(run_dir, episodes: int):
    """What `scripts/evaluate.py RUN_DIR` reports: the run's best checkpoint (kept by the periodic
    evaluations) played greedily on episodes of its own seed, none of which the training's
    evaluations used, so picking the best cannot flatter this figure. Also the run's config."""

    result, _, loaded = evaluate_checkpoint(run_dir, "best", episodes, device="cpu", quiet=True)
    return result, loaded.config


def first_step_at(curve: list[tuple[int, float]], threshold: float) -> int | None:
    """The first evaluated step whose greedy mean reached `threshold` (None: never)."""
    return next((step for step, value in curve if value >= threshold), None)


def _run_jobs(jobs: list[tuple], workers: int, log) -> list[dict]:
    if workers == 1:
        results = []
        for job in jobs:
            log(f"training {job[0]} seed {job[1]} ({job[3]}{'/' + job[4] if job[4] else ''}) ...")
            results.append(train_once(*job))
        return results
    log(f"{len(jobs)} trainings in {workers} processes ...")
    context = multiprocessing.get_context("spawn")  # no torch state shared with a forked parent
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(train_once, *job) for job in jobs]
        results = []
        for future in futures:
            results.append(future.result())
            done = results[-1]
            log(f"  done: {done['preset']} seed {done['seed']} ({done['backend']}): final {done['final']:.1f}")
        return results


def learning_table(results: list[dict], parts: list[str], seeds: list[int]) -> list[str]:
    """One line per (learner, seed): final greedy return, first step >= 475, and the ratio of
    that step to RecurrentPPO's on the same seed."""
    by_key = {(r["part"], r["seed"]): r for r in results}
    header = (f"{'learner':16s} {'seed':>4s} {'budget':>8s} {'final (20 ep)':>13s} {'best ckpt (20 ep)':>17s} "
              f"{'first >= 475':>12s} {'vs RecurrentPPO':>15s}")
    title = ("(a) CartPole without velocities: greedy return of the final network and of the best checkpoint "
             "(scripts/evaluate.py's default: checkpoints/best on episodes of a held-out seed), and the "
             "first evaluated step >= 475")
    lines = [title, header, "-" * len(header)]
    for part in [p for p in LEARNERS if p in parts]:
        for seed in seeds:
            r = by_key[(part, seed)]
            first = first_step_at(r["curve"], SOLVED)
            reference = by_key.get(("recurrent-ppo", seed))
            ref_first = first_step_at(reference["curve"], SOLVED) if reference else None
            if part == "recurrent-ppo" or reference is None:
                ratio = ""
            elif first is None or ref_first is None:
                ratio = "n/a"
            else:
                ratio = f"{first / ref_first:.2f}"
            lines.append(f"{part:16s} {seed:4d} {r['steps']:8,d} {r['final']:13.1f} {r['best_checkpoint']:17.1f} "
                         f"{first if first is not None else 'never':>12} {ratio:>15s}")
    for part in [p for p in LEARNERS if p in parts]:
        finals = [by_key[(part, s)]["final"] for s in seeds]
        bests = [by_key[(part, s)]["best_checkpoint"] for s in seeds]
        lines.append(f"{part}: final >= {SOLVED:g} on {sum(v >= SOLVED for v in finals)} of {len(seeds)} seeds, "
                     f"best checkpoint on {sum(v >= SOLVED for v in bests)}; means {np.mean(finals):.1f} "
                     f"and {np.mean(bests):.1f}")
    return lines


def popgym_table(results: list[dict], seeds: list[int]) -> list[str]:
    by_key = {(r["preset"], r["seed"]): r for r in results}
    header = (f"{'task':30s} {'ours':>11s} {'seed':>4s} {'final':>7s} {'best eval':>9s} {'best ckpt':>9s} "
              f"{'paper best':>10s} {'model':>10s} {'paper GRU':>9s}")
    title = ("(b) POPGym (easy), normalised return: final = the last greedy evaluation (100 episodes), best "
             "eval = the highest periodic one (20 episodes), nearer the paper's MMER (the highest mean "
             "over training), best ckpt = that checkpoint replayed on 100 held-out episodes (evaluate.py's seed); "
             "paper: Morad et al. 2023 Table 3 (PPO, 15M steps)")
    lines = [title, header, "-" * len(header)]
    for preset in POPGYM_PRESETS:
        for seed in seeds:
            r = by_key[(preset, seed)]
            paper = r["evaluation"].get("popgym_paper", {})
            best = max([value for _, value in r["curve"]] + [r["final"]])
            lines.append(f"{preset:30s} {r.get('memory', '?'):>11s} {seed:4d} {r['final']:7.3f} {best:9.3f} "
                         f"{r['best_checkpoint']:9.3f} "
                         f"{paper.get('best_mmer', float('nan')):10.3f} {paper.get('best_model', '?'):>10s} "
                         f"{paper.get('gru_mmer', float('nan')):9.3f}")
    return lines


def higher_lower_references(episodes: int = 2000, seed: int = 0) -> dict[str, tuple[float, float]]:
    """Mean normalised return (and its standard error) of two hand-written players of POPGym's
    HigherLower (easy: one deck; guess whether the next card is higher than the one shown, action
    0, or lower): `memoryless` looks at the shown card only (higher below the middle rank),
    `counting` remembers every card seen and bets on the side with more cards left, the best
    any memory can do, since a guess never changes the cards to come. They bracket what a
    memory adds on this task."""

    ranks = 13

    def memoryless(card: int, seen: np.ndarray) -> int:
        return 0 if card <= ranks // 2 else 1

    def counting(card: int, seen: np.ndarray) -> int:
        left = 4 - seen
        return 0 if left[card + 1:].sum() >= left[:card].sum() else 1

    env = envs.make("popgym", task="HigherLower", level="easy")
    figures = {}
    for name, player in (("memoryless", memoryless), ("counting", counting)):
        returns = []
        for episode in range(episodes):
            observation, _ = env.reset(seed=seed + episode)
            seen, total, done = np.zeros(ranks), 0.0, False
            while not done:
                card = int(np.argmax(observation[:ranks]))
                seen[card] += 1
                observation, reward, terminated, truncated, _ = env.step(player(card, seen))
                total, done = total + float(reward), terminated or truncated
            returns.append(total)
        figures[name] = (float(np.mean(returns)), float(np.std(returns) / np.sqrt(episodes)))
    env.close()
    return figures


def higher_lower_line(figures: dict[str, tuple[float, float]]) -> str:
    (low, low_error), (high, high_error) = figures["memoryless"], figures["counting"]
    return (f"popgym-higher-lower, hand-written players on the same task: the shown card only {low:.3f} +- "
            f"{low_error:.3f}, counting every card seen (the best possible) {high:.3f} +- {high_error:.3f}")


NAME_WIDTH = 56  # the replay table's first column
#: every r2d2 preset that trains on vector observations or Atari frames, for the replay table
REPLAY_PRESETS = ("cartpole-novel-lstm", "cartpole-novel-gru", "cartpole-novel-transformer",
                  "popgym-repeat-previous", "popgym-stateless-cartpole", "popgym-higher-lower", "boxing-r2d2")


def replay_table(presets: tuple[str, ...] = REPLAY_PRESETS) -> list[str]:
    """Bytes per stored step of the sequence replay against the flat replay (arrays allocated,
    not touched: numpy's zeros take no RAM until written): first the mechanism on a 2-float
    observation, then each preset's own replay beside the flat one its observation would get."""

    capacity = 100_000
    flat = ReplayMemory(capacity, (2,)).bytes_per_transition
    rows = [("vector (2,), zero start state, L 20", SequenceReplay(capacity, (2,), 20, 10).bytes_per_transition, flat)]
    for length, burn in ((20, 10), (80, 40)):
        lstm = SequenceReplay(capacity, (2,), length, burn, state_size=2 * 128)  # (h, c) of 128 units
        rows.append((f"vector (2,), LSTM 128 state, L {length}", lstm.bytes_per_transition, flat))
    rows += [preset_replay_row(preset) for preset in presets]
    header = f"{'stored step':{NAME_WIDTH}s} {'sequence':>10s} {'flat':>10s} {'ratio':>6s}"
    lines = ["(c) replay: bytes per stored step, sequence replay / flat replay (target <= 1.2)", header,
             "-" * len(header)]
    lines += [f"{name:{NAME_WIDTH}s} {ours:10,.1f} {reference:10,.1f} {ours / reference:6.2f}" for name, ours, reference in rows]
    lines.append("the stored state costs 4 * state_size / (L/2) bytes per step: it is the whole gap for "
                 "2-float observations, under 2% for Atari frames; the transformer stores none (its burn-in is its window)")
    return lines


def preset_replay_row(preset: str) -> tuple[str, float, float]:
    """(name, sequence bytes, flat bytes) per stored step of the replay `preset` trains with, and
    of the flat replay (agents.learners.dqn.build_memory) for the same observations."""

    config = resolve_config(preset, [])
    env = envs.make_vector(config.env.name, num_envs=1, seed=0, **config.env.options)
    space, n_actions = env.single_observation_space, int(env.single_action_space.n)
    env.close()
    network = build_memory_q_network(config, space, n_actions)
    stored = stored_state_size(config, network)
    lanes = config.env.num_envs
    sequence = build_sequence_memory(config, space, lanes, stored, "next_step").bytes_per_transition
    flat = build_memory(config, space, lanes, "next_step").bytes_per_transition
    return f"{preset}: {space.shape} {config.net.kind}, state {stored}", sequence, flat


def run_memory(seeds: list[int], parts: list[str], workers: int, steps: int | None, log=print) -> str:
    """Measure `parts` over `seeds`; the report to print."""
    jobs, owners = [], []
    budget = [f"total_steps={steps}"] if steps else []
    for part in [p for p in LEARNERS if p in parts]:
        preset, backend, algo = LEARNERS[part]
        overrides = list(budget)
        if part == "dqn" and not steps:  # the memory-less baseline on the LSTM's budget

            overrides = [f"total_steps={resolve_config(LEARNERS['lstm'][0], []).total_steps}"]
        if backend == "sb3" and steps:
            overrides = [f"sb3.total_steps={steps}"]
        for seed in seeds:
            jobs.append((preset, seed, overrides, backend, algo))
            owners.append(part)
    if "popgym" in parts:
        for preset in POPGYM_PRESETS:
            for seed in seeds:
                jobs.append((preset, seed, list(budget), "native", None))
                owners.append("popgym")
    results = _run_jobs(jobs, workers, log)
    for part, result in zip(owners, results):
        result["part"] = part
    lines = [f"bench memory (seeds {', '.join(map(str, seeds))})"]
    if any(p in LEARNERS for p in parts):
        lines += learning_table([r for r in results if r["part"] in LEARNERS], parts, seeds) + [""]
    if "popgym" in parts:
        lines += popgym_table([r for r in results if r["part"] == "popgym"], seeds)
        lines += [higher_lower_line(higher_lower_references()), ""]
    if "replay" in parts:
        lines += replay_table()
    return "\n".join(lines).rstrip()
