"""Scoring each environment the book's agents play (docs/design.md: rooms; chapters 66-75).

The engine, evaluation, recordings and reports never ask for an environment by name; they ask
the run's :class:`Task` (``task_for(config.env.name)``), which holds:

- the reference scores drawn beside learning curves (Boxing: random 0.1, human 12.1);
- the evaluation protocol's env options (Boxing scores raw points, not clipped ones);
- the recording env (Boxing is recorded in colour from a twin emulator) and action names;
- the observation encoding of a state (Blackjack's tuple, one-hot or scaled vector);
- the task's own figures (Blackjack's exact return and regret from the DP solver,
  tic-tac-toe's win/draw/loss rates, FrozenLake's success rate, Boxing's human-normalised
  score, POPGym's normalised return beside the paper's) and the lines that say them.

How a task is drawn and said for people (its final report, a moment of the game) is its view's:
agents.watch.views, above the core.

A task sees the trained agent through its learner: ``learner.q_values(observations)`` (one row
of action values per observation) and ``learner.play(...)`` (returns and final infos).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from envs import blackjack_solver as solver
from envs import five_rooms
from envs import tictactoe as ttt
from envs.atari import protocol_summary
from envs.blackjack import observation_of
from lab.i18n import N_, tr

BlackjackState = tuple[int, int, int]


class Task:
    """The default: an environment with nothing special (CartPole, Taxi, any Gymnasium id)."""

    references: dict[str, float] = {}  # score lines drawn on learning curves
    action_names: tuple[str, ...] = ()  # empty: numbered, or the env's own (Atari)
    record_env: str | None = None  # env name for recordings when not the training env

    def action_labels(self) -> tuple[str, ...]:
        """The action names as a person reads them, in the current language."""
        return tuple(tr(name) for name in self.action_names)

    def eval_options(self, options: dict) -> dict:
        """The env options of the evaluation protocol (the training options by default)."""
        return dict(options)

    def figures(self, learner, returns: list[float], infos: list[dict], config, seed: int) -> dict:
        """Figures beyond the mean return; `score` (what keeps checkpoints/best) included."""
        return {"score": float(np.mean(returns))}

    def result(self, env, total: float) -> float:
        """An episode's result in a running tally (> 0 counts as a win, < 0 as a loss)."""
        return total


class BlackjackTask(Task):
    """Chapters 71-75: the exact return and regret of the greedy policy (envs.blackjack_solver)."""

    action_names = (N_("stick"), N_("hit"))

    def greedy(self, learner, config) -> tuple[Callable, Callable]:
        """state tuple -> greedy action, and state tuple -> max Q, through the env's encoding."""

        encoding = config.env.options.get("observation", "tuple")
        states = solver.all_table_states()
        q = learner.q_values([observation_of(s, encoding) for s in states])
        table = dict(zip(states, q))
        return (lambda s: int(np.argmax(table[s]))), (lambda s: float(table[s].max()))

    def figures(self, learner, returns, infos, config, seed) -> dict:
        greedy, _ = self.greedy(learner, config)
        exact = blackjack_exact(greedy)
        exact.pop("policy")
        return exact | {"score": exact["exact_return"]}


class BoxingTask(Task):
    """Chapter 69: Atari Boxing, scored in raw points with the human-normalised score."""

    references = {"human": 12.1, "random": 0.1}  # Mnih et al. 2015, Extended Data Table 2
    record_env = "boxing-colour"

    def eval_options(self, options: dict) -> dict:
        return dict(options) | {"clip_rewards": False}  # evaluation scores raw points

    def figures(self, learner, returns, infos, config, seed) -> dict:

        mean = float(np.mean(returns))
        normalised = (mean - self.references["random"]) / (self.references["human"] - self.references["random"])
        return {"score": mean, "human_normalised": normalised,
                "atari": protocol_summary(config.env.options)}


class FiveRoomsTask(Task):
    """Chapter 67: the agent escapes the building; its Q normalised to 100 as the book prints
    it, the greedy route from each room, and whether every route is a shortest one."""

    action_names = tuple(f"to room {k}" for k in range(6))

    def figures(self, learner, returns, infos, config, seed) -> dict:
        return {"score": float(np.mean(returns))} | five_rooms_figures(lambda s: learner.q_values([s])[0])

    def action_labels(self) -> tuple[str, ...]:
        return tuple(tr("to room {k}").format(k=k) for k in range(6))


