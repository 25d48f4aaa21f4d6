"""How each task is drawn and said for people (docs/design.md: rooms; chapters 66-75).

The drawing half of a task (`agents.tasks` keeps the scoring half): its final report (policy
heat-maps, five-rooms matrices and routes, Q-tables), and how a moment of the game is drawn
and said (agents.watch.scenes): Blackjack's table as in chapter 72's plot of plays, the
five-rooms building with the route, the tic-tac-toe board. `view_for(env_name)` gives a run's
view; its `task` is the scoring task of the same environment.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.blackjack import card_name, table_state
from lab.i18n import decimal, tr

from agents.tasks import Task, exact_line, human_normalised_line, rates_line, task_for
from agents.watch import reports
from agents.watch.blackjack_plays import blackjack_plays_figure, hand_picture, hand_text, result_words, total_words
from agents.watch.scenes import rooms_picture, rooms_text, tictactoe_picture, tictactoe_text



def run_title(config) -> str:
    """'blackjack-q (seed 0)', the title of a run's figures, in the output language."""
    return tr("{preset} (seed {seed})").format(preset=config.preset, seed=config.seed)

class TaskView:
    """The default: Q-tables over numbered states as heat-maps, the env's own frames."""

    hold_seconds: float | None = None  # seconds each decision stays on a recording (None: by fps)
    value_label = "Q"
    episodes_per_video = 1  # episodes one recording holds
    video_stem = "episode"  # recordings are <preset>-<stem><k>.mp4
    draws = False  # True: `picture` draws every moment with the agent's values (no strip needed)

    def __init__(self, task: Task) -> None:
        self.task = task

    def report(self, run, learner, config, evaluation: dict, logger, step: int) -> list[str]:
        """Final report lines (and files) after the last evaluation; extends `evaluation`.
        A Q-table over numbered states is drawn as a heat-map (plots/q_table.png)."""
        path = reports.q_table_figure(run, learner, self.task.action_labels(),
                                      run_title(config), logger=logger, step=step)
        return [] if path is None else [tr("Q-table heat-map: {path}").format(path=path)]

    def outcome_lines(self, env, total: float, steps: int) -> list[str]:
        """What a recording writes on the last frame of an episode."""
        return [tr("episode over after {steps} steps: return {total}").format(steps=steps, total=decimal(f"{total:+g}"))]

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
            values = "  ".join(f"{name(a)} {decimal(f'{v:+.3f}')}" for a, v in enumerate(decision.values)
                               if np.isfinite(v)) if decision.values is not None else ""
            said = tr("step {step}: {action} (random)") if decision.explored else tr("step {step}: {action}")
            lines.append(said.format(step=len(moment.decisions), action=name(decision.action))
                         + (f" | {self.value_label}: {values}" if values else ""))
        return "\n".join(lines)


class BlackjackView(TaskView):
    """Chapters 71-75: policy heat-maps beside the optimal policy, state values, the plays."""

    hold_seconds = 1.0
    episodes_per_video = 8  # several hands with the running result
    video_stem = "hands"
    draws = True

    def report(self, run, learner, config, evaluation, logger, step) -> list[str]:
        greedy, value = self.task.greedy(learner, config)
        evaluation |= reports.blackjack_report(run, greedy, state_value=value, logger=logger, step=step)
        plays = blackjack_plays_figure(run, learner, config, logger=logger, step=step)
        return [exact_line(evaluation) + tr("; policy.csv, plots/policy.png, plots/state_values.png written"),
                tr("plot of the agent's plays (chapter 72): {path}").format(path=plays)]

    def outcome_lines(self, env, total, steps) -> list[str]:

        table = env.unwrapped
        lines = []
        for who, cards in ((tr("dealer"), list(table.dealer)), (tr("player"), list(table.player))):
            lines.append(f"{who} {' '.join(map(card_name, cards))} {total_words(cards)}")
        lines[-1] += f" -> {result_words(total).upper()}"
        return lines

    def snapshot(self, env) -> tuple[int, int, int]:

        return table_state(env)

    def picture(self, moment) -> np.ndarray:
        return hand_picture(moment)

    def describe(self, moment) -> str:
        return hand_text(moment)


