"""Task objects: what is special about each environment the book's agents play (chapters 66-75).

The engine, evaluation, recordings and reports never ask for an environment by name; they ask
the run's :class:`Task` (``task_for(config.env.name)``), which holds:

- the reference scores drawn beside learning curves (Boxing: random 0.1, human 12.1);
- the evaluation protocol's env options (Boxing scores raw points, not clipped ones);
- the recording env (Boxing is recorded in colour from a twin emulator) and action names;
- the observation encoding of a state (Blackjack's tuple, one-hot or scaled vector);
- the task's own figures (Blackjack's exact return and regret from the DP solver,
  tic-tac-toe's win/draw/loss rates, FrozenLake's success rate, Boxing's human-normalised
  score) and its final report (policy heat-maps, five-rooms matrices and routes, Q-tables);
- how a moment of the game is drawn and said for people (agents.scenes): Blackjack's table as
  in chapter 72's plot of plays, the five-rooms building with the route, the tic-tac-toe board.

A task sees the trained agent through its learner: ``learner.q_values(observations)`` (one row
of action values per observation) and ``learner.play(...)`` (returns and final infos).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from lab.i18n import tr

from agents import reports


class Task:
    """The default: an environment with nothing special (CartPole, Taxi, any Gymnasium id)."""

    references: dict[str, float] = {}  # score lines drawn on learning curves
    action_names: tuple[str, ...] = ()  # empty: numbered, or the env's own (Atari)
    record_env: str | None = None  # env name for recordings when not the training env
    hold_seconds: float | None = None  # seconds each decision stays on a recording (None: by fps)
    value_label = "Q"
    episodes_per_video = 1  # episodes one recording holds
    video_stem = "episode"  # recordings are <preset>-<stem><k>.mp4
    draws = False  # True: `picture` draws every moment with the agent's values (no strip needed)

    def eval_options(self, options: dict) -> dict:
        """The env options of the evaluation protocol (the training options by default)."""
        return dict(options)

    def figures(self, learner, returns: list[float], infos: list[dict], config, seed: int) -> dict:
        """Figures beyond the mean return; `score` (what keeps checkpoints/best) included."""
        return {"score": float(np.mean(returns))}

    def report(self, run, learner, config, evaluation: dict, logger, step: int) -> list[str]:
        """Final report lines (and files) after the last evaluation; extends `evaluation`.
        A Q-table over numbered states is drawn as a heat-map (plots/q_table.png)."""
        path = reports.q_table_figure(run, learner, self.action_names, f"{config.preset} (seed {config.seed})",
                                      logger=logger, step=step)
        return [] if path is None else [tr("Q-table heat-map: {path}").format(path=path)]

    def outcome_lines(self, env, total: float, steps: int) -> list[str]:
        """What a recording writes on the last frame of an episode."""
        return [f"episode over after {steps} steps: return {total:+g}"]

    # -- a moment of the game for people (agents.scenes) -------------------------------------------
    def result(self, env, total: float) -> float:
        """An episode's result in a running tally (> 0 counts as a win, < 0 as a loss)."""
        return total

    def snapshot(self, env) -> Any:
        """The state before a decision, in the terms `picture` needs (None: nothing kept)."""
        return None

    def picture(self, moment) -> np.ndarray | None:
        """The moment drawn (None: the environment's own picture)."""
        return None

    def describe(self, moment) -> str:
        """The moment in words, for the terminal: the env's text, the action and the values."""
        env = moment.env
        text = env.render() if getattr(env, "render_mode", None) == "ansi" else ""
        lines = [text.rstrip("\n")] if text else []
        decision = moment.current
        names = moment.action_names
        if decision is None:
            lines.append(self.outcome_lines(env, moment.total, len(moment.decisions))[0])
        elif decision.action is not None:
            name = lambda a: names[a] if a < len(names) else str(a)
            values = "  ".join(f"{name(a)} {v:+.3f}" for a, v in enumerate(decision.values) if np.isfinite(v)) \
                if decision.values is not None else ""
            lines.append(f"step {len(moment.decisions)}: {name(decision.action)}"
                         + (" (random)" if decision.explored else "") + (f" | {self.value_label}: {values}" if values else ""))
        return "\n".join(lines)