class TicTacToeTask(Task):
    """Chapter 66: win/draw/loss against the training opponent and a uniformly random one."""

    action_names = tuple(f"cell {k}" for k in range(9))

    def action_labels(self) -> tuple[str, ...]:
        return tuple(tr("cell {k}").format(k=k) for k in range(9))

    def result(self, env, total: float) -> float:
        """+1 win, 0 draw, -1 loss from the board (the book's rewards pay 0 for a loss too)."""

        return {ttt.X: 1.0, ttt.O: -1.0}.get(ttt.winner(env.unwrapped.board), 0.0)

    @staticmethod
    def rates(infos: list[dict]) -> dict:
        outcomes = [info.get("outcome") for info in infos]
        return {f"{k}_rate": outcomes.count(k) / len(outcomes) for k in ("win", "draw", "loss")}

    def figures(self, learner, returns, infos, config, seed) -> dict:
        _, random_infos = learner.play(len(returns), 0.0, seed=seed + 7,
                                       env_options=config.env.options | {"opponent_skill": 0.0})
        return self.rates(infos) | {"vs_random": self.rates(random_infos), "score": float(np.mean(returns))}


class FrozenLakeTask(Task):
    action_names = (N_("left"), N_("down"), N_("right"), N_("up"))

    def figures(self, learner, returns, infos, config, seed) -> dict:
        return {"score": float(np.mean(returns)), "success_rate": float(np.mean(np.array(returns) > 0))}


class TaxiTask(Task):
    action_names = (N_("south"), N_("north"), N_("east"), N_("west"), N_("pickup"), N_("dropoff"))


class CartPoleTask(Task):
    action_names = (N_("push left"), N_("push right"))


class PopGymTask(Task):
    """POPGym (Morad et al. 2023): returns are already normalised to [-1, 1] by the tasks; the
    report puts ours beside the paper's best baseline and its GRU."""

    #: (task, level) -> (best model, its MMER, GRU's MMER): Morad et al. 2023, Appendix B
    #: Table 3, max mean episodic reward over 15M steps of RLlib PPO, mean of 3 trials. MMER is
    #: the best training-time mean, not a final greedy evaluation. Transcribed from a
    #: third-party copy of the table; not re-read from the paper here.
    PAPER = {
        ("RepeatPrevious", "easy"): ("GRU and others", 1.000, 1.000),
        ("StatelessCartPole", "easy"): ("GRU and others", 1.000, 1.000),
        ("HigherLower", "easy"): ("GRU", 0.529, 0.529),
    }

    @staticmethod
    def key(options: dict) -> tuple[str, str]:
        task = options.get("task", "RepeatPrevious")
        task = "StatelessCartPole" if task == "PositionOnlyCartPole" else task
        return task, options.get("level", "easy")

    def figures(self, learner, returns, infos, config, seed) -> dict:
        mean = float(np.mean(returns))
        figures = {"score": mean, "popgym_normalised_return": mean}
        paper = self.PAPER.get(self.key(config.env.options))
        if paper is not None:
            figures["popgym_paper"] = {"best_model": paper[0], "best_mmer": paper[1], "gru_mmer": paper[2],
                                       "source": "Morad et al. 2023, Appendix B Table 3 (PPO, 15M steps)"}
        return figures


TASKS: dict[str, Task] = {
    "blackjack": BlackjackTask(),
    "boxing": BoxingTask(),
    "five-rooms": FiveRoomsTask(),
    "tictactoe": TicTacToeTask(),
    "FrozenLake-v1": FrozenLakeTask(),
    "FrozenLake8x8-v1": FrozenLakeTask(),
    "Taxi-v3": TaxiTask(),
    "Taxi-v4": TaxiTask(),
    "CartPole-v1": CartPoleTask(),
    "cartpole-novel": CartPoleTask(),
    "popgym": PopGymTask(),
}


def task_for(env_name: str) -> Task:
    """The task object of an environment name (the plain :class:`Task` for any other)."""
    return TASKS.get(env_name, Task())


HUMAN_NORMALISED_OLD = "human_normalized"


