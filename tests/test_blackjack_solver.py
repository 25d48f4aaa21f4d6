"""Tests for the exact Blackjack solver against Gymnasium's real Blackjack-v1 (ch. 71-75)."""

from __future__ import annotations

import csv
import time

import gymnasium
import numpy as np
import pytest
from gymnasium.envs.toy_text import blackjack as gym_blackjack

from envs import blackjack_solver as solver

OPTIMAL_RETURN = -0.046556  # computed by the solver, six decimals


def stick_on_17(state):
    return int(state[0] < 17)


def always_stick(state):
    return 0


# -- exact values -----------------------------------------------------------------------------
def test_optimal_return_is_the_known_figure():
    value = solver.expected_return()
    print(f"optimal expected return per hand: {value:.6f}")
    assert value == pytest.approx(-0.0466, abs=5e-4)
    assert value == pytest.approx(OPTIMAL_RETURN, abs=5e-7)
    assert solver.expected_return(solver.optimal_policy()) == pytest.approx(value, abs=1e-12)


def test_no_single_change_improves_the_optimal_policy():
    optimal = solver.optimal_policy()
    best = solver.expected_return(optimal)
    values = solver.state_values(optimal)
    q_values = solver.optimal_q_values()
    for state in solver.reachable_states():
        assert values[state] == pytest.approx(max(q_values[state]), abs=1e-12)
        changed = dict(optimal)
        changed[state] = 1 - changed[state]
        assert solver.expected_return(changed) <= best + 1e-12


