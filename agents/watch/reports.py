"""What each RL task of the book shows at the end of a run (docs/design.md: rooms; chapters 66-75).

- Blackjack (chapters 71-75): ``policy.csv`` (player_sum, dealer_card, usable_ace, action),
  heatmaps of the learned policy beside the optimal one with and without a usable ace, the
  state values, and the exact expected return and regret from envs.blackjack_solver.
- Five rooms (chapter 67): the reward matrix R and the learned Q matrix normalised to 100,
  printed as the book prints them and drawn as a heat-map, and the greedy route from each
  room, drawn in the building (plots/routes.png).
- Tic-tac-toe (chapter 66): win/draw/loss rates against the training opponent and against a
  uniformly random one; the learned values of the opening moves (plots/position_values.png).
- Any Q-table over numbered states (FrozenLake, Taxi): a heat-map (plots/q_table.png); on a
  grid world the greedy action of every square drawn on the map (plots/policy_map.png).
- Every deep run (chapters 69-75): ``plots/learning_curve.png``, the training returns and the
  evaluations (with their 95% intervals) against agent steps, read back from ``metrics.csv``.

Reports take the agent's greedy choice as a function, so tabular and deep agents share them.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

import numpy as np

from envs import blackjack_solver as solver
from envs import five_rooms
from envs import tictactoe as ttt
from lab.i18n import N_, decimal, tr
from lab.plots import new_figure, save_figure
from lab.rundir import RunDir

from agents.tasks import BlackjackState, blackjack_exact



# -- Blackjack -------------------------------------------------------------------------------
def player_sums(usable_ace: int) -> range:
    """The player sums a hand can have, top row first: 4-21 without a usable ace, 12-21 with
    one (an ace counted as 11 makes at least 12)."""
    return range(21, 11, -1) if usable_ace else range(21, 3, -1)


def _policy_grid(policy: dict, usable_ace: int) -> np.ndarray:
    return np.array([[policy[(s, d, usable_ace)] for d in range(1, 11)] for s in player_sums(usable_ace)],
                    dtype=float)


def ace_title(ace: int) -> str:
    return tr("usable ace") if ace else tr("no usable ace")


def blackjack_report(
    run: RunDir,
    greedy_action: Callable[[BlackjackState], int],
    state_value: Callable[[BlackjackState], float] | None = None,
    logger=None,
    step: int = 0,
) -> dict:
    """Write policy.csv and the heatmaps; return the exact figures (without the policy)."""

    exact = blackjack_exact(greedy_action)
    policy = exact.pop("policy")
    solver.write_policy_csv(run.path / "policy.csv", policy)
    optimal = solver.optimal_policy()

    fig, axes = new_figure(2, 2, figsize=(10, 10), sharey="row", gridspec_kw={"height_ratios": [18, 10]})
    for col, (title, table) in enumerate(((tr("learned policy"), policy), (tr("optimal policy"), optimal))):
        for row, ace in enumerate((0, 1)):
            ax = axes[row, col]
            sums = player_sums(ace)  # only sums a hand can have: no usable-ace row below 12
            grid = _policy_grid(table, ace)
            ax.imshow(grid, cmap="RdYlGn_r", vmin=0, vmax=1, aspect="auto")
            if col == 0:  # mark where the learned policy differs from the optimal one
                other = _policy_grid(optimal, ace)
                for i, j in zip(*np.nonzero(grid != other)):
                    if solver.is_reachable((sums[i], j + 1, ace)):
                        ax.text(j, i, "x", ha="center", va="center", color="black", fontsize=9)
            ax.set_title(f"{title}, {ace_title(ace)}")
            ax.set_xticks(range(10), ["A"] + [str(d) for d in range(2, 11)])
            ax.set_yticks(range(len(sums)), [str(s) for s in sums])
            ax.set_xlabel(tr("dealer shows"))
            ax.set_ylabel(tr("player sum"))
    fig.suptitle(tr("red = hit, green = stick; x = differs from optimal. Exact return {exact} vs optimal "
                    "{optimal} (regret {regret})").format(
        exact=decimal(f"{exact['exact_return']:+.4f}"), optimal=decimal(f"{exact['optimal_return']:+.4f}"),
        regret=decimal(f"{exact['regret']:.4f}")))
    if logger is not None:
        logger.figure("plots/policy", fig, step)
    save_figure(fig, run.plots / "policy.png")

    learned_values = solver.state_values(policy)
    optimal_values = solver.optimal_state_values()
    fig, axes = new_figure(2, 3 if state_value else 2, figsize=(14 if state_value else 10, 10.5),
                           gridspec_kw={"hspace": 0.38})
    columns = [(tr("exact value of learned policy"), learned_values), (tr("optimal value"), optimal_values)]
    if state_value is not None:
        columns.insert(0, (tr("agent's estimate max Q"),
                           {s: float(state_value(s)) for s in solver.reachable_states()}))
    for col, (title, values) in enumerate(columns):
        for row, ace in enumerate((0, 1)):
            ax = axes[row, col]
            sums = player_sums(ace)
            grid = np.array([[values.get((s, d, ace), np.nan) for d in range(1, 11)] for s in sums])
            image = ax.imshow(grid, cmap="viridis", vmin=-1, vmax=1, aspect="auto")
            ax.set_title(f"{title}\n{ace_title(ace)}", fontsize=9)
            ax.set_xticks(range(10), ["A"] + [str(d) for d in range(2, 11)])
            ax.set_yticks(range(len(sums)), [str(s) for s in sums])
            ax.set_xlabel(tr("dealer shows"))
            ax.set_ylabel(tr("player sum"))
    fig.suptitle(tr("State values: the expected return from each state"))
    fig.colorbar(image, ax=axes, shrink=0.6, label=tr("expected return"))
    if logger is not None:
        logger.figure("plots/state_values", fig, step)
    save_figure(fig, run.plots / "state_values.png")
    return exact


# -- Five rooms ------------------------------------------------------------------------------
def format_matrix(matrix: np.ndarray, title: str) -> str:
    """A matrix printed as the book prints R and Q: one row per state, columns 0-5."""
    header = "      " + "".join(f"{j:>7d}" for j in range(matrix.shape[1]))
    lines = [title, header]
    for i, row in enumerate(matrix):
        lines.append(f"{i:>5d} " + "".join(f"{v:>7.0f}" for v in row))
    return "\n".join(lines)


def five_rooms_report(run: RunDir, figures: dict, logger=None, step: int = 0) -> str:
    """Print R and Q normalised to 100 (as the book does) and the greedy route from each room,
    from the task's figures (agents.tasks.five_rooms_figures); draw Q as a heat-map
    (plots/q_table.png) and the routes in the building (plots/routes.png). The printed text."""
    reward = five_rooms.reward_matrix()
    normalised = np.array(figures["q_normalised"], dtype=float)
    routes = {int(room): route for room, route in figures["routes"].items()}
    text = "\n\n".join([
        format_matrix(reward, tr("R (reward matrix; -1 = no door)")),
        format_matrix(normalised, tr("Q normalised to 100 (5 is terminal here, so its row stays 0)")),
        tr("greedy routes: {routes}").format(
            routes="; ".join(f"{r}: {' -> '.join(map(str, path))}" for r, path in routes.items())),
    ])
    (run.path / "five_rooms.txt").write_text(text + "\n")
    np.savetxt(run.path / "q_normalised.csv", normalised, delimiter=",", fmt="%.2f")
    doors = np.where(reward >= 0, normalised, np.nan)
    doors[five_rooms.OUTSIDE] = np.nan  # the goal's row is never learned from (the episode ends)
    _heat_map(run, doors, tr("Q normalised to 100 (chapter 67); grey: no door, or the goal's row"),
              tr("to room (action)"), tr("from room (state)"), [str(k) for k in range(6)], logger, step,
              tr("Q (max = 100)"))
    from agents.watch.scenes import routes_image

    _save_picture(run, "routes", routes_image(routes), logger, step)
    return text


# -- Q-tables and grid worlds ------------------------------------------------------------------
def _save_picture(run: RunDir, name: str, picture: np.ndarray, logger=None, step: int = 0) -> Path:
    import imageio.v3 as iio

    path = run.plots / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, picture)
    if logger is not None:
        logger.image(f"plots/{name}", picture, step)
    return path


def _heat_map(run: RunDir, table: np.ndarray, title: str, xlabel: str, ylabel: str, action_labels: list[str],
              logger, step: int, colour_label: str, name: str = "q_table") -> Path:
    """`table` (states x actions; NaN = not allowed, drawn grey) as a heat-map with each row's
    largest value ringed; numbers written in the cells when there are few."""
    import matplotlib
    from matplotlib.patches import Rectangle

    rows, columns = table.shape
    fig, ax = new_figure(figsize=(min(12.0, 2.0 + 0.9 * columns), min(14.0, 1.5 + 0.32 * rows) if rows > 8 else 4.5))
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#bbbbbb")  # grey: actions not allowed
    image = ax.imshow(np.ma.masked_invalid(table), cmap=cmap, aspect="auto", interpolation="nearest")
    fig.colorbar(image, ax=ax, label=colour_label)
    long_names = max(map(len, action_labels)) > 4
    ax.set_xticks(range(columns), action_labels, rotation=30 if long_names else 0, ha="right" if long_names else "center")
    if rows <= 40:
        ax.set_yticks(range(rows))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    finite = np.isfinite(table)
    if rows * columns <= 200:
        middle = np.nanmean(table[finite]) if finite.any() else 0.0
        for i, j in zip(*np.nonzero(finite)):
            ax.text(j, i, f"{table[i, j]:.3g}", ha="center", va="center", fontsize=7,
                    color="white" if table[i, j] < middle else "black")
    if rows <= 100:
        for i in range(rows):
            if finite[i].any():
                j = int(np.nanargmax(table[i]))
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#ff7f0e", lw=2))
    if logger is not None:
        logger.figure(f"plots/{name}", fig, step)
    return save_figure(fig, run.plots / f"{name}.png")


def tabular_q(learner) -> np.ndarray | None:
    """The Q-table of a learner playing one env over numbered states (Discrete(n), n <= 1000)
    as an array (states x actions); None for other learners (a deep learner's vector env has a
    batched space) or state spaces."""
    from gymnasium import spaces

    env = getattr(learner, "env", None)
    if env is None:
        return None
    space = env.observation_space
    if not isinstance(space, spaces.Discrete) or space.n > 1000:
        return None
    return learner.q_values(list(range(int(space.start), int(space.start + space.n))))


def q_table_figure(run: RunDir, learner, action_names: tuple[str, ...], title: str, logger=None,
                   step: int = 0) -> Path | None:
    """plots/q_table.png: Q(s, a) of every state and action (each state's greedy action ringed)."""
    q = tabular_q(learner)
    if q is None:
        return None
    names = list(action_names) if len(action_names) == q.shape[1] else [str(a) for a in range(q.shape[1])]
    heading = (tr("Q-table of {title}: orange = the greedy action") if q.shape[0] <= 100
               else tr("Q-table of {title}")).format(title=title)
    return _heat_map(run, q, heading, tr("action"), tr("state"), names, logger, step, "Q(s, a)")


def grid_policy_figure(run: RunDir, learner, logger=None, step: int = 0) -> Path | None:
    """plots/policy_map.png for a grid world with a map (FrozenLake's `desc`): each square's
    letter (S start, F frozen, H hole, G goal) and the greedy action as an arrow."""
    from matplotlib.patches import Rectangle

    q = tabular_q(learner)
    desc = getattr(getattr(getattr(learner, "env", None), "unwrapped", None), "desc", None)
    if q is None or desc is None:
        return None
    grid = np.asarray(desc).astype(str)
    rows, columns = grid.shape
    arrows = "\u2190\u2193\u2192\u2191"  # FrozenLake's actions: left, down, right, up
    colours = {"S": "#cfe3f7", "F": "#eef6fb", "H": "#3a3a5a", "G": "#b9e6b0"}
    fig, ax = new_figure(figsize=(1.1 * columns + 1, 1.1 * rows + 0.8))
    for r in range(rows):
        for c in range(columns):
            kind = grid[r, c]
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor=colours.get(kind, "white"), edgecolor="#555555"))
            ax.text(c + 0.12, r + 0.2, kind, fontsize=8, color="white" if kind == "H" else "#333333")
            if kind not in "HG":
                state = r * columns + c
                ax.text(c + 0.5, r + 0.55, arrows[int(np.argmax(q[state]))], fontsize=20, ha="center", va="center")
    ax.set_xlim(0, columns)
    ax.set_ylim(rows, 0)
    ax.set_xticks(np.arange(columns) + 0.5, range(columns))
    ax.set_yticks(np.arange(rows) + 0.5, range(rows))
    ax.set_xlabel(tr("column"))
    ax.set_ylabel(tr("row"))
    ax.set_aspect("equal")
    ax.set_title(tr("greedy action on each square (S start, H hole, G goal)"), fontsize=9)
    if logger is not None:
        logger.figure("plots/policy_map", fig, step)
    return save_figure(fig, run.plots / "policy_map.png")


