"""Chapter 72's "plot of the agent's plays" (docs/design.md: rooms; chapter 72): sampled
Blackjack hands with the cards, the Q-values of stick and hit at every decision, the action
taken and the outcome.

The hand is drawn by one function, :func:`draw_hand`, for the plot (every hand finished) and
for the frames of recordings and of the live table (agents.watch.scenes: a hand in play shows the
dealer's hole card face down; it is turned over when the hand ends).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import envs
from envs.blackjack import card_name, hand_value, observation_of, outcome_word
from lab.logger import Logger
from lab.plots import figure_pixels, new_figure, offscreen_figure, save_figure
from lab.rundir import RunDir

ACTIONS = ("stick", "hit")
SHADES = {"win": "#dff3df", "draw": "#ececec", "loss": "#f6dede", None: "#e9eef5"}
TITLE_COLOURS = {"win": "#1a7a1a", "draw": "#555555", "loss": "#a01818", None: "#222222"}


def play_hands(learner, config, hands: int, seed: int) -> list[dict]:
    """Greedy hands with the real environment, keeping the cards and every decision."""
    options = config.env.options
    env = envs.make_blackjack(natural=bool(options.get("natural", False)), sab=bool(options.get("sab", False)))
    encoding = options.get("observation", "tuple")
    played = []
    state, _ = env.reset(seed=seed)
    for _ in range(hands):
        table = env.unwrapped
        hand = {"dealer_shows": int(table.dealer[0]), "first_cards": list(table.player), "decisions": []}
        while True:
            q = np.asarray(learner.q_values([observation_of(state, encoding)])[0], dtype=float)
            action = int(np.argmax(q))
            hand["decisions"].append({"state": tuple(int(v) for v in state), "q": q.tolist(), "action": action})
            state, reward, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                break
        hand |= {"player": list(table.player), "dealer": list(table.dealer), "reward": float(reward)}
        played.append(hand)
        state, _ = env.reset()
    env.close()
    return played


def _draw_cards(ax, x: float, y: float, cards: list[int], known: int, hidden: int = 0) -> float:
    """Cards as small boxes from x; the first `known` white, later ones shaded, then `hidden`
    cards face down. Returns the end x."""
    from matplotlib.patches import FancyBboxPatch

    for k, card in enumerate([*cards, *[None] * hidden]):
        face_down = card is None
        colour = "#3b5b9a" if face_down else "white" if k < known else "#e8e0c8"
        ax.add_patch(FancyBboxPatch((x, y), 0.8, 1.3, boxstyle="round,pad=0.03,rounding_size=0.12",
                                    facecolor=colour, edgecolor="#444444", linewidth=0.8,
                                    hatch="xx" if face_down else None))
        if not face_down:
            ax.text(x + 0.4, y + 0.65, card_name(card), ha="center", va="center", fontsize=9, weight="bold",
                    color="#aa0000" if card == 1 else "black")
        x += 0.95
    return x


def draw_hand(ax, hand: dict, title: str, rows: int = 4, footer: str | None = None) -> None:
    """One hand on `ax`: the dealer's cards (the hole card face down while `hand['reward']` is
    None), the player's cards (hits shaded), one row per decision with the state, Q(stick) and
    Q(hit) (the action taken in bold; * marks the agent's choice when a person decided), and
    the outcome as the panel's colour."""
    from matplotlib.patches import Rectangle

    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.axis("off")
    reward = hand.get("reward")
    word = None if reward is None else outcome_word(reward)
    ax.add_patch(Rectangle((0, 0), 10, 10, facecolor=SHADES[word], edgecolor="none", zorder=-1))
    # a text rather than set_title: the title's layout pass measures the (hidden) axes, which
    # made each video frame three times slower
    ax.text(5, 10.25, title, ha="center", va="bottom", fontsize=10, weight="bold", color=TITLE_COLOURS[word],
            clip_on=False)
    ax.text(0.1, 8.5, "dealer", fontsize=8, va="center")
    if reward is None:  # the hole card stays face down until the player's turn is over
        end = _draw_cards(ax, 1.6, 7.85, hand["dealer"][:1], known=1, hidden=1)
        ax.text(end + 0.1, 8.5, f"shows {card_name(hand['dealer'][0])}", fontsize=8, va="center")
    else:
        end = _draw_cards(ax, 1.6, 7.85, hand["dealer"], known=2)  # the hole card was dealt at the start
        dealer_total = hand_value(hand["dealer"])
        ax.text(end + 0.1, 8.5, f"= {dealer_total}" + (" bust" if dealer_total > 21 else ""), fontsize=8,
                va="center")
    ax.text(0.1, 6.6, "player", fontsize=8, va="center")
    end = _draw_cards(ax, 1.6, 5.95, hand["player"], known=len(hand["first_cards"]))
    player_total = hand_value(hand["player"])
    ax.text(end + 0.1, 6.6, f"= {player_total}" + (" bust" if player_total > 21 else ""), fontsize=8, va="center")
    decisions = hand["decisions"]
    shown = decisions[-rows:] if rows < len(decisions) and reward is None else decisions[:rows]
    for k, decision in enumerate(shown):
        total, shows, ace = decision["state"]
        y = 4.9 - (4.2 / max(rows, 4)) * k
        ax.text(0.1, y, f"{total}{' A' if ace else ''} vs {card_name(shows)}:", fontsize=7.5, va="center")
        advice = decision.get("advice")
        for j, (label, value) in enumerate(zip(ACTIONS, decision["q"])):
            chosen = decision["action"] == j
            mark = "*" if advice == j else ""
            ax.text(3.0 + 3.2 * j, y, f"Q({label}) {value:+.2f}{mark}", fontsize=7.5, va="center",
                    weight="bold" if chosen else "normal", color="black" if chosen else "#666666")
    if len(decisions) > len(shown):
        ax.text(9.8, 4.9 - (4.2 / max(rows, 4)) * (len(shown) - 1), "...", fontsize=8, ha="right", va="center")
    taken = [ACTIONS[d["action"]] for d in decisions if d["action"] is not None]
    if footer is None:
        footer = ("chose " + " -> ".join(taken)) if taken else ""
    ax.text(9.9, 0.3, footer, fontsize=7, ha="right", va="bottom", color="#333333")


def blackjack_plays_figure(run: RunDir, learner, config, logger: Logger | None = None, hands: int = 12,
                           seed: int = 0, step: int = 0) -> Path:
    """Chapter 72's plot of the agent's plays, saved to plots/blackjack_plays.png.

    One panel per sampled hand (:func:`draw_hand`): the dealer's shown card (later dealer cards
    shaded), the player's cards (hits shaded), at each decision the state, Q(stick) and Q(hit)
    with the chosen action in bold, and the outcome (+1 win, 0 draw, -1 loss) as the panel's
    colour. Works for any learner (a DQN through the preset's observation encoding, a Q-table, SB3).
    """
    if hands < 1:
        raise ValueError(f"hands must be >= 1, got {hands}")
    played = play_hands(learner, config, hands, seed)
    columns = min(4, hands)
    rows = math.ceil(hands / columns)
    fig, axes = new_figure(rows, columns, figsize=(3.6 * columns, 3.0 * rows), squeeze=False)
    for index, ax in enumerate(axes.ravel()):
        if index >= len(played):
            ax.axis("off")
            continue
        hand = played[index]
        draw_hand(ax, hand, f"hand {index + 1}: {outcome_word(hand['reward'])} {hand['reward']:+g}")
    mean = float(np.mean([h["reward"] for h in played]))
    fig.suptitle(f"The agent's plays (chapter 72): {hands} greedy hands, seed {seed}, mean outcome {mean:+.2f}. "
                 f"Shaded cards were drawn later; bold = the action taken (the larger Q).", fontsize=10)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.7 / fig.get_figheight(),
                        wspace=0.05, hspace=0.25)
    path = save_figure(fig, Path(run.plots) / "blackjack_plays.png")
    if logger is not None:  # the saved PNG itself, so the figure is drawn only once
        import imageio.v3 as iio

        logger.image("plots/blackjack_plays", iio.imread(path)[..., :3], step)
    return path


