"""Chapter 72's "plot of the agent's plays": sampled Blackjack hands with the cards, the
Q-values of stick and hit at every decision, the action taken and the outcome."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import envs
from envs.blackjack import card_name, hand_value, observation_of, outcome_word
from lab.logger import Logger
from lab.plots import new_figure, save_figure
from lab.rundir import RunDir

ACTIONS = ("stick", "hit")


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


def _draw_cards(ax, x: float, y: float, cards: list[int], known: int) -> float:
    """Cards as small boxes from x; the first `known` white, later ones shaded. Returns the end x."""
    from matplotlib.patches import FancyBboxPatch

    for k, card in enumerate(cards):
        colour = "white" if k < known else "#e8e0c8"
        ax.add_patch(FancyBboxPatch((x, y), 0.8, 1.3, boxstyle="round,pad=0.03,rounding_size=0.12",
                                    facecolor=colour, edgecolor="#444444", linewidth=0.8))
        ax.text(x + 0.4, y + 0.65, card_name(card), ha="center", va="center", fontsize=9, weight="bold",
                color="#aa0000" if card == 1 else "black")
        x += 0.95
    return x


def blackjack_plays_figure(run: RunDir, learner, config, logger: Logger | None = None, hands: int = 12,
                           seed: int = 0, step: int = 0) -> Path:
    """Chapter 72's plot of the agent's plays, saved to plots/blackjack_plays.png.

    One panel per sampled hand: the dealer's shown card (later dealer cards shaded), the
    player's cards (hits shaded), at each decision the state, Q(stick) and Q(hit) with the
    chosen action in bold, and the outcome (+1 win, 0 draw, -1 loss) as the panel's colour.
    Works for any learner (a DQN through the preset's observation encoding, a Q-table, SB3).
    """
    from matplotlib.patches import Rectangle

    if hands < 1:
        raise ValueError(f"hands must be >= 1, got {hands}")
    played = play_hands(learner, config, hands, seed)
    columns = min(4, hands)
    rows = math.ceil(hands / columns)
    fig, axes = new_figure(rows, columns, figsize=(3.6 * columns, 3.0 * rows), squeeze=False)
    shades = {"win": "#dff3df", "draw": "#ececec", "loss": "#f6dede"}
    for index, ax in enumerate(axes.ravel()):
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 10)
        ax.axis("off")
        if index >= len(played):
            continue
        hand = played[index]
        word = outcome_word(hand["reward"])
        ax.add_patch(Rectangle((0, 0), 10, 10, facecolor=shades[word], edgecolor="none", zorder=-1))
        ax.set_title(f"hand {index + 1}: {word} {hand['reward']:+g}", fontsize=10, weight="bold",
                     color={"win": "#1a7a1a", "draw": "#555555", "loss": "#a01818"}[word])
        ax.text(0.1, 8.5, "dealer", fontsize=8, va="center")
        end = _draw_cards(ax, 1.6, 7.85, hand["dealer"], known=1)
        dealer_total = hand_value(hand["dealer"])
        ax.text(end + 0.1, 8.5, f"= {dealer_total}" + (" bust" if dealer_total > 21 else ""), fontsize=8, va="center")
        ax.text(0.1, 6.6, "player", fontsize=8, va="center")
        end = _draw_cards(ax, 1.6, 5.95, hand["player"], known=len(hand["first_cards"]))
        player_total = hand_value(hand["player"])
        ax.text(end + 0.1, 6.6, f"= {player_total}" + (" bust" if player_total > 21 else ""), fontsize=8, va="center")
        for k, decision in enumerate(hand["decisions"][:4]):
            total, shows, ace = decision["state"]
            q_stick, q_hit = decision["q"]
            y = 4.9 - 1.2 * k
            ax.text(0.1, y, f"{total}{' A' if ace else ''} vs {card_name(shows)}:", fontsize=7.5, va="center")
            for j, (label, value) in enumerate((("stick", q_stick), ("hit", q_hit))):
                chosen = decision["action"] == j
                ax.text(3.0 + 3.2 * j, y, f"Q({label}) {value:+.2f}", fontsize=7.5, va="center",
                        weight="bold" if chosen else "normal", color="black" if chosen else "#666666")
            if k == 3 and len(hand["decisions"]) > 4:
                ax.text(9.8, y, "...", fontsize=8, ha="right", va="center")
        ax.text(9.9, 0.3, "chose " + " -> ".join(ACTIONS[d["action"]] for d in hand["decisions"]),
                fontsize=7, ha="right", va="bottom", color="#333333")
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
