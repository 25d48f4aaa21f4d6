"""The episodic loop for the tabular agents (chapters 66-68; Blackjack of chapters 71-75).

One loop runs every tabular preset: play an episode epsilon-greedily while learning, log
the tags of DESIGN.md, evaluate greedily every `eval_every` episodes (keeping
checkpoints/best by score), checkpoint atomically every `checkpoint_every` episodes, and at
the end write eval.json, the task's report (Blackjack policy and regret, five-rooms matrices,
tic-tac-toe rates) and a summary.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Literal

import numpy as np

import envs
from lab.checkpoint import library_version, load_checkpoint, save_checkpoint
from lab.config import from_dict, to_dict
from lab.logger import Logger
from lab.progress import progress_bar
from lab.rundir import RunDir
from lab.seeding import seed_everything
from lab.stats import summarize

from agents import reports
from agents.schedules import EpsilonSchedule
from agents.tabular import QLearningAgent, ValueFunctionAgent


@dataclasses.dataclass
class EnvSection:
    name: str
    options: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ExplorationSection:
    schedule: Literal["linear", "exponential", "constant"] = "linear"
    start: float = 1.0
    end: float = 0.05
    fraction: float = 0.5  # share of the episodes over which epsilon falls from start to end


@dataclasses.dataclass
class TabularConfig:
    preset: str
    algo: Literal["q-learning", "value-function"]
    env: EnvSection
    description: str = ""
    seed: int = 0
    episodes: int = 10_000
    gamma: float = 0.99
    alpha: float = 0.1
    alpha_schedule: Literal["constant", "visits"] = "constant"
    alpha_power: float = 1.0
    initial_q: float = 0.0
    symmetric: bool = True  # value-function: symmetric positions share one value
    exploration: ExplorationSection = dataclasses.field(default_factory=ExplorationSection)
    eval_episodes: int = 1000
    eval_every: int = 0  # episodes between evaluations; 0 = only at the end
    log_every: int = 1000
    checkpoint_every: int = 10_000

    def __post_init__(self) -> None:
        for name in ("episodes", "eval_episodes", "log_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.exploration.fraction <= 1:
            raise ValueError(f"exploration.fraction must be in (0, 1], got {self.exploration.fraction}")


def make_agent(config: TabularConfig, env) -> QLearningAgent | ValueFunctionAgent:
    if config.algo == "value-function":
        return ValueFunctionAgent(alpha=config.alpha, symmetric=config.symmetric, seed=config.seed)
    return QLearningAgent(
        n_actions=int(env.action_space.n), gamma=config.gamma, alpha=config.alpha,
        alpha_schedule=config.alpha_schedule, alpha_power=config.alpha_power,
        initial_q=config.initial_q, seed=config.seed,
    )


def make_schedule(config: TabularConfig) -> EpsilonSchedule:
    e = config.exploration
    return EpsilonSchedule(e.schedule, e.start, e.end, max(1, int(e.fraction * config.episodes)))


# -- evaluation ------------------------------------------------------------------------------
def greedy_chooser(agent, epsilon: float, rng: np.random.Generator) -> Callable:
    """choose(observation, info, env) -> action: the agent's greedy move, random w.p. epsilon."""

    def choose(observation, info, env) -> int:
        mask = info.get("action_mask")
        if epsilon > 0 and rng.random() < epsilon:
            allowed = np.flatnonzero(mask) if mask is not None else np.arange(env.action_space.n)
            return int(allowed[rng.integers(len(allowed))])
        if isinstance(agent, ValueFunctionAgent):
            return agent.greedy_cell(env)
        return agent.greedy(observation, mask)

    return choose


def play_episodes(env, choose: Callable, episodes: int, seed: int) -> tuple[list[float], list[dict]]:
    """Returns and final infos of `episodes` episodes with a fixed seed sequence."""
    returns, infos = [], []
    seeds = np.random.default_rng(seed).integers(2**31, size=episodes)
    for episode_seed in seeds:
        observation, info = env.reset(seed=int(episode_seed))
        total, done = 0.0, False
        while not done:
            observation, reward, terminated, truncated, info = env.step(choose(observation, info, env))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
        infos.append(info)
    return returns, infos


