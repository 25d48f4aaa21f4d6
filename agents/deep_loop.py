"""The off-policy loop for deep agents (chapters 69-75): act, step, store, learn.

One loop runs every DQN preset, vector-observation (Blackjack, CartPole) and Atari frames
alike: N environments step together (Atari's in native threads), every transition goes to
the replay memory, one gradient step is taken per `train_every` agent steps, and `lab` logs
the DESIGN.md tags, evaluates every `evaluation.every` steps (keeping checkpoints/best by
score) and checkpoints atomically every `checkpoint_every` steps.

Resume (`train.py --resume RUN_DIR`): networks, optimizer, step and episode counters, the
exploration schedule's position and the agent's RNG come back from checkpoints/latest. The
replay memory comes back too when the run was started with --save-replay; otherwise it is
refilled: learning pauses until `learning_starts` new transitions are stored. Emulator state
is not saved: resumed training starts new episodes. A killed run loses at most the steps since
its last checkpoint.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Literal, Optional

import numpy as np
import torch

import envs
import nets
from lab.checkpoint import library_version, load_checkpoint, save_checkpoint
from lab.config import from_dict, to_dict
from lab.device import resolve_device
from lab.logger import Logger
from lab.progress import progress_bar
from lab.rundir import RunDir
from lab.seeding import seed_everything
from lab.stats import summarize

from agents import reports
from agents.dqn import DQNAgent
from agents.evaluation import HUMAN_BOXING, RANDOM_BOXING
from agents.replay import FrameReplayMemory, ReplayMemory
from agents.schedules import EpsilonSchedule


@dataclasses.dataclass
class EnvSection:
    name: str
    options: dict = dataclasses.field(default_factory=dict)
    num_envs: int = 1
    record_env: Optional[str] = None  # single env with colour frames for recordings (Atari)


@dataclasses.dataclass
class NetSection:
    kind: str = "mlp"
    options: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class AgentSection:
    gamma: float = 0.99
    n_step: int = 1
    double: bool = False
    dueling: bool = False
    loss: Literal["huber", "mse"] = "huber"
    optimizer: Literal["adam", "rmsprop"] = "adam"
    lr: float = 1e-4
    lr_end: Optional[float] = None  # linear decay to this by the end of the budget
    adam_eps: float = 1.5e-4
    max_grad_norm: Optional[float] = 10.0
    target_update: Literal["hard", "soft"] = "hard"
    target_period: int = 1000  # gradient steps between hard target refreshes
    tau: float = 0.005
    batch_size: int = 32
    learning_starts: int = 1000  # agent steps of random play before learning
    train_every: int = 4  # agent steps per gradient step (1/replay ratio)
    clip_rewards: bool = False  # Nature protocol: learn from sign(r), report raw returns
    channels_last: bool = False


@dataclasses.dataclass
class ReplaySection:
    capacity: int = 100_000
    prioritized: bool = False
    alpha: float = 0.6
    beta_start: float = 0.4


@dataclasses.dataclass
class ExplorationSection:
    schedule: Literal["linear", "exponential", "constant"] = "linear"
    start: float = 1.0
    end: float = 0.05
    fraction: float = 0.1  # share of the budget over which epsilon falls


@dataclasses.dataclass
class EvalSection:
    every: int = 0  # agent steps between evaluations; 0 = only at the end
    episodes: int = 10
    final_episodes: int = 0  # episodes of the final evaluation (0 = `episodes`)
    epsilon: float = 0.0


@dataclasses.dataclass
class DeepConfig:
    preset: str
    env: EnvSection
    algo: Literal["dqn"] = "dqn"
    description: str = ""
    seed: int = 0
    total_steps: int = 0  # budget in agent steps ...
    total_episodes: int = 0  # ... or in finished training episodes (the first reached ends it)
    net: NetSection = dataclasses.field(default_factory=NetSection)
    agent: AgentSection = dataclasses.field(default_factory=AgentSection)
    replay: ReplaySection = dataclasses.field(default_factory=ReplaySection)
    exploration: ExplorationSection = dataclasses.field(default_factory=ExplorationSection)
    evaluation: EvalSection = dataclasses.field(default_factory=EvalSection)
    log_every: int = 1000
    checkpoint_every: int = 10_000
    record_episodes: int = 1
    torch_threads: int = 0  # 0 = torch's default

    def __post_init__(self) -> None:
        if self.total_steps <= 0 and self.total_episodes <= 0:
            raise ValueError("set total_steps or total_episodes (> 0)")
        for name in ("log_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.env.num_envs < 1 or self.agent.batch_size < 1 or self.agent.train_every < 1:
            raise ValueError("env.num_envs, agent.batch_size and agent.train_every must be >= 1")


# -- construction ----------------------------------------------------------------------------
def build_agent(config: DeepConfig, observation_space, n_actions: int, device) -> DQNAgent:
    """nets.build(kind, ...) as the Q-network (an MLP for vectors, nature_cnn for frames)."""
    options = dict(config.net.options)
    if config.net.kind == "mlp":
        sizes = list(options.pop("hidden", [64, 64]))
        options.setdefault("sizes", [int(np.prod(observation_space.shape)), *sizes])
        options.setdefault("activation", "relu")
        options.setdefault("init", "default")
    elif config.net.kind == "nature_cnn":
        options.setdefault("in_channels", int(observation_space.shape[0]))
    head = "dueling" if config.agent.dueling else "q"
    network = nets.build(config.net.kind, head=head, n_outputs=n_actions, **options)
    a = config.agent
    return DQNAgent(
        network, n_actions, gamma=a.gamma, double=a.double, loss=a.loss, optimizer=a.optimizer,
        lr=a.lr, adam_eps=a.adam_eps, max_grad_norm=a.max_grad_norm, target_update=a.target_update,
        target_period=a.target_period, tau=a.tau, device=device, seed=config.seed,
        channels_last=a.channels_last,
    )


def build_memory(config: DeepConfig, observation_space, num_envs: int, autoreset_mode: str, seed: int):
    """Frames (uint8, stack x H x W) go to the frame-once memory; anything else whole."""
    shape = observation_space.shape
    common = dict(n_envs=num_envs, gamma=config.agent.gamma, n_step=config.agent.n_step,
                  prioritized=config.replay.prioritized, alpha=config.replay.alpha,
                  beta=config.replay.beta_start, seed=seed, autoreset_mode=autoreset_mode)
    if len(shape) == 3 and observation_space.dtype == np.uint8:
        return FrameReplayMemory(config.replay.capacity, frame_shape=shape[1:], stack=shape[0], **common)
    return ReplayMemory(config.replay.capacity, shape, obs_dtype=observation_space.dtype, **common)


def _vector_env(config: DeepConfig, num_envs: int, seed: int, evaluation: bool = False):
    options = dict(config.env.options)
    if evaluation and config.env.name == "boxing":
        options["clip_rewards"] = False  # evaluation scores raw points
    return envs.make_vector(config.env.name, num_envs=num_envs, seed=seed, **options)


# -- evaluation ------------------------------------------------------------------------------
def play_episodes(agent: DQNAgent, config: DeepConfig, episodes: int, epsilon: float, seed: int,
                  quiet: bool = True) -> list[float]:
    """Returns of exactly `episodes` episodes: each of k parallel envs plays its share from the
    start (counting only its first episodes, so short episodes are not favoured)."""
    k = max(1, min(episodes, config.env.num_envs, 8))
    shares = [episodes // k + (i < episodes % k) for i in range(k)]
    env = _vector_env(config, k, seed, evaluation=True)
    agent_rng, agent.rng = agent.rng, np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    returns: list[list[float]] = [[] for _ in range(k)]
    running = np.zeros(k)
    ended = np.zeros(k, dtype=bool)
    bar = progress_bar(episodes, "evaluate", quiet=quiet, unit="ep")
    try:
        while any(len(r) < s for r, s in zip(returns, shares)):
            actions = agent.act(obs, epsilon)
            obs, rewards, terminated, truncated, _ = env.step(actions)
            active = ~ended  # next-step autoreset: the step after an end is the reset step
            running[active] += rewards[active]
            ended = (terminated | truncated) & active
            for i in np.flatnonzero(ended):
                if len(returns[i]) < shares[i]:
                    returns[i].append(float(running[i]))
                    bar.update(1)
                running[i] = 0.0
    finally:
        agent.rng = agent_rng
        env.close()
        bar.close()
    return [r for lane in returns for r in lane]


def blackjack_greedy(agent: DQNAgent, config: DeepConfig):
    """state tuple -> greedy action of the network, through the preset's encoding."""
    from envs.blackjack import encode

    from envs import blackjack_solver as solver

    encoding = config.env.options.get("observation", "onehot")
    states = solver.all_table_states()
    q = agent.q_values(np.stack([encode(s, encoding) for s in states]))
    table = {s: row for s, row in zip(states, q)}
    return (lambda s: int(np.argmax(table[s]))), (lambda s: float(table[s].max()))