# -- Tic-tac-toe -----------------------------------------------------------------------------
def tictactoe_values_figure(run: RunDir, learner, logger=None, step: int = 0) -> Path:
    """plots/position_values.png: the agent's V (chapter 66: its probability of winning) after
    each opening move on the 3 x 3 board, and how the values of all the positions it has met
    are spread."""

    agent = learner.agent
    opening = np.array([agent.value(board) for _, board in ttt.afterstates((ttt.EMPTY,) * 9)]).reshape(3, 3)
    fig, (board_ax, spread_ax) = new_figure(1, 2, figsize=(10, 4.2))
    image = board_ax.imshow(opening, cmap="viridis", vmin=0, vmax=1)
    for r in range(3):
        for c in range(3):
            board_ax.text(c, r, f"{opening[r, c]:.2f}", ha="center", va="center",
                          color="white" if opening[r, c] < 0.5 else "black")
    board_ax.set_xticks(range(3), [tr("left"), tr("middle"), tr("right")])
    board_ax.set_yticks(range(3), [tr("top"), tr("middle"), tr("bottom")])
    board_ax.set_xlabel(tr("column of X's first move"))
    board_ax.set_ylabel(tr("row of X's first move"))
    board_ax.set_title(tr("V after the agent's first move"), fontsize=10)
    fig.colorbar(image, ax=board_ax, label=tr("V (probability of winning)"))
    values = np.array(list(agent.values.values()) or [0.5])
    spread_ax.hist(values, bins=20, range=(0, 1), color="C0")
    spread_ax.set_xlabel(tr("V of a position after the agent's move"))
    spread_ax.set_ylabel(tr("positions in the table"))
    spread_ax.set_title(tr("{count} positions learned (0.5 = never updated)").format(
        count=len(agent.values)), fontsize=10)
    if logger is not None:
        logger.figure("plots/position_values", fig, step)
    return save_figure(fig, run.plots / "position_values.png")