# -- a hand in play: recordings and the live table (agents.watch.scenes) ---------------------------------
def hand_of(moment) -> dict:
    """The hand on the moment's table in :func:`draw_hand`'s terms."""
    table = moment.env.unwrapped
    decisions = [{"state": d.snapshot, "q": [float(v) for v in d.values], "action": d.action,
                  "advice": d.advice if d.by == "you" else None} for d in moment.decisions]
    player = list(table.player)
    first = player[:2]
    return {"dealer": list(table.dealer), "player": player, "first_cards": first, "decisions": decisions,
            "reward": moment.total if moment.over else None}


def _status(moment, hand: dict) -> str:
    if moment.over:
        from agents.watch.scenes import tally

        whose = "your result" if moment.person else "running result"
        return f"{outcome_word(moment.total)} {moment.total:+g}; {whose} {tally([*moment.results, moment.total])}"
    decision = moment.current
    q = dict(zip(ACTIONS, decision.values))
    if decision.by == "you":
        advice = ACTIONS[decision.advice]
        said = "" if decision.action is None else f"you {ACTIONS[decision.action]}; "
        return f"{said}the agent advises {advice}: Q(stick) {q['stick']:+.3f}, Q(hit) {q['hit']:+.3f}"
    name = ACTIONS[decision.action]
    other = "hit" if name == "stick" else "stick"
    why = "a random move (epsilon)" if decision.explored else f"Q({name}) {q[name]:+.3f} > Q({other}) {q[other]:+.3f}"
    return f"the agent {'sticks' if name == 'stick' else 'hits'}: {why}"


