"""Blackjack as the book plays it (chapters 71-75): Gymnasium's ``Blackjack-v1``.

The book trains a DQN on Gymnasium's Blackjack with its default rules: an infinite deck
(cards drawn with replacement, 10-valued cards four times as likely as the others), the
dealer hits below 17 and stands on every 17 (soft 17 included), ``natural=False`` (a natural
pays 1 like any win) and ``sab=False``.  The observation is the tuple
``(player_sum, dealer_card, usable_ace)``; action 0 sticks, 1 hits.  The exact optimum of
exactly these rules is computed in :mod:`envs.blackjack_solver`.

Careful: Gymnasium registers ``Blackjack-v1`` with ``sab=True``, so a bare
``gymnasium.make("Blackjack-v1")`` (or ``envs.make("Blackjack-v1")``, which passes through)
lets a player natural beat a dealer's three-card 21.  ``envs.make("blackjack")`` passes
``sab=False`` explicitly; the solver takes the same flags.
"""

from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces

from lab.checks import one_of, unknown
from lab.i18n import tr

GYMNASIUM_ID = "Blackjack-v1"
STICK, HIT = 0, 1
ENCODINGS = ("tuple", "onehot", "scaled")
ONEHOT_SIZE = 32 + 11 + 1  # player sum 0-31, dealer card 0-10, usable ace


def encode(state: tuple[int, int, int], encoding: str = "onehot") -> np.ndarray:
    """The network's view of a Blackjack observation (chapter 71's model input).

    ``onehot`` (44 floats): one-hot player sum (0-31: sums above 21 appear only in final
    observations after a bust), one-hot dealer card (1-10, index 0 unused) and the usable-ace
    flag. Each state gets its own input unit pattern, so an MLP can represent the sharp
    stick/hit boundaries without first learning to cut a scaled number into intervals.
    ``scaled`` (3 floats): player_sum / 21, dealer_card / 10, usable_ace.
    """
    player_sum, dealer_card, usable_ace = (int(v) for v in state)
    if encoding == "onehot":
        vector = np.zeros(ONEHOT_SIZE, dtype=np.float32)
        vector[min(player_sum, 31)] = 1.0
        vector[32 + dealer_card] = 1.0
        vector[43] = float(usable_ace)
        return vector
    if encoding == "scaled":
        return np.array([player_sum / 21.0, dealer_card / 10.0, float(usable_ace)], dtype=np.float32)
    raise ValueError(unknown(tr("blackjack encoding"), encoding, ENCODINGS[1:]))


def observation_of(state: tuple[int, int, int], observation: str = "tuple"):
    """What an env made with ``make_blackjack(observation=...)`` shows for ``state``."""
    return tuple(int(v) for v in state) if observation == "tuple" else encode(state, observation)


def hand_value(cards: list[int]) -> int:
    """Best total of a hand of card values (ace = 1): an ace counts 11 when that does not bust.

    The one copy of the rule: the solver's :func:`hand_value_of_total` on the hand's raw sum.
    """
    from envs.blackjack_solver import hand_value_of_total

    return hand_value_of_total(sum(cards), 1 in cards)[0]


def table_state(env: gymnasium.Env) -> tuple[int, int, int]:
    """(player_sum, dealer_card, usable_ace) of the hand on a Blackjack env's table, whatever
    observation encoding the env's wrappers give its agent."""
    from envs.blackjack_solver import hand_value_of_total

    table = env.unwrapped
    total, usable_ace = hand_value_of_total(sum(table.player), 1 in table.player)
    return total, int(table.dealer[0]), usable_ace


def card_name(value: int) -> str:
    return "A" if value == 1 else str(value)


def outcome_word(reward: float) -> str:
    return "win" if reward > 0 else "loss" if reward < 0 else "draw"


class EncodedBlackjack(gymnasium.ObservationWrapper):
    """Blackjack with vector observations for a Q-network; `state` keeps the raw tuple."""

    def __init__(self, env: gymnasium.Env, encoding: str) -> None:
        super().__init__(env)
        encode((12, 1, 0), encoding)  # validates the name
        self.encoding = encoding
        size = ONEHOT_SIZE if encoding == "onehot" else 3
        self.observation_space = spaces.Box(0.0, 2.0, shape=(size,), dtype=np.float32)

    def observation(self, observation):
        return encode(observation, self.encoding)


def make_blackjack(
    natural: bool = False, sab: bool = False, render_mode: str | None = None, observation: str = "tuple"
) -> gymnasium.Env:
    """Gymnasium's Blackjack-v1 (defaults are the book's rules and the solver's).

    ``natural`` / ``sab`` change the payout rules (passed explicitly: Gymnasium's own default
    is ``sab=True``); :func:`envs.blackjack_solver.expected_return` takes the same two flags.
    ``observation`` is ``tuple`` (the raw tuple, for tables) or an encoding
    of :func:`encode` (``onehot``, ``scaled``) for networks.
    """
    one_of(tr("blackjack observation"), observation, ENCODINGS)
    env = gymnasium.make(GYMNASIUM_ID, natural=bool(natural), sab=bool(sab), render_mode=render_mode)
    return env if observation == "tuple" else EncodedBlackjack(env, observation)