def evaluate(agent, config: TabularConfig, episodes: int, seed: int, epsilon: float = 0.0) -> dict:
    """Greedy (or epsilon) evaluation with the task's exact figures where they exist."""
    env = envs.make(config.env.name, **config.env.options)
    choose = greedy_chooser(agent, epsilon, np.random.default_rng(seed + 1))
    returns, infos = play_episodes(env, choose, episodes, seed)
    result = summarize(returns) | {"protocol": {"epsilon": epsilon, "seed": seed, "greedy": epsilon == 0}}
    if config.env.name == "blackjack":
        exact = reports.blackjack_exact(lambda s: agent.greedy(s))
        exact.pop("policy")
        result |= exact
        result["score"] = exact["exact_return"]
    elif config.env.name == "tictactoe":
        outcomes = [i.get("outcome") for i in infos]
        result |= {f"{k}_rate": outcomes.count(k) / len(outcomes) for k in ("win", "draw", "loss")}
        random_env = envs.make("tictactoe", **(config.env.options | {"opponent_skill": 0.0}))
        _, random_infos = play_episodes(random_env, choose, episodes, seed + 7)
        random_outcomes = [i.get("outcome") for i in random_infos]
        result["vs_random"] = {f"{k}_rate": random_outcomes.count(k) / len(random_outcomes) for k in ("win", "draw", "loss")}
        result["score"] = result["mean"]
    else:
        result["score"] = result["mean"]
    if config.env.name == "FrozenLake-v1":
        result["success_rate"] = float(np.mean(np.array(returns) > 0))
    return result


# -- checkpoints -----------------------------------------------------------------------------
def _save(run: RunDir, name: str, agent, episode: int, steps: int, config: TabularConfig, extra: dict) -> None:
    save_checkpoint(run.checkpoints / name, {
        "agent": agent.state_dict(), "episode": episode, "steps": steps,
        "preset": config.preset, "algo": config.algo, "env": to_dict(config.env),
        "library_version": library_version(), **extra,
    })


def load_agent(run: RunDir, checkpoint: str = "best"):
    """(agent, config, checkpoint state) of a tabular run."""
    config = from_dict(TabularConfig, run.read_config())
    env = envs.make(config.env.name, **config.env.options)
    state = load_checkpoint(run.checkpoints / checkpoint)
    agent = make_agent(config, env)
    agent.load_state_dict(state["agent"])
    return agent, config, state