def evaluate(agent: DQNAgent, config: DeepConfig, episodes: int, epsilon: float, seed: int,
             quiet: bool = True) -> dict:
    """Mean, std, median and 95% CI of `episodes` returns; Blackjack adds the exact figures and
    Atari Boxing its human-normalised score (random 0.1, human 12.1)."""
    returns = play_episodes(agent, config, episodes, epsilon, seed, quiet)
    result = summarize(returns) | {"protocol": {"epsilon": epsilon, "seed": seed,
                                                "env": config.env.name, "options": config.env.options}}
    result["score"] = result["mean"]
    if config.env.name == "blackjack":
        greedy, _ = blackjack_greedy(agent, config)
        exact = reports.blackjack_exact(greedy)
        exact.pop("policy")
        result |= exact
        result["score"] = exact["exact_return"]
    if config.env.name == "boxing":
        result["human_normalized"] = (result["mean"] - RANDOM_BOXING) / (HUMAN_BOXING - RANDOM_BOXING)
        result["protocol"]["max_episode_frames"] = config.env.options.get("max_episode_frames", 108_000)
    return result


# -- checkpoints -----------------------------------------------------------------------------
def save(run: RunDir, name: str, agent: DQNAgent, config: DeepConfig, counters: dict) -> None:
    save_checkpoint(run.checkpoints / name, {
        "agent": agent.state_dict(), **counters, "preset": config.preset,
        "env": to_dict(config.env), "torch_rng": torch.get_rng_state(),
        "library_version": library_version(),
    })


