"""Tasks that need memory, through envs.make: CartPole without velocities, POPGym, Boxing with
a single frame (envs/partial.py, envs/atari.py)."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import envs
from extras import needs

needs_popgym = needs("memory", "popgym")


def test_cartpole_novel_shows_position_and_angle_of_the_full_state():
    full, hidden = gymnasium.make("CartPole-v1"), envs.make("cartpole-novel")
    state, _ = full.reset(seed=3)
    seen, _ = hidden.reset(seed=3)
    assert hidden.observation_space.shape == (2,)
    np.testing.assert_array_equal(seen, state[[0, 2]])
    for action in (0, 1, 1, 0, 1):
        state, reward, *_ = full.step(action)
        seen, hidden_reward, *_ = hidden.step(action)
        np.testing.assert_array_equal(seen, state[[0, 2]])
        assert hidden_reward == reward


def test_cartpole_novel_frame_stack_is_oldest_first_with_zeros_before_the_start():
    env = envs.make("cartpole-novel", frame_stack=3)
    first, _ = env.reset(seed=0)
    assert first.shape == (6,) and not first[:4].any()
    second, *_ = env.step(1)
    np.testing.assert_array_equal(second[2:4], first[4:])
    assert not second[:2].any()
    again, _ = env.reset(seed=1)
    assert not again[:4].any()  # a new episode forgets the old one


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_cartpole_novel_refuses_a_bad_frame_stack(bad):
    with pytest.raises(ValueError, match="frame_stack"):
        envs.make("cartpole-novel", frame_stack=bad)


@needs_popgym
def test_popgym_repeat_previous_is_one_hot_with_the_previous_action():
    env = envs.make("popgym", task="RepeatPrevious", level="easy")
    observation, _ = env.reset(seed=0)
    assert observation.shape == (8,)  # 4 suits + 4 previous actions
    assert observation[:4].sum() == 1 and not observation[4:].any()
    observation, *_ = env.step(2)
    assert observation[:4].sum() == 1 and observation[4:].tolist() == [0, 0, 1, 0]


@needs_popgym
@pytest.mark.parametrize("task", ["RepeatPrevious", "StatelessCartPole", "HigherLower"])
def test_popgym_returns_are_normalised_and_observations_inside_their_bounds(task):
    env = envs.make("popgym", task=task, level="easy")
    rng = np.random.default_rng(0)
    for episode in range(3):
        observation, _ = env.reset(seed=episode)
        total, done = 0.0, False
        while not done:
            assert env.observation_space.contains(observation)  # bounded: agents scale by the bounds
            observation, reward, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            total, done = total + reward, terminated or truncated
        assert -1.0 - 1e-9 <= total <= 1.0 + 1e-9


@needs_popgym
def test_popgym_stateless_cartpole_is_popgyms_position_only_cartpole():
    from popgym.envs.position_only_cartpole import PositionOnlyCartPoleEasy

    ours, theirs = envs.make("popgym", task="StatelessCartPole", previous_action=False), PositionOnlyCartPoleEasy()
    np.testing.assert_array_equal(ours.reset(seed=5)[0], theirs.reset(seed=5)[0])


@needs_popgym
@pytest.mark.parametrize("options, message", [({"task": "Nope"}, "unknown POPGym task"),
                                              ({"level": "extreme"}, "unknown POPGym level"),
                                              ({"task": "MineSweeper"}, "Discrete action space")])
def test_popgym_bad_options_say_what_is_valid(options, message):
    with pytest.raises(ValueError, match=message):
        envs.make("popgym", **options)


def test_boxing_single_frame_gives_one_channel_in_both_flavours():
    vector = envs.make_vector("boxing", num_envs=1, seed=0, frame_stack=1, protocol="nature")
    assert vector.single_observation_space.shape == (1, 84, 84)
    colour = envs.make("boxing-colour", frame_stack=1, protocol="nature", noop_max=0)
    assert colour.reset(seed=0)[0].shape == (1, 84, 84)
    vector.close()
    colour.close()
