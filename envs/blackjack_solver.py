"""The exact optimum of the book's Blackjack (chapters 71-75), by dynamic programming.

The rules are those of Gymnasium's ``Blackjack-v1`` (read from
``gymnasium/envs/toy_text/blackjack.py``):

* infinite deck: each card is 1 (ace) to 9 with probability 1/13, or 10 with 4/13;
* the dealer draws two cards (the first is shown), the player two;
* an ace counts 11 while that keeps the hand at 21 or less ("usable ace");
* the player hits until sticking or busting (a bust loses at once, -1);
* after the player sticks the dealer hits while below 17 and stands on every 17, soft 17
  included; then the larger non-bust total wins (+1 / -1), equal totals draw (0); nobody
  "peeks" for a natural (ace + ten).

Naturals depend on two flags, exactly as in the env.  With ``natural=False, sab=False`` (what
``envs.make("blackjack")`` builds, and this module's default) a natural is simply a 21.
``sab=True`` (Sutton & Barto; NOTE: this is what a bare ``gymnasium.make("Blackjack-v1")``
gives, its registration sets ``sab=True``): a player natural that sticks wins +1 unless the
dealer also has a natural (then 0).  ``natural=True, sab=False``: a natural that wins pays 1.5.
The observation cannot tell a natural from another soft 21, so these flags only change the
value of the *first* observation (21, d, 1), which is always a natural; see
:func:`natural_stick_value`.  The optimal policy is the same under all three rule sets (it
sticks on every 21).

The observation ``(player_sum, dealer_card, usable_ace)`` is otherwise Markov for the player:
a hard total with an ace above 11 behaves exactly as one without, so the hit transition depends
only on the observation.  Every hit raises the hand's raw total (aces as 1), so the
recursions end.

Reachable states: hard totals 4-21 and soft totals 12-21, against dealer cards 1-10 (280).
Tables over "every state with player_sum 4-21" also list the impossible soft totals 4-11;
the optimal policy hits there (any total of 11 or less gains by hitting).
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping, Union

State = tuple[int, int, int]  # (player_sum, dealer_card, usable_ace)
Policy = Union[Callable[[State], int], Mapping[State, int]]

STICK, HIT = 0, 1
CARDS = tuple(range(1, 11))
CARD_PROBABILITY = {card: (4 / 13 if card == 10 else 1 / 13) for card in CARDS}
PLAYER_SUMS = tuple(range(4, 22))
DEALER_CARDS = CARDS
DEALER_STANDS_ON = 17
BUST = 0  # key for "dealer busts" in the dealer's outcome distribution
POLICY_CSV_COLUMNS = ("player_sum", "dealer_card", "usable_ace", "action")


def hand_value_of_total(raw_total: int, has_ace: bool) -> tuple[int, int]:
    """(effective sum, usable_ace) of a hand with aces counted as 1 summing to raw_total."""
    if has_ace and raw_total + 10 <= 21:
        return raw_total + 10, 1
    return raw_total, 0


def is_reachable(state: State) -> bool:
    """Whether Blackjack-v1 can show ``state`` to a player who still has to act."""
    player_sum, dealer_card, usable_ace = state
    if dealer_card not in DEALER_CARDS or usable_ace not in (0, 1):
        return False
    if usable_ace:
        return 12 <= player_sum <= 21
    return 4 <= player_sum <= 21


def reachable_states() -> list[State]:
    """All 280 states the player can act in, sorted."""
    return [
        (player_sum, dealer_card, usable_ace)
        for player_sum in PLAYER_SUMS
        for dealer_card in DEALER_CARDS
        for usable_ace in (0, 1)
        if is_reachable((player_sum, dealer_card, usable_ace))
    ]


def all_table_states() -> list[State]:
    """Every (player_sum 4-21, dealer_card 1-10, usable_ace 0/1): 360 rows, reachable or not."""
    return [(s, d, u) for s in PLAYER_SUMS for d in DEALER_CARDS for u in (0, 1)]


# -- the dealer -----------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _dealer_from(raw_total: int, has_ace: bool) -> tuple[tuple[int, float], ...]:
    """Distribution of the dealer's final score (BUST or 17-21) from a partial hand."""
    value, _ = hand_value_of_total(raw_total, has_ace)
    if value > 21:
        return ((BUST, 1.0),)
    if value >= DEALER_STANDS_ON:
        return ((value, 1.0),)
    outcome: dict[int, float] = {}
    for card, p_card in CARD_PROBABILITY.items():
        for final, p_final in _dealer_from(raw_total + card, has_ace or card == 1):
            outcome[final] = outcome.get(final, 0.0) + p_card * p_final
    return tuple(sorted(outcome.items()))


