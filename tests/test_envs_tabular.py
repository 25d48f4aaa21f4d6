"""Tests for the registry, the five-rooms building (ch. 67-68) and tic-tac-toe (ch. 66)."""

from __future__ import annotations

import itertools
from collections import Counter

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs import registry
from envs import five_rooms
from envs import tictactoe as ttt

# The book's reward matrix, written out by hand (rows: from room, columns: to room).
BOOK_R = np.array(
    [
        [-1, -1, -1, -1, 0, -1],
        [-1, -1, -1, 0, -1, 100],
        [-1, -1, -1, 0, -1, -1],
        [-1, 0, 0, -1, 0, -1],
        [0, -1, -1, 0, -1, 100],
        [-1, 0, -1, -1, 0, 100],
    ],
    dtype=float,
)
BOOK_DOORS = {(0, 4), (1, 3), (1, 5), (2, 3), (3, 4), (4, 5)}


# -- registry ---------------------------------------------------------------------------------
def test_available_lists_the_book_environments_with_descriptions():
    names = envs.available()
    for name in ("five-rooms", "tictactoe", "blackjack"):
        assert name in names
        assert isinstance(names[name], str) and names[name] and "\n" not in names[name]


def test_unknown_environment_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown environment 'nope'; available: .*five-rooms"):
        envs.make("nope")


def test_bad_option_is_named():
    with pytest.raises(ValueError, match=r"unknown option 'colour' for environment 'five-rooms'.*max_steps"):
        envs.make("five-rooms", colour="red")
    with pytest.raises(ValueError, match="opponent_skill"):
        envs.make("tictactoe", opponent_skill=1.5)


def test_gymnasium_ids_pass_through_with_options():
    env = envs.make("FrozenLake-v1", is_slippery=False)
    assert env.spec.id == "FrozenLake-v1"
    env.reset(seed=0)
    _, _, _, _, _ = env.step(2)  # right, deterministic when not slippery
    assert env.unwrapped.s == 1
    with pytest.raises(ValueError, match="FrozenLake-v1"):
        envs.make("FrozenLake-v1", no_such_option=3)


def test_names_registered_later_can_be_made():
    class Dummy(gymnasium.Env):
        observation_space = gymnasium.spaces.Discrete(1)
        action_space = gymnasium.spaces.Discrete(1)

        def __init__(self, size: int = 1):
            self.size = size

    try:
        envs.register("test-dummy", Dummy, "a test environment")
        assert envs.available()["test-dummy"] == "a test environment"
        assert envs.make("test-dummy", size=3).size == 3
        with pytest.raises(ValueError, match="'colour'.*size"):
            envs.make("test-dummy", colour=1)
    finally:
        registry._REGISTRY.pop("test-dummy", None)


def test_blackjack_is_gymnasium_blackjack_with_default_rules():
    env = envs.make("blackjack")
    assert env.spec.id == "Blackjack-v1"
    assert env.unwrapped.natural is False and env.unwrapped.sab is False
    obs, _ = env.reset(seed=3)
    player_sum, dealer_card, usable_ace = obs
    assert 4 <= player_sum <= 21 and 1 <= dealer_card <= 10 and usable_ace in (0, 1)


# -- five rooms -------------------------------------------------------------------------------
def test_reward_matrix_is_the_books():
    np.testing.assert_array_equal(five_rooms.reward_matrix(), BOOK_R)
    env = envs.make("five-rooms")
    np.testing.assert_array_equal(env.unwrapped.reward_matrix, BOOK_R)


def test_five_rooms_passes_gymnasium_checker():
    check_env(envs.make("five-rooms"), skip_render_check=True)


@pytest.mark.parametrize("room", range(5))
def test_every_move_from_every_room(room):
    for target in range(6):
        env = envs.make("five-rooms", start=room)
        _, info = env.reset(seed=0)
        door = (room, target) in BOOK_DOORS or (target, room) in BOOK_DOORS
        assert info["action_mask"][target] == int(door)
        obs, reward, terminated, truncated, info = env.step(target)
        assert not truncated
        if door:
            assert obs == target and not info["invalid_action"]
            assert reward == (100.0 if target == 5 else 0.0)
            assert terminated == (target == 5)
        else:
            assert obs == room and info["invalid_action"] and reward == 0.0 and not terminated


def test_action_mask_and_valid_actions_agree_with_the_doors():
    env = envs.make("five-rooms")
    for room in range(6):
        mask = five_rooms.action_mask(room)
        assert mask.dtype == np.int8 and mask.shape == (6,)
        np.testing.assert_array_equal(np.flatnonzero(mask), env.unwrapped.valid_actions(room))
        np.testing.assert_array_equal(mask, (BOOK_R[room] >= 0).astype(np.int8))
    np.testing.assert_array_equal(five_rooms.valid_actions(3), [1, 2, 4])