# -- the loop --------------------------------------------------------------------------------
def train(raw_config: dict, seed: int, device: str, run_dir: str | None, quiet: bool,
          run: RunDir | None = None, save_replay: bool = False) -> str:
    """Train a tabular preset; returns the summary paragraph."""
    del device, save_replay  # tables live on the CPU and have no replay memory
    config = from_dict(TabularConfig, raw_config)
    seed_everything(seed)
    env = envs.make(config.env.name, **config.env.options)
    agent = make_agent(config, env)
    schedule = make_schedule(config)
    start_episode, steps, best_score, purge = 0, 0, -np.inf, None
    if run is None:
        run = RunDir.create(config.preset, seed, path=run_dir)
        run.write_config(to_dict(config))
    else:  # resume from checkpoints/latest
        state = load_checkpoint(run.checkpoints / "latest")
        agent.load_state_dict(state["agent"])
        start_episode, steps, best_score = state["episode"], state["steps"], state.get("best_score", -np.inf)
        purge = steps
    logger = Logger(run.path, purge_step=purge)
    window: dict[str, list] = {"return": [], "length": [], "td": []}
    started, steps_at_start = time.perf_counter(), steps
    bar = progress_bar(config.episodes, f"{config.preset}", quiet=quiet, unit="ep")
    bar.update(start_episode)
    last_eval: dict = {}
    for episode in range(start_episode, config.episodes):
        epsilon = schedule(episode)
        result = agent.play_episode(env, epsilon, learn=True)
        steps += result["length"]
        window["return"].append(result["return"])
        window["length"].append(result["length"])
        window["td"].append(result["td_error"])
        done = episode + 1
        bar.update(1)
        if done % config.log_every == 0 or done == config.episodes:
            sps = (steps - steps_at_start) / max(time.perf_counter() - started, 1e-9)
            logger.scalars(steps, {
                "charts/episodic_return": float(np.mean(window["return"])),
                "charts/episodic_length": float(np.mean(window["length"])),
                "charts/epsilon": epsilon, "charts/sps": sps, "charts/episodes": done,
                "losses/td_loss": float(np.mean(window["td"])),
            })
            bar.set_postfix(ret=f"{np.mean(window['return']):.3f}", eps=f"{epsilon:.3f}", sps=f"{sps:.0f}")
            window = {"return": [], "length": [], "td": []}
        is_eval = (config.eval_every and done % config.eval_every == 0) or done == config.episodes
        if is_eval:
            last_eval = evaluate(agent, config, config.eval_episodes, seed=10_000 + seed)
            logger.scalars(steps, {"eval/mean_return": last_eval["mean"], "eval/ci95": last_eval["ci95"]}
                           | ({"eval/exact_return": last_eval["exact_return"], "eval/regret": last_eval["regret"]}
                              if "regret" in last_eval else {}))
            if last_eval["score"] > best_score:
                best_score = last_eval["score"]
                _save(run, "best", agent, done, steps, config, {"score": best_score})
        if done % config.checkpoint_every == 0 or done == config.episodes:
            _save(run, "latest", agent, done, steps, config, {"best_score": best_score})
    bar.close()
    elapsed = time.perf_counter() - started
    summary_lines = _final_report(run, agent, config, last_eval, logger, steps)
    logger.hparams({"preset": config.preset, "algo": config.algo, "episodes": config.episodes,
                    "gamma": config.gamma, "alpha": config.alpha, "seed": seed},
                   {"hparam/score": float(last_eval.get("score", 0.0))})
    logger.close()
    head = f"{config.preset}: {config.episodes} episodes, {steps} steps in {elapsed:.1f} s (seed {seed})"
    return "\n".join([head, *summary_lines, f"run directory: {run.path}",
                      "watch: tensorboard --logdir runs"])


def _final_report(run: RunDir, agent, config: TabularConfig, evaluation: dict, logger: Logger, steps: int) -> list[str]:
    lines = [f"greedy evaluation over {evaluation['episodes']} episodes: mean return "
             f"{evaluation['mean']:.4f} +- {evaluation['ci95']:.4f} (95% CI)"]
    name = config.env.name
    if name == "blackjack":
        exact = reports.blackjack_report(
            run, lambda s: agent.greedy(s), state_value=lambda s: float(agent.q_values(s).max()),
            logger=logger, step=steps,
        )
        evaluation |= exact
        lines.append(f"exact expected return {exact['exact_return']:+.5f} vs optimal "
                     f"{exact['optimal_return']:+.5f}: regret {exact['regret']:.5f}; "
                     f"policy.csv and plots/policy.png written")
    elif name == "five-rooms":
        report = reports.five_rooms_report(run, agent.q_values)
        evaluation["routes"] = {str(k): v for k, v in report["routes"].items()}
        evaluation["all_routes_shortest"] = report["all_routes_shortest"]
        evaluation["q_normalised"] = report["q_normalised"]
        lines.append(report["text"])
        lines.append(f"every greedy route is a shortest path: {report['all_routes_shortest']}")
    elif name == "tictactoe":
        vs = evaluation["vs_random"]
        lines.append(
            f"vs training opponent: win {evaluation['win_rate']:.1%} draw {evaluation['draw_rate']:.1%} "
            f"loss {evaluation['loss_rate']:.1%}; vs uniformly random: win {vs['win_rate']:.1%} "
            f"draw {vs['draw_rate']:.1%} loss {vs['loss_rate']:.1%}")
    if "success_rate" in evaluation:
        lines.append(f"success rate {evaluation['success_rate']:.3f}")
    run.write_json("eval.json", evaluation)
    return lines