def hand_picture(moment) -> np.ndarray:
    """A frame of the table at `moment` (640 x 480): the hand, drawn as in the plot of plays,
    with the running result above and what happens now below."""
    from agents.watch.scenes import episode_heading

    hand = hand_of(moment)
    fig = offscreen_figure(4.8, 3.6, dpi=400 / 3)  # 640 x 480 pixels, text large enough to read
    ax = fig.add_axes((0.02, 0.1, 0.96, 0.74))
    word = "in play" if hand["reward"] is None else f"{outcome_word(hand['reward'])} {hand['reward']:+g}"
    who = "your hand" if moment.person else "the agent's hand"
    draw_hand(ax, hand, f"{who}: {word}", rows=5, footer="")
    fig.text(0.02, 0.955, episode_heading(moment, "hand"), fontsize=8, weight="bold", va="center")
    fig.text(0.02, 0.05, _status(moment, hand), fontsize=7, va="center")
    if moment.prompt:
        fig.text(0.02, 0.905, moment.prompt, fontsize=7, va="center", color="#a05000")
    if moment.person:
        fig.text(0.98, 0.13, "* the agent's choice", fontsize=7, ha="right", va="center", color="#333333")
    return figure_pixels(fig)


def hand_text(moment) -> str:
    """The same moment in words, for the terminal."""
    hand = hand_of(moment)
    player = " ".join(map(card_name, hand["player"]))
    if hand["reward"] is None:
        dealer = f"dealer shows {card_name(hand['dealer'][0])} [hole card face down]"
    else:
        dealer = f"dealer {' '.join(map(card_name, hand['dealer']))} = {hand_value(hand['dealer'])}"
    who = "you" if moment.person else "agent"
    return f"{dealer} | {who} {player} = {hand_value(hand['player'])} | {_status(moment, hand)}"