def tictactoe_rates(play_greedy_game: Callable[[object], str], env, games: int, seed: int) -> dict:
    """Win/draw/loss rates of `games` greedy games; play_greedy_game(env) -> outcome."""
    counts = {"win": 0, "draw": 0, "loss": 0}
    env.reset(seed=seed)
    for _ in range(games):
        counts[play_greedy_game(env)] += 1
    return {f"{k}_rate": v / games for k, v in counts.items()} | {"games": games}


# -- every deep run ----------------------------------------------------------------------------
#: the names of a task's reference scores (agents.tasks: Task.references) as a legend says them
REFERENCE_LABELS = {"human": N_("human"), "random": N_("random")}


def learning_curve(run: RunDir, title: str, references: dict[str, float] | None = None,
                   logger=None, step: int = 0, final_episodes: int | None = None) -> Path | None:
    """Training returns and evaluation means (+- 95% CI) against steps, from metrics.csv;
    `references` (name -> score, e.g. the human score) are drawn as dashed lines. With
    `final_episodes` the last evaluation is the run's final one (often at the step of the last
    periodic one): drawn apart, so that two points at one step are told apart."""
    if not (run.path / "metrics.csv").exists():
        return None
    with open(run.path / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))

    def series(*tags: str) -> list[np.ndarray]:
        kept = [r for r in rows if all(r.get(t) not in (None, "") for t in tags)]
        return [np.array([float(r[t]) for r in kept]) for t in ("step", *tags)]

    train_steps, train_returns = series("charts/episodic_return")
    eval_steps, eval_means, eval_ci = series("eval/mean_return", "eval/ci95")
    if not len(train_steps) and not len(eval_steps):
        return None
    fig, ax = new_figure(figsize=(8, 4.5))
    ax.set_xlabel(tr("agent steps"))
    ax.set_ylabel(tr("episode return"))
    ax.set_title(title)
    if len(train_steps) < 2 and not len(eval_steps):
        # one logged point is no curve: say so rather than draw an empty frame with a legend
        ax.text(0.5, 0.5, tr("too short to draw: {rows} logged point(s), no evaluation; train longer or log "
                             "more often (log_every)").format(rows=len(train_steps)),
                ha="center", va="center", wrap=True, transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        if len(train_steps):
            ax.plot(train_steps, train_returns, "o-" if len(train_steps) < 2 else "-", color="0.6", lw=1,
                    label=tr("training episodes (mean per log interval)"))
        periodic = len(eval_steps) - (1 if final_episodes and len(eval_steps) else 0)
        if periodic:
            ax.errorbar(eval_steps[:periodic], eval_means[:periodic], yerr=eval_ci[:periodic], fmt="o-",
                        color="C0", capsize=3, label=tr("evaluation mean +- 95% CI"))
        if periodic < len(eval_steps):
            ax.errorbar(eval_steps[-1:], eval_means[-1:], yerr=eval_ci[-1:], fmt="D", color="C1", capsize=3,
                        markersize=7, label=tr("final evaluation ({episodes} episodes) +- 95% CI").format(
                            episodes=final_episodes))
        for (name, score), colour in zip((references or {}).items(), ("C3", "C2", "C4")):
            label = tr(REFERENCE_LABELS[name]) if name in REFERENCE_LABELS else name
            ax.axhline(score, ls="--", lw=1, color=colour, label=f"{label} ({decimal(f'{score:g}')})")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    if logger is not None:
        logger.figure("plots/learning_curve", fig, step)
    return save_figure(fig, run.plots / "learning_curve.png")