class BlackjackTask(Task):
    """Chapters 71-75: exact return and regret of the greedy policy, policy heat-maps, plays."""

    action_names = ("stick", "hit")
    hold_seconds = 1.0
    episodes_per_video = 8  # several hands with the running result
    video_stem = "hands"
    draws = True

    def greedy(self, learner, config) -> tuple[Callable, Callable]:
        """state tuple -> greedy action, and state tuple -> max Q, through the env's encoding."""
        from envs import blackjack_solver as solver
        from envs.blackjack import observation_of

        encoding = config.env.options.get("observation", "tuple")
        states = solver.all_table_states()
        q = learner.q_values([observation_of(s, encoding) for s in states])
        table = dict(zip(states, q))
        return (lambda s: int(np.argmax(table[s]))), (lambda s: float(table[s].max()))

    def figures(self, learner, returns, infos, config, seed) -> dict:
        greedy, _ = self.greedy(learner, config)
        exact = reports.blackjack_exact(greedy)
        exact.pop("policy")
        return exact | {"score": exact["exact_return"]}

    def report(self, run, learner, config, evaluation, logger, step) -> list[str]:
        from agents.blackjack_plays import blackjack_plays_figure

        greedy, value = self.greedy(learner, config)
        evaluation |= reports.blackjack_report(run, greedy, state_value=value, logger=logger, step=step)
        plays = blackjack_plays_figure(run, learner, config, logger=logger, step=step)
        return [exact_line(evaluation) + tr("; policy.csv, plots/policy.png, plots/state_values.png written"),
                tr("plot of the agent's plays (chapter 72): {path}").format(path=plays)]

    def outcome_lines(self, env, total, steps) -> list[str]:
        from envs.blackjack import card_name, hand_value, outcome_word

        table = env.unwrapped
        lines = []
        for who, cards in (("dealer", list(table.dealer)), ("player", list(table.player))):
            value = hand_value(cards)
            lines.append(f"{who} {' '.join(map(card_name, cards))} = {value}" + (" bust" if value > 21 else ""))
        lines[-1] += f" -> {outcome_word(total).upper()} {total:+g}"
        return lines

    def snapshot(self, env) -> tuple[int, int, int]:
        from envs.blackjack import table_state

        return table_state(env)

    def picture(self, moment) -> np.ndarray:
        from agents.blackjack_plays import hand_picture

        return hand_picture(moment)

    def describe(self, moment) -> str:
        from agents.blackjack_plays import hand_text

        return hand_text(moment)


class BoxingTask(Task):
    """Chapter 69: Atari Boxing, scored in raw points with the human-normalised score."""

    references = {"human": 12.1, "random": 0.1}  # Mnih et al. 2015, Extended Data Table 2
    record_env = "boxing-colour"

    def eval_options(self, options: dict) -> dict:
        return dict(options) | {"clip_rewards": False}  # evaluation scores raw points

    def figures(self, learner, returns, infos, config, seed) -> dict:
        from envs.atari import protocol_summary

        mean = float(np.mean(returns))
        normalised = (mean - self.references["random"]) / (self.references["human"] - self.references["random"])
        return {"score": mean, "human_normalized": normalised,
                "atari": protocol_summary(config.env.options)}

    def report(self, run, learner, config, evaluation, logger, step) -> list[str]:
        return [human_normalised_line(evaluation, self.references)]


class FiveRoomsTask(Task):
    """Chapter 67: R and Q normalised to 100 as the book prints them; the greedy routes."""

    action_names = tuple(f"to room {k}" for k in range(6))
    hold_seconds = 0.5
    draws = True

    def report(self, run, learner, config, evaluation, logger, step) -> list[str]:
        report = reports.five_rooms_report(run, lambda s: learner.q_values([s])[0], logger=logger, step=step)
        evaluation["routes"] = {str(k): v for k, v in report["routes"].items()}
        evaluation["all_routes_shortest"] = report["all_routes_shortest"]
        evaluation["q_normalised"] = report["q_normalised"]
        return [report["text"], tr("every greedy route is a shortest path: {answer}").format(
                    answer=report["all_routes_shortest"]),
                tr("plots/q_table.png (Q normalised to 100) and plots/routes.png (the building) written")]

    def snapshot(self, env) -> int:
        return int(env.unwrapped.state)

    def picture(self, moment) -> np.ndarray:
        from agents.scenes import rooms_picture

        return rooms_picture(moment)

    def describe(self, moment) -> str:
        from agents.scenes import rooms_text

        return rooms_text(moment)