def test_known_strategy_landmarks():
    policy = solver.optimal_policy()
    assert all(policy[(s, d, 0)] == 0 for s in range(17, 22) for d in range(1, 11))  # stand on hard 17+
    assert all(policy[(s, d, 0)] == 1 for s in range(4, 12) for d in range(1, 11))  # hit on 11 or less
    assert [policy[(12, d, 0)] for d in range(1, 11)] == [1, 1, 1, 0, 0, 0, 1, 1, 1, 1]
    assert [policy[(18, d, 1)] for d in range(1, 11)] == [1, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    assert all(policy[(17, d, 1)] == 1 for d in range(1, 11))


def test_initial_distribution_sums_to_one_and_covers_the_env_starts():
    distribution = solver.initial_state_distribution()
    assert sum(distribution.values()) == pytest.approx(1.0, abs=1e-12)
    assert {s for s, _, _ in distribution} == set(range(4, 22))
    assert distribution[(21, 10, 1)] == pytest.approx(2 * (1 / 13) * (4 / 13) * (4 / 13))
    assert all(solver.is_reachable(state) for state in distribution)


def test_simple_policies_have_exact_values_in_plausible_ranges():
    assert solver.expected_return(always_stick) == pytest.approx(-0.186368, abs=5e-7)
    assert solver.expected_return(stick_on_17) == pytest.approx(-0.079295, abs=5e-7)


def test_policy_table_and_csv(tmp_path):
    rows = solver.policy_table()
    assert len(rows) == 18 * 10 * 2
    assert {(s, d, u) for s, d, u, _ in rows} == set(solver.all_table_states())
    assert all(action in (0, 1) for *_, action in rows)
    path = solver.write_policy_csv(tmp_path / "policy.csv")
    with path.open() as handle:
        read = list(csv.reader(handle))
    assert read[0] == ["player_sum", "dealer_card", "usable_ace", "action"]
    assert [tuple(map(int, row)) for row in read[1:]] == rows
    # A dict covering only reachable states is enough; unreachable rows default to hit.
    reachable_only = {state: 0 for state in solver.reachable_states()}
    table = {row[:3]: row[3] for row in solver.policy_table(reachable_only)}
    assert table[(20, 5, 0)] == 0 and table[(8, 5, 1)] == 1


def test_bad_policies_are_rejected():
    missing_one = solver.optimal_policy()
    del missing_one[(20, 10, 0)]
    with pytest.raises(ValueError, match=r"no action for state \(20, 10, 0\)"):
        solver.expected_return(missing_one)
    with pytest.raises(ValueError, match="must be 0 .stick. or 1 .hit."):
        solver.expected_return(lambda state: 2)


# -- the solver's rules are gymnasium's rules ------------------------------------------------
class _NeedCard(Exception):
    pass


class _ScriptedCards:
    """Stands in for the env's np_random: deals the given cards, asks for more when out."""

    def __init__(self, cards):
        self.cards = list(cards)

    def choice(self, options):
        if list(options) == gym_blackjack.deck:
            if not self.cards:
                raise _NeedCard
            return self.cards.pop(0)
        return options[0]  # suit / face-card name of the shown card: irrelevant to the rules


def _env_dealer_distribution(dealer_card):
    """Final dealer score distribution by driving the real env's stick() over every deal."""
    env = gymnasium.make("Blackjack-v1").unwrapped
    env.reset(seed=0)
    distribution = {}
    pending = [([hidden], p) for hidden, p in solver.CARD_PROBABILITY.items()]
    while pending:
        cards, probability = pending.pop()
        env.dealer = [dealer_card, cards[0]]
        env.player = [10, 8]
        env.np_random = _ScriptedCards(cards[1:])
        try:
            env.step(0)
        except _NeedCard:
            pending.extend((cards + [c], probability * p) for c, p in solver.CARD_PROBABILITY.items())
            continue
        final = gym_blackjack.score(env.dealer)
        distribution[final] = distribution.get(final, 0.0) + probability
    return distribution


@pytest.mark.parametrize("dealer_card", range(1, 11))
def test_dealer_rules_match_gymnasium(dealer_card):
    from_env = _env_dealer_distribution(dealer_card)
    from_solver = solver.dealer_outcome_distribution(dealer_card)
    assert set(from_env) == set(from_solver)
    for final, probability in from_solver.items():
        assert from_env[final] == pytest.approx(probability, abs=1e-12)


@pytest.mark.parametrize(
    "dealer_hand, extra_cards, player_hand, reward",
    [
        ([1, 6], [], [10, 8], 1.0),  # soft 17: the dealer stands
        ([10, 6], [1], [10, 7], 0.0),  # hard 16 hits, ace makes 17: push
        ([1, 5], [1, 10, 10], [10, 9], 1.0),  # soft 16 hits: A,5,A = soft 17 stands
        ([1, 10], [], [7, 4, 10], 0.0),  # dealer natural vs three-card 21: push (natural=False)
        ([10, 7], [], [1, 10], 1.0),  # player natural pays 1, not 1.5
        ([10, 6], [10], [10, 2], 1.0),  # dealer busts: player wins with 12
    ],
)
def test_hand_constructed_showdowns_match(dealer_hand, extra_cards, player_hand, reward):
    env = gymnasium.make("Blackjack-v1").unwrapped
    env.reset(seed=0)
    env.dealer, env.player = list(dealer_hand), list(player_hand)
    env.np_random = _ScriptedCards(extra_cards)
    _, env_reward, terminated, _, _ = env.step(0)
    assert terminated and env_reward == reward
    # The solver's stick value against a dealer who is certain to end as the env's dealer did.
    final = gym_blackjack.score(env.dealer)
    player = gym_blackjack.sum_hand(player_hand)
    expected = 1.0 if final == solver.BUST or final < player else (-1.0 if final > player else 0.0)
    assert expected == reward


def test_player_hits_match_gymnasium():
    env = gymnasium.make("Blackjack-v1").unwrapped
    env.reset(seed=0)
    hands = {(s, 0): ([2, s - 2] if s <= 11 else [10, s - 10] if s <= 20 else [10, 5, 6]) for s in range(4, 22)}
    hands.update({(s, 1): [1, s - 11] if s > 12 else [1, 1] for s in range(12, 22)})
    for (player_sum, usable_ace), hand in hands.items():
        assert gym_blackjack._hand_sum_and_usable_ace(hand) == (player_sum, usable_ace)
        from_env = {}
        for card, probability in solver.CARD_PROBABILITY.items():
            env.player, env.dealer = list(hand), [10, 7]
            env.np_random = _ScriptedCards([card])
            (next_sum, _, next_ace), reward, terminated, _, _ = env.step(1)
            assert terminated == (next_sum > 21) and reward == (-1.0 if terminated else 0.0)
            from_env[(next_sum, next_ace)] = from_env.get((next_sum, next_ace), 0.0) + probability
        from_solver = {(s, u): p for p, s, u in solver.hit_transitions(player_sum, usable_ace)}
        assert from_env.keys() == from_solver.keys()
        for key, probability in from_solver.items():
            assert from_env[key] == pytest.approx(probability, abs=1e-12)


def test_initial_distribution_matches_gymnasium_reset():
    env = gymnasium.make("Blackjack-v1").unwrapped
    env.reset(seed=0)
    from_env = {}
    p = solver.CARD_PROBABILITY
    for dealer_card in range(1, 11):
        for first in range(1, 11):
            for second in range(1, 11):
                env.np_random = _ScriptedCards([dealer_card, 2, first, second])  # dealer drawn first
                state, _ = env.reset()
                probability = p[dealer_card] * p[first] * p[second]
                from_env[state] = from_env.get(state, 0.0) + probability
    from_solver = solver.initial_state_distribution()
    assert from_env.keys() == from_solver.keys()
    for state, probability in from_solver.items():
        assert from_env[state] == pytest.approx(probability, abs=1e-12)


def _env_stick_value(player_hand, dealer_card, **rules):
    """Exact expected reward of sticking, by dealing every dealer sequence in the real env."""
    env = gymnasium.make("Blackjack-v1", **rules).unwrapped
    env.reset(seed=0)
    value = 0.0
    pending = [([hidden], p) for hidden, p in solver.CARD_PROBABILITY.items()]
    while pending:
        cards, probability = pending.pop()
        env.dealer, env.player = [dealer_card, cards[0]], list(player_hand)
        env.np_random = _ScriptedCards(cards[1:])
        try:
            _, reward, _, _, _ = env.step(0)
        except _NeedCard:
            pending.extend((cards + [c], probability * p) for c, p in solver.CARD_PROBABILITY.items())
            continue
        value += probability * reward
    return value


RULE_SETS = [dict(natural=False, sab=False), dict(natural=False, sab=True), dict(natural=True, sab=False)]


@pytest.mark.parametrize("rules", RULE_SETS, ids=["plain", "sab", "natural-pays-1.5"])
def test_natural_and_other_21s_pay_as_in_gymnasium(rules):
    for dealer_card in range(1, 11):
        from_env = _env_stick_value([10, 1], dealer_card, **rules)
        assert from_env == pytest.approx(solver.natural_stick_value(dealer_card, **rules), abs=1e-12)
        # A three-card soft 21 is not a natural under any rules.
        if dealer_card in (1, 6, 10):
            assert _env_stick_value([1, 5, 5], dealer_card, **rules) == pytest.approx(
                solver.stick_value(21, dealer_card), abs=1e-12
            )


def test_bare_gymnasium_blackjack_uses_sab_rules():
    # Gymnasium registers Blackjack-v1 with sab=True; envs.make("blackjack") overrides it.
    assert gymnasium.make("Blackjack-v1").unwrapped.sab is True
    assert solver.expected_return(sab=True) == pytest.approx(-0.043113, abs=5e-7)
    assert solver.optimal_policy()[(21, 1, 1)] == 0


# -- the solver's values are what the real environment pays ---------------------------------
def _simulate(policy, hands, seed, **rules):
    """Mean return and its standard error over ``hands`` hands of the real Blackjack-v1."""
    env = gymnasium.make("Blackjack-v1", **rules)
    returns = np.empty(hands)
    obs, _ = env.reset(seed=seed)
    for hand in range(hands):
        if hand:
            obs, _ = env.reset()
        while True:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            if terminated or truncated:
                break
        returns[hand] = reward
    return returns.mean(), returns.std(ddof=1) / np.sqrt(hands)


def _check_against_env(hands, seed, policy_names, **rules):
    optimal = solver.optimal_policy()
    policies = {"optimal": lambda state: optimal[state], "always-stick": always_stick}
    for name in policy_names:
        policy = policies[name]
        start = time.perf_counter()
        mean, standard_error = _simulate(policy, hands, seed, **rules)
        exact = solver.expected_return(policy, **rules)
        print(
            f"{name} {rules}: exact {exact:.6f}, simulated {mean:.6f} +- {standard_error:.6f} "
            f"({hands} hands, {time.perf_counter() - start:.1f} s)"
        )
        assert abs(mean - exact) < 3 * standard_error


def test_exact_returns_match_50k_simulated_hands():
    # The rules of envs.make("blackjack"): natural=False, sab=False. 50k hands keep the default
    # test run short (standard error ~0.004); the 1M-hand checks below are marked slow.
    _check_against_env(50_000, 2024, ["optimal", "always-stick"], natural=False, sab=False)


@pytest.mark.slow
def test_exact_returns_match_1m_simulated_hands():
    _check_against_env(1_000_000, 7, ["optimal", "always-stick"], natural=False, sab=False)


@pytest.mark.slow
def test_exact_return_matches_1m_hands_of_bare_blackjack_v1():
    # gymnasium.make("Blackjack-v1") without options: sab=True.
    _check_against_env(1_000_000, 11, ["optimal"], sab=True)