def test_invalid_move_pays_the_penalty_option():
    env = envs.make("five-rooms", start=2, invalid_penalty=-1.0)
    env.reset(seed=0)
    obs, reward, terminated, _, info = env.step(5)  # room 2 has no door outside
    assert (obs, reward, terminated, info["invalid_action"]) == (2, -1.0, False, True)


def test_random_start_covers_rooms_0_to_4_and_start_options_work():
    env = envs.make("five-rooms")
    starts = {env.reset(seed=seed)[0] for seed in range(60)}
    assert starts == {0, 1, 2, 3, 4}
    assert env.reset(seed=0, options={"start": 2})[0] == 2
    with pytest.raises(ValueError, match="start"):
        envs.make("five-rooms", start=5)


def test_same_seed_same_starts():
    first = [envs.make("five-rooms").reset(seed=s)[0] for s in range(10)]
    second = [envs.make("five-rooms").reset(seed=s)[0] for s in range(10)]
    assert first == second


def test_truncates_after_max_steps():
    env = envs.make("five-rooms", start=0, max_steps=3)
    env.reset(seed=0)
    results = [env.step(a)[2:4] for a in (4, 0, 4)]  # 0 -> 4 -> 0 -> 4, never outside
    assert results == [(False, False), (False, False), (False, True)]


def test_shortest_path_from_room_2_reaches_outside_in_three_moves():
    env = envs.make("five-rooms", start=2)
    env.reset(seed=0)
    total = 0.0
    for room in (3, 1, 5):
        _, reward, terminated, _, _ = env.step(room)
        total += reward
    assert terminated and total == 100.0


# -- tic-tac-toe: rules -----------------------------------------------------------------------
def test_winner_detects_all_eight_lines_for_both_players():
    assert len(ttt.LINES) == 8
    for line in ttt.LINES:
        for player in (ttt.X, ttt.O):
            board = [0] * 9
            for cell in line:
                board[cell] = player
            assert ttt.winner(board) == player
            assert ttt.is_terminal(board)
            board[line[2]] = 0
            assert ttt.winner(board) == 0


def _reachable_positions() -> set[tuple[int, ...]]:
    seen, frontier = set(), [(0,) * 9]
    while frontier:
        board = frontier.pop()
        if board in seen:
            continue
        seen.add(board)
        if not ttt.is_terminal(board):
            player = ttt.player_to_move(board)
            frontier.extend(after for _, after in ttt.afterstates(board, player))
    return seen


def test_reachable_positions_and_symmetry_classes_have_the_known_counts():
    positions = _reachable_positions()
    assert len(positions) == 5478
    assert len({ttt.canonical_key(board) for board in positions}) == 765


def test_keys_round_trip_and_symmetries_are_eight_distinct_maps():
    assert len(set(ttt.SYMMETRIES)) == 8
    board = (1, 2, 0, 0, 1, 0, 0, 0, 2)
    assert ttt.decode_board(ttt.board_key(board)) == board
    rotated = tuple(board[i] for i in ttt.SYMMETRIES[2])
    assert rotated != board and ttt.canonical_key(rotated) == ttt.canonical_key(board)


def test_afterstates_place_one_x_on_each_empty_cell():
    board = (1, 2, 0, 0, 0, 0, 0, 0, 0)
    moves = ttt.afterstates(board)
    assert [cell for cell, _ in moves] == [2, 3, 4, 5, 6, 7, 8]
    for cell, after in moves:
        assert after[cell] == ttt.X and sum(a != b for a, b in zip(board, after)) == 1
    env = envs.make("tictactoe")
    env.reset(seed=0)
    assert [cell for cell, _ in env.unwrapped.afterstates()] == list(range(9))


def test_perfect_play_is_a_draw():
    assert ttt.minimax_value((0,) * 9, ttt.X) == 0


# -- tic-tac-toe: the environment -------------------------------------------------------------
def _boards_with(n_x: int, n_o: int):
    for x_cells in itertools.combinations(range(9), n_x):
        rest = [c for c in range(9) if c not in x_cells]
        for o_cells in itertools.combinations(rest, n_o):
            board = [0] * 9
            for c in x_cells:
                board[c] = ttt.X
            for c in o_cells:
                board[c] = ttt.O
            yield tuple(board)


def test_x_completing_each_line_wins():
    for line in ttt.LINES:
        board = next(
            b for b in _boards_with(2, 2)
            if b[line[0]] == b[line[1]] == ttt.X and b[line[2]] == 0
        )
        env = envs.make("tictactoe", opponent_skill=1.0)
        env.reset(seed=0, options={"board": board})
        _, reward, terminated, _, info = env.step(line[2])
        assert (reward, terminated, info["outcome"]) == (1.0, True, "win")