def load_agent(run: RunDir, checkpoint: str = "best", device: str = "auto"):
    """(agent, config, checkpoint state) of a DQN run."""
    config = from_dict(DeepConfig, run.read_config())
    env = _vector_env(config, 1, config.seed, evaluation=True)
    agent = build_agent(config, env.single_observation_space, int(env.single_action_space.n), resolve_device(device))
    env.close()
    state = load_checkpoint(run.checkpoints / checkpoint)
    agent.load_state_dict(state["agent"], weights_only=True)
    return agent, config, state


# -- the loop --------------------------------------------------------------------------------
def train(raw_config: dict, seed: int, device: str, run_dir: str | None, quiet: bool,
          run: RunDir | None = None, save_replay: bool = False) -> str:
    config = from_dict(DeepConfig, raw_config)
    seed_everything(seed)
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    device = resolve_device(device)
    n = config.env.num_envs
    env = _vector_env(config, n, seed)
    agent = build_agent(config, env.single_observation_space, int(env.single_action_space.n), device)
    autoreset = getattr(env, "autoreset_mode", "next_step")
    autoreset = autoreset.name.lower() if hasattr(autoreset, "name") else str(autoreset)
    memory = build_memory(config, env.single_observation_space, n, autoreset, seed)
    budget_in_episodes = config.total_episodes > 0
    budget = config.total_episodes if budget_in_episodes else config.total_steps
    e = config.exploration
    schedule = EpsilonSchedule(e.schedule, e.start, e.end, max(1, int(e.fraction * budget)))
    counters = {"steps": 0, "episodes": 0, "updates": 0, "best_score": -float("inf"), "learn_from": 0,
                "update_credit": 0.0}

    if run is None:
        run = RunDir.create(config.preset, seed, path=run_dir)
        config.seed = seed
        run.write_config(to_dict(config))
        purge = None
    else:
        state = load_checkpoint(run.checkpoints / "latest")
        agent.load_state_dict(state["agent"])
        torch.set_rng_state(state["torch_rng"])
        counters = {k: state[k] for k in counters}
        replay_dir = run.checkpoints / "replay"
        replay = load_checkpoint(replay_dir) if replay_dir.exists() else {}  # read once: up to GBs
        if replay.get("steps") == counters["steps"]:
            memory.load_state_dict(replay["memory"], adopt=True)
        else:  # refill before learning again
            counters["learn_from"] = counters["steps"] + config.agent.learning_starts
        del replay
        # the checkpoint at step C was written after logging step C: keep that row, drop later ones
        purge = counters["steps"] + 1
    logger = Logger(run.path, purge_step=purge)
    obs, _ = env.reset(seed=seed + counters["episodes"])

    a = config.agent
    running_return, running_length = np.zeros(n), np.zeros(n, dtype=np.int64)
    ended = np.zeros(n, dtype=bool)
    recent_returns: list[float] = []
    recent_lengths: list[int] = []
    last_learn: dict = {}
    next_log = (counters["steps"] // config.log_every + 1) * config.log_every
    next_ckpt = (counters["steps"] // config.checkpoint_every + 1) * config.checkpoint_every
    next_eval = (counters["steps"] // config.evaluation.every + 1) * config.evaluation.every if config.evaluation.every else None
    bar = progress_bar(budget, config.preset, quiet=quiet, unit="ep" if budget_in_episodes else "step")
    bar.update(counters["episodes"] if budget_in_episodes else counters["steps"])
    started, steps_at_start, last_eval = time.perf_counter(), counters["steps"], {}

    def log_training(epsilon: float) -> None:
        """Scalars since the last log: returns of finished episodes, epsilon, speed, losses."""
        sps = (counters["steps"] - steps_at_start) / max(time.perf_counter() - started, 1e-9)
        values = {"charts/epsilon": epsilon, "charts/sps": sps, "charts/episodes": counters["episodes"]}
        if recent_returns:
            values |= {"charts/episodic_return": float(np.mean(recent_returns)),
                       "charts/episodic_length": float(np.mean(recent_lengths))}
            bar.set_postfix(ret=f"{np.mean(recent_returns):.3f}", eps=f"{epsilon:.3f}", sps=f"{sps:.0f}")
        if last_learn:
            values |= {"losses/td_loss": last_learn["td_loss"], "losses/q_values": last_learn["q_values"]}
        logger.scalars(counters["steps"], values)
        recent_returns.clear()
        recent_lengths.clear()

    def progress() -> int:
        return counters["episodes"] if budget_in_episodes else counters["steps"]

    def finished() -> bool:
        return (config.total_episodes > 0 and counters["episodes"] >= config.total_episodes) or \
               (config.total_steps > 0 and counters["steps"] >= config.total_steps)

    while not finished():
        epsilon = schedule(progress()) if counters["steps"] >= a.learning_starts else 1.0
        actions = agent.act(obs, epsilon)
        next_obs, rewards, terminated, truncated, _ = env.step(actions)
        memory.add(obs, actions, np.sign(rewards) if a.clip_rewards else rewards, next_obs, terminated, truncated)
        active = ~ended  # a lane that ended last step is resetting now: not an agent step
        new_steps = int(active.sum())
        counters["steps"] += new_steps
        running_return[active] += rewards[active]
        running_length[active] += 1
        ended = (terminated | truncated) & active
        for i in np.flatnonzero(ended):
            recent_returns.append(float(running_return[i]))
            recent_lengths.append(int(running_length[i]))
            running_return[i], running_length[i] = 0.0, 0
            counters["episodes"] += 1
        bar.update(int(ended.sum()) if budget_in_episodes else new_steps)
        obs = next_obs

        # learn: one gradient step per `train_every` agent steps once the memory is warm
        if counters["steps"] >= max(a.learning_starts, counters["learn_from"]) and len(memory) >= a.batch_size:
            counters["update_credit"] += new_steps / a.train_every
            while counters["update_credit"] >= 1.0:
                counters["update_credit"] -= 1.0
                if a.lr_end is not None:
                    frac = min(1.0, progress() / budget)
                    for group in agent.optimizer.param_groups:
                        group["lr"] = a.lr + frac * (a.lr_end - a.lr)
                if config.replay.prioritized:  # anneal beta to 1 over the budget
                    memory.beta = config.replay.beta_start + (1 - config.replay.beta_start) * min(1.0, progress() / budget)
                batch = memory.sample(a.batch_size)
                last_learn = agent.learn(batch)
                if config.replay.prioritized:
                    memory.update_priorities(batch.indices, last_learn["td_errors"])
                counters["updates"] += 1

        if counters["steps"] >= next_log:
            next_log += config.log_every
            log_training(epsilon)
        if next_eval is not None and counters["steps"] >= next_eval:
            next_eval += config.evaluation.every
            last_eval = _evaluate_and_keep_best(run, agent, config, counters, logger, seed)
        if counters["steps"] >= next_ckpt:
            next_ckpt += config.checkpoint_every
            _checkpoint(run, agent, config, counters, memory, save_replay)
    if recent_returns:
        log_training(epsilon)
    bar.close()
    env.close()
    elapsed = time.perf_counter() - started
    final_episodes = config.evaluation.final_episodes or config.evaluation.episodes
    last_eval = _evaluate_and_keep_best(run, agent, config, counters, logger, seed, final_episodes)
    _checkpoint(run, agent, config, counters, memory, save_replay)
    lines = _final_report(run, agent, config, last_eval, logger, counters)
    logger.hparams({"preset": config.preset, "lr": a.lr, "gamma": a.gamma, "double": a.double,
                    "dueling": a.dueling, "n_step": a.n_step, "seed": seed},
                   {"hparam/score": float(last_eval["score"])})
    logger.close()
    head = (f"{config.preset}: {counters['steps']} steps, {counters['episodes']} episodes, "
            f"{counters['updates']} updates in {elapsed:.1f} s "
            f"({(counters['steps'] - steps_at_start) / max(elapsed, 1e-9):.0f} steps/s, seed {seed})")
    return "\n".join([head, *lines, f"run directory: {run.path}", "watch: tensorboard --logdir runs"])


def _checkpoint(run, agent, config, counters, memory, save_replay: bool) -> None:
    if save_replay:  # the memory first: `latest` must never point at a newer replay than itself
        save_checkpoint(run.checkpoints / "replay", {"memory": memory.state_dict(), "steps": counters["steps"]})
    save(run, "latest", agent, config, counters)


def _evaluate_and_keep_best(run, agent, config, counters, logger, seed, episodes: int | None = None) -> dict:
    result = evaluate(agent, config, episodes or config.evaluation.episodes, config.evaluation.epsilon, seed=10_000 + seed)
    values = {"eval/mean_return": result["mean"], "eval/ci95": result["ci95"]}
    if "regret" in result:
        values |= {"eval/exact_return": result["exact_return"], "eval/regret": result["regret"]}
    logger.scalars(counters["steps"], values)
    if result["score"] > counters["best_score"]:
        counters["best_score"] = result["score"]
        save(run, "best", agent, config, counters | {"score": result["score"]})
    return result


def _final_report(run: RunDir, agent: DQNAgent, config: DeepConfig, evaluation: dict, logger: Logger, counters: dict) -> list[str]:
    lines = [f"evaluation over {evaluation['episodes']} episodes (epsilon {config.evaluation.epsilon}): "
             f"mean return {evaluation['mean']:.4f} +- {evaluation['ci95']:.4f} (95% CI)"]
    if config.env.name == "blackjack":
        greedy, value = blackjack_greedy(agent, config)
        exact = reports.blackjack_report(run, greedy, state_value=value, logger=logger, step=counters["steps"])
        evaluation |= exact
        lines.append(f"exact expected return {exact['exact_return']:+.5f} vs optimal {exact['optimal_return']:+.5f}: "
                     f"regret {exact['regret']:.5f}; policy.csv, plots/policy.png, plots/state_values.png written")
        try:
            from agents.recording import blackjack_plays_figure

            path = blackjack_plays_figure(run, agent, config, logger=logger, step=counters["steps"])
            lines.append(f"plot of the agent's plays (chapter 72): {path}")
        except ImportError:
            pass
    references = {}
    if "human_normalized" in evaluation:
        references = {"human": HUMAN_BOXING, "random": RANDOM_BOXING}
        lines.append(f"human-normalised score {evaluation['human_normalized']:.3f} "
                     f"(random {RANDOM_BOXING}, human {HUMAN_BOXING})")
    run.write_json("eval.json", evaluation)
    curve = reports.learning_curve(run, f"{config.preset} (seed {config.seed})", references,
                                   logger=logger, step=counters["steps"])
    if curve is not None:
        lines.append(f"learning curve: {curve}")
    if config.record_episodes > 0:
        try:
            from agents.recording import record_agent

            paths = record_agent(run, agent, config, episodes=config.record_episodes, logger=logger, step=counters["steps"])
            lines.append("recording: " + ", ".join(str(p) for p in paths))
        except ImportError:
            pass
    return lines
