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
from lab.i18n import N_, decimal, tr
from lab.logger import Logger
from lab.plots import figure_pixels, new_figure, offscreen_figure, save_figure
from lab.rundir import RunDir

ACTIONS = ("stick", "hit")
#: how a person reads the actions and outcomes (ACTIONS and outcome_word stay the keys)
ACTION_WORDS = {"stick": N_("stick"), "hit": N_("hit")}
OUTCOME_WORDS = {"win": N_("win"), "draw": N_("draw"), "loss": N_("loss")}


def said(word: str) -> str:
    """An action or an outcome word in the reader's language."""
    return tr({**ACTION_WORDS, **OUTCOME_WORDS}.get(word, word))


def result_words(reward: float) -> str:
    """'loss -1', 'win +1.5': a finished hand's outcome and what it paid."""
    return f"{said(outcome_word(reward))} {decimal(f'{reward:+g}')}"
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
    ax.text(0.1, 8.5, tr("dealer"), fontsize=8, va="center")
    if reward is None:  # the hole card stays face down until the player's turn is over
        end = _draw_cards(ax, 1.6, 7.85, hand["dealer"][:1], known=1, hidden=1)
        ax.text(end + 0.1, 8.5, tr("shows {card}").format(card=card_name(hand["dealer"][0])), fontsize=8,
                va="center")
    else:
        end = _draw_cards(ax, 1.6, 7.85, hand["dealer"], known=2)  # the hole card was dealt at the start
        ax.text(end + 0.1, 8.5, total_words(hand["dealer"]), fontsize=8, va="center")
    ax.text(0.1, 6.6, tr("player"), fontsize=8, va="center")
    end = _draw_cards(ax, 1.6, 5.95, hand["player"], known=len(hand["first_cards"]))
    ax.text(end + 0.1, 6.6, total_words(hand["player"]), fontsize=8, va="center")
    decisions = hand["decisions"]
    shown = decisions[-rows:] if rows < len(decisions) and reward is None else decisions[:rows]
    for k, decision in enumerate(shown):
        total, shows, ace = decision["state"]
        y = 4.9 - (4.2 / max(rows, 4)) * k
        ax.text(0.1, y, tr("{total}{ace} vs {card}:").format(total=total, ace=" A" if ace else "",
                                                              card=card_name(shows)), fontsize=7.5, va="center")
        advice = decision.get("advice")
        for j, (label, value) in enumerate(zip(ACTIONS, decision["q"])):
            chosen = decision["action"] == j
            mark = "*" if advice == j else ""
            ax.text(3.0 + 3.2 * j, y, f"Q({said(label)}) {decimal(f'{value:+.2f}')}{mark}", fontsize=7.5,
                    va="center", weight="bold" if chosen else "normal", color="black" if chosen else "#666666")
    if len(decisions) > len(shown):
        ax.text(9.8, 4.9 - (4.2 / max(rows, 4)) * (len(shown) - 1), "...", fontsize=8, ha="right", va="center")
    taken = [said(ACTIONS[d["action"]]) for d in decisions if d["action"] is not None]
    if footer is None:
        footer = tr("chose {actions}").format(actions=" -> ".join(taken)) if taken else ""
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
        raise ValueError(tr("hands must be >= 1, got {hands}").format(hands=hands))
    played = play_hands(learner, config, hands, seed)
    columns = min(4, hands)
    rows = math.ceil(hands / columns)
    fig, axes = new_figure(rows, columns, figsize=(3.6 * columns, 3.0 * rows), squeeze=False)
    for index, ax in enumerate(axes.ravel()):
        if index >= len(played):
            ax.axis("off")
            continue
        hand = played[index]
        draw_hand(ax, hand, tr("hand {number}: {result}").format(number=index + 1, result=result_words(hand["reward"])))
    mean = float(np.mean([h["reward"] for h in played]))
    fig.suptitle(tr("The agent's plays (chapter 72): {hands} greedy hands, seed {seed}, mean outcome {mean:+.2f}. "
                    "Shaded cards were drawn later; bold = the action taken (the larger Q).").format(
        hands=hands, seed=seed, mean=mean), fontsize=10)
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