def dealer_outcome_distribution(dealer_card: int) -> dict[int, float]:
    """P(dealer's final score) given the shown card: keys 0 (bust) and 17-21.

    A single card is always below 17, so the dealer always draws the hidden card and starting
    from the shown card alone is exact.
    """
    if dealer_card not in DEALER_CARDS:
        raise ValueError(f"dealer_card must be 1-10, got {dealer_card!r}")
    return dict(_dealer_from(dealer_card, dealer_card == 1))


@lru_cache(maxsize=None)
def stick_value(player_sum: int, dealer_card: int) -> float:
    """Expected reward of sticking on ``player_sum`` (<= 21) against ``dealer_card``."""
    value = 0.0
    for final, probability in dealer_outcome_distribution(dealer_card).items():
        if final == BUST or final < player_sum:
            value += probability
        elif final > player_sum:
            value -= probability
    return value


def dealer_natural_probability(dealer_card: int) -> float:
    """P(the dealer's first two cards are an ace and a ten) given the shown card."""
    if dealer_card not in DEALER_CARDS:
        raise ValueError(f"dealer_card must be 1-10, got {dealer_card!r}")
    return {1: CARD_PROBABILITY[10], 10: CARD_PROBABILITY[1]}.get(dealer_card, 0.0)


def natural_stick_value(dealer_card: int, *, natural: bool = False, sab: bool = False) -> float:
    """Expected reward of sticking on a natural (the first two cards ace + ten).

    ``sab`` (which overrides ``natural``, as in the env): +1 unless the dealer also has a
    natural.  ``natural``: a win pays 1.5.  Neither: the same as any 21.
    """
    if sab:
        return 1.0 - dealer_natural_probability(dealer_card)
    if natural:
        return 1.5 * stick_value(21, dealer_card)
    return stick_value(21, dealer_card)


# -- the player -----------------------------------------------------------------------------
@lru_cache(maxsize=None)
def hit_transitions(player_sum: int, usable_ace: int) -> tuple[tuple[float, int, int], ...]:
    """``(probability, next_sum, next_usable_ace)`` after one hit; next_sum > 21 means bust.

    Outcomes leading to the same next observation are merged.
    """
    raw_total = player_sum - 10 if usable_ace else player_sum
    # A hard hand holding an ace can never use it again (raw total >= 12), so for the future
    # it is the same as a hand without one; only a soft hand "has" an ace that matters.
    has_ace = bool(usable_ace)
    merged: dict[tuple[int, int], float] = {}
    for card, p_card in CARD_PROBABILITY.items():
        next_state = hand_value_of_total(raw_total + card, has_ace or card == 1)
        merged[next_state] = merged.get(next_state, 0.0) + p_card
    return tuple((p, s, u) for (s, u), p in sorted(merged.items()))


@lru_cache(maxsize=None)
def _optimal(player_sum: int, dealer_card: int, usable_ace: int) -> tuple[float, float]:
    """(Q(stick), Q(hit)) under optimal play afterwards."""
    q_hit = 0.0
    for probability, next_sum, next_ace in hit_transitions(player_sum, usable_ace):
        if next_sum > 21:
            q_hit -= probability
        else:
            q_hit += probability * max(_optimal(next_sum, dealer_card, next_ace))
    return stick_value(player_sum, dealer_card), q_hit


def optimal_q_values() -> dict[State, tuple[float, float]]:
    """``{state: (Q(stick), Q(hit))}`` for the 280 reachable states."""
    return {state: _optimal(*state) for state in reachable_states()}


def optimal_state_values() -> dict[State, float]:
    """``{state: V*(state)}`` for the 280 reachable states."""
    return {state: max(_optimal(*state)) for state in reachable_states()}


def optimal_policy() -> dict[State, int]:
    """``{state: action}`` (0 stick, 1 hit) for all 360 table states; ties stick.

    The same under every natural/sab rule set (a natural is always best stuck on).

    Unreachable states (soft totals 4-11) get HIT, see the module docstring.
    """
    policy = {}
    for state in all_table_states():
        if is_reachable(state):
            q_stick, q_hit = _optimal(*state)
            policy[state] = HIT if q_hit > q_stick else STICK
        else:
            policy[state] = HIT
    return policy