def test_perfect_opponent_completes_each_line_and_x_loses():
    for line in ttt.LINES:
        found = False
        for board in _boards_with(3, 3):
            if ttt.winner(board) or not (board[line[0]] == board[line[1]] == ttt.O and board[line[2]] == 0):
                continue
            for x_move in ttt.legal_moves(board):
                after = ttt.play(board, x_move, ttt.X)
                if x_move != line[2] and not ttt.winner(after) and ttt.optimal_moves(after, ttt.O) == (line[2],):
                    found = True
                    break
            if found:
                break
        assert found, line
        env = envs.make("tictactoe", opponent_skill=1.0, loss_reward=-1.0)
        env.reset(seed=0, options={"board": board})
        obs, reward, terminated, _, info = env.step(x_move)
        final = ttt.decode_board(obs)
        assert all(final[c] == ttt.O for c in line)
        assert (reward, terminated, info["outcome"]) == (-1.0, True, "loss")


@pytest.mark.parametrize("draw_reward", [0.0, 0.5])
def test_draw_pays_the_draw_reward(draw_reward):
    board = next(b for b in _boards_with(4, 4) if not ttt.winner(b) and not ttt.winner(ttt.play(b, b.index(0), ttt.X)))
    env = envs.make("tictactoe", draw_reward=draw_reward)
    env.reset(seed=0, options={"board": board})
    _, reward, terminated, _, info = env.step(board.index(0))
    assert (reward, terminated, info["outcome"]) == (draw_reward, True, "draw")


def test_illegal_move_loses_or_raises():
    env = envs.make("tictactoe", loss_reward=-1.0)
    env.reset(seed=0)
    obs, _, _, _, info = env.step(4)
    occupied = int(np.flatnonzero(info["action_mask"] == 0)[0])
    _, reward, terminated, _, info = env.step(occupied)
    assert (reward, terminated, info["outcome"], info["illegal_move"]) == (-1.0, True, "loss", True)
    strict = envs.make("tictactoe", illegal_move="raise")
    strict.reset(seed=0)
    strict.step(4)
    with pytest.raises(ValueError, match="occupied"):
        strict.step(4)


def _play_random_x(env, rng):
    """One game with X choosing uniformly among legal cells; returns (outcome, O's moves ok)."""
    obs, info = env.reset(seed=int(rng.integers(1 << 30)))
    legal_o_moves = True
    while True:
        before = ttt.decode_board(obs)
        action = int(rng.choice(np.flatnonzero(info["action_mask"])))
        obs, reward, terminated, truncated, info = env.step(action)
        after = ttt.decode_board(obs)
        changed = [c for c in range(9) if before[c] != after[c]]
        # X's cell, plus at most one O on a cell that was empty.
        legal_o_moves &= action in changed and len(changed) <= 2
        legal_o_moves &= all(before[c] == 0 and after[c] == ttt.O for c in changed if c != action)
        if terminated or truncated:
            return info["outcome"], reward, legal_o_moves


def test_perfect_opponent_never_loses_to_200_random_games():
    env = envs.make("tictactoe", opponent_skill=1.0)
    rng = np.random.default_rng(0)
    outcomes = Counter()
    for _ in range(200):
        outcome, reward, legal = _play_random_x(env, rng)
        assert legal
        assert reward == (1.0 if outcome == "win" else 0.0)
        outcomes[outcome] += 1
    assert outcomes["win"] == 0
    assert outcomes["loss"] > 100  # a perfect player beats a random one most of the time


def test_random_opponent_plays_legal_uniform_moves():
    env = envs.make("tictactoe", opponent_skill=0.0)
    rng = np.random.default_rng(1)
    outcomes = Counter()
    for _ in range(200):
        outcome, _, legal = _play_random_x(env, rng)
        assert legal
        outcomes[outcome] += 1
    assert outcomes["win"] > 0 and outcomes["loss"] > 0
    replies = Counter()
    for seed in range(1600):
        env.reset(seed=seed)
        obs, *_ = env.step(4)
        replies[ttt.decode_board(obs).index(ttt.O)] += 1
    assert set(replies) == {0, 1, 2, 3, 5, 6, 7, 8}
    assert all(140 <= count <= 260 for count in replies.values())  # expected 200 each


def test_same_seed_same_game():
    def game(seed):
        env = envs.make("tictactoe", opponent_skill=0.5)
        obs, info = env.reset(seed=seed)
        trajectory, terminated = [obs], False
        while not terminated:
            obs, _, terminated, _, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
            trajectory.append(obs)
        return trajectory

    assert game(7) == game(7)
    assert len({tuple(game(seed)) for seed in range(10)}) > 1  # the seed matters


def test_observation_modes_and_checker():
    env = envs.make("tictactoe", observation="cells")
    obs, info = env.reset(seed=0)
    assert obs.shape == (9,) and not obs.any() and info["action_mask"].dtype == np.int8
    obs, *_ = env.step(0)
    assert obs[0] == ttt.X and (obs == ttt.O).sum() == 1
    check_env(envs.make("tictactoe"), skip_render_check=True)
    check_env(env, skip_render_check=True)