class TicTacToeTask(Task):
    """Chapter 66: win/draw/loss against the training opponent and a uniformly random one."""

    action_names = tuple(f"cell {k}" for k in range(9))
    hold_seconds = 0.5
    value_label = "V"
    draws = True

    def result(self, env, total: float) -> float:
        """+1 win, 0 draw, -1 loss from the board (the book's rewards pay 0 for a loss too)."""
        from envs import tictactoe as ttt

        return {ttt.X: 1.0, ttt.O: -1.0}.get(ttt.winner(env.unwrapped.board), 0.0)

    def snapshot(self, env) -> tuple[int, ...]:
        return tuple(env.unwrapped.board)

    def picture(self, moment) -> np.ndarray:
        from agents.scenes import tictactoe_picture

        return tictactoe_picture(moment)

    def describe(self, moment) -> str:
        from agents.scenes import tictactoe_text

        return tictactoe_text(moment)

    @staticmethod
    def rates(infos: list[dict]) -> dict:
        outcomes = [info.get("outcome") for info in infos]
        return {f"{k}_rate": outcomes.count(k) / len(outcomes) for k in ("win", "draw", "loss")}

    def figures(self, learner, returns, infos, config, seed) -> dict:
        _, random_infos = learner.play(len(returns), 0.0, seed=seed + 7,
                                       env_options=config.env.options | {"opponent_skill": 0.0})
        return self.rates(infos) | {"vs_random": self.rates(random_infos), "score": float(np.mean(returns))}

    def report(self, run, learner, config, evaluation, logger, step) -> list[str]:
        vs = evaluation["vs_random"]
        values = reports.tictactoe_values_figure(run, learner, logger=logger, step=step)
        return [tr("vs training opponent: {rates}; vs uniformly random: {random_rates}").format(
                    rates=rates_line(evaluation), random_rates=rates_line(vs)),
                tr("the agent's values of positions: {path}").format(path=values)]


class FrozenLakeTask(Task):
    action_names = ("left", "down", "right", "up")

    def figures(self, learner, returns, infos, config, seed) -> dict:
        return {"score": float(np.mean(returns)), "success_rate": float(np.mean(np.array(returns) > 0))}

    def report(self, run, learner, config, evaluation, logger, step) -> list[str]:
        lines = super().report(run, learner, config, evaluation, logger, step)
        route = reports.grid_policy_figure(run, learner, logger=logger, step=step)
        return [tr("success rate {rate:.3f}").format(rate=evaluation["success_rate"]), *lines] + \
            ([tr("greedy policy on the map: {path}").format(path=route)] if route else [])


class TaxiTask(Task):
    action_names = ("south", "north", "east", "west", "pickup", "dropoff")


class CartPoleTask(Task):
    action_names = ("push left", "push right")


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

    def report(self, run, learner, config, evaluation, logger, step) -> list[str]:
        task, level = self.key(config.env.options)
        line = tr("POPGym {task} ({level}) normalised return {value:+.3f}").format(
            task=task, level=level, value=evaluation["popgym_normalised_return"])
        paper = evaluation.get("popgym_paper")
        if paper:
            line += tr("; paper (MMER, PPO 15M steps): best {best:+.3f} ({model}), GRU {gru:+.3f}").format(
                best=paper["best_mmer"], model=paper["best_model"], gru=paper["gru_mmer"])
        return [line]


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


def summary_lines(evaluation: dict[str, Any], references: dict[str, float]) -> list[str]:
    """The task figures an evaluation holds, as lines (used by scripts/evaluate.py)."""
    lines = []
    if "regret" in evaluation:
        lines.append(exact_line(evaluation))
    if "human_normalized" in evaluation:
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
        score=evaluation["human_normalized"], random=references["random"], human=references["human"])


def rates_line(rates: dict[str, float]) -> str:
    return tr("win {win:.1%} draw {draw:.1%} loss {loss:.1%}").format(
        win=rates["win_rate"], draw=rates["draw_rate"], loss=rates["loss_rate"])
