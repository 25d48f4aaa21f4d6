"""Atari Boxing pipeline (chapters 69-70): the vector env, the colour env and the frame replay.

The key check feeds the vector env's own transitions into FrameReplayMemory and asserts that
every stored transition rebuilds the env's stacked observations exactly, across short capped
episodes (next-step auto-reset) in two interleaved sub-environments.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import envs
from agents.replay import FrameReplayMemory
from envs.atari import make_boxing_colour, make_boxing_vector


def random_actions(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 18, size=n)


def test_vector_env_shapes_and_a_few_hundred_random_steps():
    env = make_boxing_vector(num_envs=2, protocol="machado", seed=1)
    assert env.autoreset_mode == AutoresetMode.NEXT_STEP
    assert env.single_action_space.n == 18
    obs, info = env.reset()
    assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8
    # A fresh stack is three zero frames and the first real frame.
    assert not obs[:, :3].any() and obs[:, 3].mean() > 50
    rng = np.random.default_rng(0)
    rewards = []
    for _ in range(300):
        obs, reward, terminated, truncated, info = env.step(random_actions(rng, 2))
        assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8
        assert reward.shape == terminated.shape == truncated.shape == (2,)
        rewards.append(reward)
    rewards = np.concatenate(rewards)
    assert set(np.unique(rewards).tolist()) <= {-2, -1, 0, 1, 2}
    assert np.any(rewards != 0)  # a random boxer lands and takes punches
    env.close()


def test_nature_clipping_is_the_sign_of_the_raw_reward():
    """Same seed and actions, deterministic emulator: clipped rewards = sign(raw rewards)."""
    clipped_env = make_boxing_vector(num_envs=2, protocol="nature", seed=3)
    raw_env = make_boxing_vector(num_envs=2, protocol="nature", seed=3, clip_rewards=False)
    assert clipped_env.clip_rewards and not raw_env.clip_rewards
    clipped_env.reset()
    raw_env.reset()
    rng = np.random.default_rng(1)
    clipped, raw = [], []
    for _ in range(300):
        actions = random_actions(rng, 2)
        clipped.append(clipped_env.step(actions)[1])
        raw.append(raw_env.step(actions)[1])
    clipped, raw = np.concatenate(clipped), np.concatenate(raw)
    assert np.any(raw != 0)
    assert set(np.unique(clipped).tolist()) <= {-1, 0, 1}
    np.testing.assert_array_equal(clipped, np.sign(raw))
    clipped_env.close()
    raw_env.close()


def test_protocols_differ_in_sticky_actions():
    machado = make_boxing_vector(protocol="machado")
    nature = make_boxing_vector(protocol="nature")
    assert machado.repeat_action_probability == 0.25 and not machado.clip_rewards
    assert nature.repeat_action_probability == 0.0 and nature.clip_rewards
    assert machado.single_action_space.n == nature.single_action_space.n == 18
    for protocol, probability in (("machado", 0.25), ("nature", 0.0)):
        colour = make_boxing_colour(protocol=protocol)
        assert colour.unwrapped.ale.getFloat("repeat_action_probability") == probability
        colour.close()
    with pytest.raises(ValueError, match="unknown Atari protocol 'deepmind'.*machado"):
        make_boxing_vector(protocol="deepmind")
    with pytest.raises(ValueError, match="num_envs"):
        make_boxing_vector(num_envs=0)


def test_same_seed_same_games():
    first = make_boxing_vector(num_envs=2, seed=5)
    second = make_boxing_vector(num_envs=2, seed=5)
    np.testing.assert_array_equal(first.reset()[0], second.reset()[0])
    rng = np.random.default_rng(2)
    for _ in range(50):
        actions = random_actions(rng, 2)
        np.testing.assert_array_equal(first.step(actions)[0], second.step(actions)[0])


def test_colour_env_renders_colour_and_sees_the_vector_input():
    colour = make_boxing_colour(protocol="machado", seed=0)
    obs, _ = colour.reset()
    frame = colour.render()
    assert frame.shape == (210, 160, 3) and frame.dtype == np.uint8
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 3  # really colour, not grey
    vector = make_boxing_vector(num_envs=1, protocol="machado", seed=0)
    vector_obs, _ = vector.reset()
    assert obs.shape == vector_obs.shape[1:] == (4, 84, 84)
    assert obs.dtype == vector_obs.dtype == np.uint8
    assert not obs[:3].any() and not vector_obs[0, :3].any()  # same zero padding
    assert abs(float(obs[3].mean()) - float(vector_obs[0, 3].mean())) < 2.0
    assert float(obs[3].std()) == pytest.approx(float(vector_obs[0, 3].std()), rel=0.05)
    colour.close()
    vector.close()


def test_colour_and_vector_paths_are_bit_identical_without_randomness():
    """No no-ops, no sticky actions: the same actions give the very same observations."""
    colour = make_boxing_colour(protocol="nature", noop_max=0, seed=0)
    vector = make_boxing_vector(num_envs=1, protocol="nature", noop_max=0, seed=0,
                                clip_rewards=False)
    colour_obs, _ = colour.reset()
    vector_obs, _ = vector.reset()
    np.testing.assert_array_equal(colour_obs, vector_obs[0])
    rng = np.random.default_rng(3)
    for _ in range(120):
        action = int(rng.integers(18))
        colour_obs, colour_reward, *_ = colour.step(action)
        vector_obs, vector_reward, *_ = vector.step(np.array([action]))
        np.testing.assert_array_equal(colour_obs, vector_obs[0])
        assert colour_reward == vector_reward[0]
    colour.close()
    vector.close()


def test_registry_names():
    assert {"boxing", "boxing-colour"} <= set(envs.available())
    env = envs.make("boxing", num_envs=2, protocol="nature")
    assert env.num_envs == 2 and env.protocol.name == "nature"
    env.close()


def n_step_target(rewards: list[float], ends: list[tuple[bool, bool]], t: int, n_step: int,
                  gamma: float) -> tuple[float, int, float]:
    """(return, steps taken, discount) of the transition at t of one recorded episode."""
    ret, steps = 0.0, 0
    for k in range(n_step):
        ret += gamma**k * rewards[t + k]
        steps += 1
        terminated, truncated = ends[t + k]
        if terminated or truncated:
            return ret, steps, 0.0 if terminated else gamma**steps
    return ret, steps, gamma**steps


@pytest.mark.parametrize("n_step", [1, 3])
def test_frame_replay_reproduces_the_vector_envs_observations(n_step):
    """The key correctness check of the Atari pipeline (see the module docstring)."""
    gamma = 0.9
    # 100 emulator frames = 25 agent steps per episode: many episode boundaries in 200 steps.
    env = make_boxing_vector(num_envs=2, protocol="machado", seed=11, max_episode_frames=100)
    memory = FrameReplayMemory(20_000, n_envs=2, gamma=gamma, n_step=n_step,
                               autoreset_mode=env.autoreset_mode)
    obs, _ = env.reset()
    rng = np.random.default_rng(4)
    # Per lane, the episodes as the env produced them: observations, actions, rewards, ends.
    def new_episode(first_obs: np.ndarray) -> dict[str, list]:
        return {"obs": [first_obs], "actions": [], "rewards": [], "ends": []}

    episodes = [[new_episode(obs[lane])] for lane in range(2)]
    waiting_reset = np.zeros(2, dtype=bool)
    for _ in range(200):
        actions = random_actions(rng, 2)
        next_obs, rewards, terminated, truncated, _ = env.step(actions)
        memory.add(obs, actions, rewards, next_obs, terminated, truncated)
        for lane in range(2):
            if waiting_reset[lane]:
                episodes[lane].append(new_episode(next_obs[lane]))
                continue
            episode = episodes[lane][-1]
            episode["obs"].append(next_obs[lane])
            episode["actions"].append(int(actions[lane]))
            episode["rewards"].append(float(rewards[lane]))
            episode["ends"].append((bool(terminated[lane]), bool(truncated[lane])))
        waiting_reset = terminated | truncated
        obs = next_obs
    env.close()
    assert sum(len(lane) for lane in episodes) >= 12

    expected = Counter()
    for lane_episodes in episodes:
        for episode in lane_episodes:
            length = len(episode["actions"])
            ended = length > 0 and any(episode["ends"][-1])
            for t in range(length):
                if t + n_step > length and not ended:
                    continue  # its n-step future is not there yet
                ret, steps, discount = n_step_target(episode["rewards"], episode["ends"], t,
                                                     n_step, gamma)
                expected[(episode["obs"][t].tobytes(), episode["actions"][t], round(ret, 4),
                          episode["obs"][t + steps].tobytes(), round(discount, 4))] += 1

    batch = memory.transitions(memory.sampleable_indices())
    stored = Counter(
        (batch.obs[i].tobytes(), int(batch.actions[i]), round(float(batch.returns[i]), 4),
         batch.next_obs[i].tobytes(), round(float(batch.discounts[i]), 4))
        for i in range(len(batch.indices))
    )
    assert len(memory) == sum(expected.values()) > 350
    assert stored == expected