# -- any deterministic policy ---------------------------------------------------------------
class MissingStateError(ValueError):
    """A policy gives no action for a state it was asked about."""


def _action(policy: Policy, state: State) -> int:
    try:
        action = policy[state] if isinstance(policy, Mapping) else policy(state)
    except KeyError:
        raise MissingStateError(f"policy has no action for state {state}") from None
    if action not in (STICK, HIT):
        raise ValueError(f"policy action for state {state} must be 0 (stick) or 1 (hit), got {action!r}")
    return int(action)


def state_values(policy: Policy) -> dict[State, float]:
    """``{state: V^policy(state)}`` for the 280 reachable states (for a hand that is not a
    natural; under the ``sab``/``natural`` flags a first (21, d, 1) is worth more, see
    :func:`natural_stick_value`).

    ``policy`` is a mapping from states to 0/1 or a callable ``policy(state) -> 0/1``; it must
    cover every reachable state.
    """
    actions = {state: _action(policy, state) for state in reachable_states()}
    values: dict[State, float] = {}

    def value(state: State) -> float:
        if state not in values:
            player_sum, dealer_card, usable_ace = state
            if actions[state] == STICK:
                values[state] = stick_value(player_sum, dealer_card)
            else:
                total = 0.0
                for probability, next_sum, next_ace in hit_transitions(player_sum, usable_ace):
                    total += probability * (-1.0 if next_sum > 21 else value((next_sum, dealer_card, next_ace)))
                values[state] = total
        return values[state]

    for state in sorted(actions, key=lambda s: (-(s[0] - 10 * s[2]), s)):  # high raw totals first: shallow recursion
        value(state)
    return values


@lru_cache(maxsize=1)
def _initial_distribution() -> tuple[tuple[State, float], ...]:
    distribution: dict[State, float] = {}
    for first, p_first in CARD_PROBABILITY.items():
        for second, p_second in CARD_PROBABILITY.items():
            player_sum, usable_ace = hand_value_of_total(first + second, 1 in (first, second))
            for dealer_card, p_dealer in CARD_PROBABILITY.items():
                state = (player_sum, dealer_card, usable_ace)
                distribution[state] = distribution.get(state, 0.0) + p_first * p_second * p_dealer
    return tuple(sorted(distribution.items()))


def initial_state_distribution() -> dict[State, float]:
    """P(first observation) of ``Blackjack-v1.reset()`` (two player cards, one dealer card)."""
    return dict(_initial_distribution())


def expected_return(policy: Policy | None = None, *, natural: bool = False, sab: bool = False) -> float:
    """Exact expected return per hand of a deterministic ``policy`` (None: the optimal one).

    ``natural`` and ``sab`` are the env's flags (defaults: ``envs.make("blackjack")``; a bare
    ``gymnasium.make("Blackjack-v1")`` needs ``sab=True``).
    """
    policy = optimal_policy() if policy is None else policy
    values = state_values(policy)
    total = 0.0
    for state, probability in _initial_distribution():
        player_sum, dealer_card, _ = state
        # A first observation of 21 is always a natural, which may pay differently.
        if player_sum == 21 and _action(policy, state) == STICK:
            value = natural_stick_value(dealer_card, natural=natural, sab=sab)
        else:
            value = values[state]
        total += probability * value
    return total


def policy_table(policy: Policy | None = None) -> list[tuple[int, int, int, int]]:
    """Rows ``(player_sum, dealer_card, usable_ace, action)`` for all 360 table states.

    ``policy`` None means the optimal policy.  For unreachable states a mapping may omit the
    entry (or a callable may raise KeyError); the row then says HIT.
    """
    policy = optimal_policy() if policy is None else policy
    rows = []
    for state in all_table_states():
        try:
            action = _action(policy, state)
        except MissingStateError:
            if is_reachable(state):
                raise
            action = HIT
        rows.append((*state, action))
    return rows


def write_policy_csv(path: str | Path, policy: Policy | None = None) -> Path:
    """Write :func:`policy_table` as CSV with columns player_sum,dealer_card,usable_ace,action."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(POLICY_CSV_COLUMNS)
        writer.writerows(policy_table(policy))
    return path