def blackjack_exact(greedy_action: Callable[[BlackjackState], int]) -> dict:
    """Exact expected return of the greedy policy, the optimum, and the regret between them."""

    policy = {state: int(greedy_action(state)) for state in solver.all_table_states()}
    exact = solver.expected_return(policy)
    optimal = solver.expected_return(None)
    optimal_policy = solver.optimal_policy()
    disagreements = sum(policy[s] != optimal_policy[s] for s in solver.reachable_states())
    return {"exact_return": exact, "optimal_return": optimal, "regret": optimal - exact,
            "policy_disagreements": int(disagreements), "policy": policy}


def five_rooms_figures(q_values: Callable[[int], np.ndarray]) -> dict:
    """Q normalised to 100 (0 where there is no door, as the book shows it), the greedy route
    from each room through doors only, and whether every route is a shortest way out."""
    reward = five_rooms.reward_matrix()
    q = np.array([q_values(s) for s in range(6)], dtype=float)
    q = np.where(reward >= 0, q, 0.0)
    normalised = 100.0 * q / q.max() if q.max() > 0 else q
    routes = {}
    for room in range(5):
        route, state = [room], room
        while state != five_rooms.OUTSIDE and len(route) <= 6:
            state = int(np.argmax(np.where(reward[state] >= 0, q[state], -np.inf)))
            route.append(state)
        routes[room] = route
    shortest = all(len(route) - 1 == _doors_to_outside(reward, room) and route[-1] == five_rooms.OUTSIDE
                   for room, route in routes.items())
    return {"routes": {str(room): route for room, route in routes.items()}, "all_routes_shortest": bool(shortest),
            "q_normalised": normalised.round(2).tolist()}


def _doors_to_outside(reward: np.ndarray, start: int) -> int:
    """The fewest doors from room `start` to the outside (breadth-first)."""
    frontier, seen, depth = {start}, {start}, 0
    while five_rooms.OUTSIDE not in frontier:
        frontier = {j for i in frontier for j in np.flatnonzero(reward[i] >= 0) if j not in seen}
        seen |= frontier
        depth += 1
    return depth


def summary_lines(evaluation: dict[str, Any], references: dict[str, float]) -> list[str]:
    """The task figures an evaluation holds, as lines (used by scripts/evaluate.py)."""
    lines = []
    if "regret" in evaluation:
        lines.append(exact_line(evaluation))
    if HUMAN_NORMALISED_OLD in evaluation:  # runs written before 0.3 spelt it with a z
        evaluation = evaluation | {"human_normalised": evaluation[HUMAN_NORMALISED_OLD]}
    if "human_normalised" in evaluation:
        lines.append(human_normalised_line(evaluation, references))
        atari = evaluation["atari"]
        lines.append(tr("protocol: {protocol} (sticky actions {sticky}), up to {noops} no-op starts, "
                        "{frames}-frame cap, raw scores").format(
            protocol=atari["atari_protocol"], sticky=atari["repeat_action_probability"],
            noops=atari["noop_max"], frames=atari["max_episode_frames"]))
    if "win_rate" in evaluation:
        lines.append(rates_line(evaluation))
    if "popgym_normalised_return" in evaluation:
        lines.append(tr("POPGym normalised return {value:+.3f}").format(value=evaluation["popgym_normalised_return"]))
    if "success_rate" in evaluation:
        lines.append(tr("success rate {rate:.3f}").format(rate=evaluation["success_rate"]))
    return lines


def exact_line(evaluation: dict[str, Any]) -> str:
    """Blackjack's exact expected return beside the optimal one, and the regret."""
    return tr("exact expected return {exact:+.5f} vs optimal {optimal:+.5f}: regret {regret:.5f}").format(
        exact=evaluation["exact_return"], optimal=evaluation["optimal_return"], regret=evaluation["regret"])


def human_normalised_line(evaluation: dict[str, Any], references: dict[str, float]) -> str:
    return tr("human-normalised score {score:.3f} (random {random}, human {human})").format(
        score=evaluation["human_normalised"], random=references["random"], human=references["human"])


def rates_line(rates: dict[str, float]) -> str:
    return tr("win {win:.1%} draw {draw:.1%} loss {loss:.1%}").format(
        win=rates["win_rate"], draw=rates["draw_rate"], loss=rates["loss_rate"])