class BoxingView(TaskView):
    """Chapter 69: the human-normalised score; the game's own colour frames."""

    def report(self, run, learner, config, evaluation, logger, step) -> list[str]:
        return [human_normalised_line(evaluation, self.task.references)]


class FiveRoomsView(TaskView):
    """Chapter 67: R and Q normalised to 100 as the book prints them; the greedy routes."""

    hold_seconds = 0.5
    draws = True

    def report(self, run, learner, config, evaluation, logger, step) -> list[str]:
        text = reports.five_rooms_report(run, evaluation, logger=logger, step=step)
        return [text, tr("every greedy route is a shortest path: {answer}").format(
                    answer=evaluation["all_routes_shortest"]),
                tr("plots/q_table.png (Q normalised to 100) and plots/routes.png (the building) written")]

    def snapshot(self, env) -> int:
        return int(env.unwrapped.state)

    def picture(self, moment) -> np.ndarray:
        return rooms_picture(moment)

    def describe(self, moment) -> str:
        return rooms_text(moment)


class TicTacToeView(TaskView):
    """Chapter 66: the rates against both opponents and the values of the opening moves."""

    hold_seconds = 0.5
    value_label = "V"
    draws = True

    def snapshot(self, env) -> tuple[int, ...]:
        return tuple(env.unwrapped.board)

    def picture(self, moment) -> np.ndarray:
        return tictactoe_picture(moment)

    def describe(self, moment) -> str:
        return tictactoe_text(moment)

    def report(self, run, learner, config, evaluation, logger, step) -> list[str]:
        values = reports.tictactoe_values_figure(run, learner, logger=logger, step=step)
        return [tr("vs training opponent: {rates}; vs uniformly random: {random_rates}").format(
                    rates=rates_line(evaluation), random_rates=rates_line(evaluation["vs_random"])),
                tr("the agent's values of positions: {path}").format(path=values)]


class FrozenLakeView(TaskView):
    """The success rate, the Q-table and the greedy action of every square on the map."""

    def report(self, run, learner, config, evaluation, logger, step) -> list[str]:
        lines = super().report(run, learner, config, evaluation, logger, step)
        route = reports.grid_policy_figure(run, learner, logger=logger, step=step)
        return [tr("success rate {rate:.3f}").format(rate=evaluation["success_rate"]), *lines] + \
            ([tr("greedy policy on the map: {path}").format(path=route)] if route else [])


class PopGymView(TaskView):
    """POPGym: our normalised return beside the paper's best baseline and its GRU."""

    def report(self, run, learner, config, evaluation, logger, step) -> list[str]:
        task, level = self.task.key(config.env.options)
        line = tr("POPGym {task} ({level}) normalised return {value:+.3f}").format(
            task=task, level=level, value=evaluation["popgym_normalised_return"])
        paper = evaluation.get("popgym_paper")
        if paper:
            line += tr("; paper (MMER, PPO 15M steps): best {best:+.3f} ({model}), GRU {gru:+.3f}").format(
                best=paper["best_mmer"], model=paper["best_model"], gru=paper["gru_mmer"])
        return [line]


VIEWS: dict[str, type[TaskView]] = {
    "blackjack": BlackjackView,
    "boxing": BoxingView,
    "five-rooms": FiveRoomsView,
    "tictactoe": TicTacToeView,
    "FrozenLake-v1": FrozenLakeView,
    "FrozenLake8x8-v1": FrozenLakeView,
    "popgym": PopGymView,
}


def view_for(env_name: str) -> TaskView:
    """The view of an environment name, holding that environment's scoring task."""
    return VIEWS.get(env_name, TaskView)(task_for(env_name))