def total_words(cards: list[int]) -> str:
    """'= 19', or '= 24 bust' past 21."""
    total = hand_value(cards)
    return tr("= {total} bust").format(total=total) if total > 21 else f"= {total}"


def _status(moment, hand: dict) -> str:
    if moment.over:  # the running result, this hand included, is said once: the frame's heading
        return result_words(moment.total)
    decision = moment.current
    q = dict(zip(ACTIONS, decision.values))
    if decision.by == "you":
        advice = said(ACTIONS[decision.advice])
        line = tr("the agent advises {advice}: Q(stick) {stick:+.3f}, Q(hit) {hit:+.3f}").format(
            advice=advice, stick=q["stick"], hit=q["hit"])
        if decision.action is None:
            return line
        return tr("you {action}; {advice}").format(action=said(ACTIONS[decision.action]), advice=line)
    name = ACTIONS[decision.action]
    other = "hit" if name == "stick" else "stick"
    if decision.explored:
        why = tr("a random move (epsilon)")
    else:
        why = tr("Q({name}) {value:+.3f} > Q({other}) {other_value:+.3f}").format(
            name=said(name), value=q[name], other=said(other), other_value=q[other])
    doing = tr("the agent sticks: {why}") if name == "stick" else tr("the agent hits: {why}")
    return doing.format(why=why)


def hand_picture(moment) -> np.ndarray:
    """A frame of the table at `moment` (640 x 480): the hand, drawn as in the plot of plays,
    with the running result above and what happens now below."""
    from agents.watch.scenes import episode_heading

    hand = hand_of(moment)
    fig = offscreen_figure(4.8, 3.6, dpi=400 / 3)  # 640 x 480 pixels, text large enough to read
    ax = fig.add_axes((0.02, 0.1, 0.96, 0.74))
    word = tr("in play") if hand["reward"] is None else result_words(hand["reward"])
    who = tr("your hand: {state}") if moment.person else tr("the agent's hand: {state}")
    draw_hand(ax, hand, who.format(state=word), rows=5, footer="")
    heading = episode_heading(moment, "hand")  # Portuguese says the tally in more letters: fit the width
    fig.text(0.02, 0.955, heading, fontsize=8 if len(heading) <= 64 else 7, weight="bold", va="center")
    status = _status(moment, hand)
    fig.text(0.02, 0.05, tr("this hand: {result}").format(result=status) if moment.over else status, fontsize=7,
             va="center")
    if moment.prompt:
        fig.text(0.02, 0.905, moment.prompt, fontsize=7, va="center", color="#a05000")
    if moment.person:
        fig.text(0.98, 0.13, tr("* the agent's choice"), fontsize=7, ha="right", va="center", color="#333333")
    return figure_pixels(fig)


def hand_text(moment) -> str:
    """The same moment in words, for the terminal."""
    hand = hand_of(moment)
    player = " ".join(map(card_name, hand["player"]))
    if hand["reward"] is None:
        dealer = tr("dealer shows {card} [hole card face down]").format(card=card_name(hand["dealer"][0]))
    else:
        dealer = tr("dealer {cards} = {total}").format(cards=" ".join(map(card_name, hand["dealer"])),
                                                       total=hand_value(hand["dealer"]))
    who = tr("you {cards} = {total}") if moment.person else tr("agent {cards} = {total}")
    status = _status(moment, hand)
    if moment.over:  # the terminal has no heading: the running result follows the hand's
        from agents.watch.scenes import running_result

        status = f"{status}; {running_result(moment)}"
    return f"{dealer} | {who.format(cards=player, total=hand_value(hand['player']))} | {status}"
