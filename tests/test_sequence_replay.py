"""The sequence replay of the agents with memory (agents/replay/sequences.py): windows never
cross an episode unmasked, overlap by half, carry the stored state of their burn-in start,
n-step targets as the brute force gives them, R2D2 priorities, memory cost."""

from __future__ import annotations

import numpy as np
import pytest

from agents.replay import ReplayMemory, SequenceReplay, sequence_priority

GAMMA = 0.9


class Stream:
    """Lanes of scripted episodes under next-step autoreset. Observation (episode id, step);
    reward 100 * id + step; the recurrent "state" before step k is (id, k, -k)."""

    def __init__(self, n_envs: int, seed: int = 0, longest: int = 30):
        self.rng = np.random.default_rng(seed)
        self.n, self.longest = n_envs, longest
        self.next_id = 0
        self.length, self.terminates = {}, {}
        self.episode = np.array([self._new() for _ in range(n_envs)])
        self.step_of = np.zeros(n_envs, dtype=int)
        self.ended = np.zeros(n_envs, dtype=bool)

    def _new(self) -> int:
        episode = self.next_id
        self.next_id += 1
        self.length[episode] = int(self.rng.integers(1, self.longest + 1))
        self.terminates[episode] = bool(self.rng.random() < 0.5)
        return episode

    def obs(self) -> np.ndarray:
        return np.stack([self.episode, self.step_of], axis=1).astype(np.float32)

    def states(self) -> np.ndarray:
        return np.stack([self.episode, self.step_of, -self.step_of], axis=1).astype(np.float32)

    def step(self):
        rewards = np.zeros(self.n, dtype=np.float32)
        terminated, truncated = np.zeros(self.n, bool), np.zeros(self.n, bool)
        for i in range(self.n):
            if self.ended[i]:  # the reset step: the new episode's first observation
                self.episode[i], self.step_of[i], self.ended[i] = self._new(), 0, False
                continue
            rewards[i] = 100 * self.episode[i] + self.step_of[i]
            self.step_of[i] += 1
            if self.step_of[i] == self.length[self.episode[i]]:
                self.ended[i] = True
                terminated[i] = self.terminates[self.episode[i]]
                truncated[i] = not terminated[i]
        return self.obs(), rewards, terminated, truncated


def fill(memory: SequenceReplay, stream: Stream, steps: int) -> None:
    obs = stream.obs()
    for _ in range(steps):
        states = stream.states()
        actions = (obs[:, 1] % 3).astype(int)
        next_obs, rewards, terminated, truncated = stream.step()
        memory.add(obs, actions, rewards, next_obs, terminated, truncated, states=states)
        obs = next_obs


def check_window(memory: SequenceReplay, stream: Stream, batch, row: int, n_step: int) -> tuple[int, list[int]]:
    """Assert every invariant of one sampled window; returns (episode, loss steps)."""
    obs, burn = batch.obs[row], int(batch.burn_in[row])
    episode, first = int(obs[0, 0]), int(obs[0, 1])
    key_step = first + burn
    assert key_step % memory.period == 0  # sequences start every L/2 steps of an episode
    assert burn == min(memory.burn_in, key_step)
    length = stream.length[episode]
    acted = np.flatnonzero(batch.has_action[row])
    # the window reads one episode, step after step, up to its final observation (or up to the
    # newest stored one: what lies beyond is not written yet, and no target reads it)
    assert np.array_equal(acted, np.arange(acted.size))
    running = episode in stream.episode
    stored = (stream.step_of[list(stream.episode).index(episode)] if running else length) + 1 - first
    inside = min(acted.size + 1, memory.window, stored)
    assert np.all(obs[:inside, 0] == episode)
    assert np.array_equal(obs[:inside, 1], first + np.arange(inside))
    loss = np.flatnonzero(batch.loss_mask[row])
    assert np.array_equal(loss, np.arange(burn, min(burn + memory.sequence_length, length - first)))
    for k in loss:  # n-step targets against the brute force
        step = first + k
        m = min(n_step, length - step)
        expected = sum(GAMMA**i * (100 * episode + step + i) for i in range(m))
        assert batch.returns[row, k] == pytest.approx(expected, rel=1e-5)
        stops = stream.terminates[episode] and step + m == length
        assert batch.discounts[row, k] == pytest.approx(0.0 if stops else GAMMA**m)
        assert tuple(obs[batch.bootstrap[row, k]]) == (episode, step + m)
        assert batch.actions[row, k] == step % 3
    # the state at the window's start: the actor's, or zeros at the episode's start
    expected_state = [0, 0, 0] if first == 0 else [episode, first, -first]
    assert batch.states[row].tolist() == expected_state
    return episode, [first + k for k in loss]


@pytest.mark.parametrize("n_step", [1, 3])
def test_every_window_reads_one_episode_with_its_stored_state_and_brute_force_targets(n_step):
    stream = Stream(n_envs=2)
    memory = SequenceReplay(4000, obs_shape=(2,), sequence_length=8, burn_in=8, state_size=3, n_envs=2,
                            gamma=GAMMA, n_step=n_step)
    fill(memory, stream, 600)
    keys = memory.sampleable_indices()
    batch = memory.transitions(keys)
    covered: dict[int, list[int]] = {}
    for row in range(keys.size):
        episode, steps = check_window(memory, stream, batch, row, n_step)
        covered.setdefault(episode, []).extend(steps)
    finished = [e for e in covered if e < stream.episode.min()]
    assert len(finished) > 20
    for episode in finished:  # overlapping by half: every step is trained in one or two sequences
        counts = np.bincount(covered[episode], minlength=stream.length[episode])
        assert counts.size == stream.length[episode] and counts.min() >= 1 and counts.max() <= 2


def test_a_small_memory_that_wraps_around_keeps_only_intact_windows():
    stream = Stream(n_envs=3, seed=1, longest=40)
    memory = SequenceReplay(3 * 120, obs_shape=(2,), sequence_length=10, burn_in=10, state_size=3, n_envs=3,
                            gamma=GAMMA, n_step=2, prioritized=True)
    for _ in range(8):  # many laps of each lane
        fill(memory, stream, 150)
        keys = memory.sampleable_indices()
        assert keys.size > 0
        batch = memory.transitions(keys)
        for row in range(keys.size):
            check_window(memory, stream, batch, row, 2)
        assert np.all(memory.priorities(keys) > 0)
    sampled = memory.sample(16)
    assert sampled.obs.shape == (16, memory.window, 2) and np.all(sampled.weights <= 1.0)


def test_an_unfinished_episode_offers_a_sequence_only_once_its_targets_are_stored():
    stream = Stream(n_envs=1, seed=0)
    stream.length[0], stream.terminates[0] = 1000, False
    memory = SequenceReplay(2000, obs_shape=(2,), sequence_length=4, burn_in=2, n_envs=1, gamma=GAMMA, n_step=3)
    fill(memory, stream, 5)  # steps 0..4 taken, observation 5 stored: the key at 0 needs obs 6
    assert len(memory) == 0
    fill(memory, stream, 1)
    assert memory.sampleable_indices().size == 1
    fill(memory, stream, 2)  # the next key (step 2) needs observation 8
    assert len(memory) == 2


def test_r2d2_priority_mixes_max_and_mean_of_the_masked_steps():
    errors = np.array([[1.0, -3.0, 2.0, 100.0], [0.5, 0.5, 0.5, 0.5]])
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    priority = sequence_priority(errors, mask, eta=0.9)
    assert priority[0] == pytest.approx(0.9 * 3.0 + 0.1 * 2.0)
    assert priority[1] == pytest.approx(0.5)


def test_prioritized_sampling_prefers_the_sequences_with_large_errors():
    stream = Stream(n_envs=1, seed=3)
    memory = SequenceReplay(4000, obs_shape=(2,), sequence_length=6, burn_in=3, n_envs=1, gamma=GAMMA,
                            prioritized=True, alpha=1.0, beta=1.0)
    fill(memory, stream, 500)
    keys = memory.sampleable_indices()
    favourite = keys[7]
    memory.update_priorities(keys, np.where(keys == favourite, 1000.0, 1.0))
    drawn = memory.sample(256)
    assert np.mean(drawn.indices == favourite) > 0.5
    assert drawn.weights[drawn.indices == favourite].min() < drawn.weights[drawn.indices != favourite].max()


def test_stored_state_round_trips_through_state_dict():
    stream = Stream(n_envs=2, seed=4)
    memory = SequenceReplay(1000, obs_shape=(2,), sequence_length=8, burn_in=4, state_size=3, n_envs=2, gamma=GAMMA)
    fill(memory, stream, 300)
    twin = SequenceReplay(1000, obs_shape=(2,), sequence_length=8, burn_in=4, state_size=3, n_envs=2, gamma=GAMMA)
    twin.load_state_dict(memory.state_dict())
    keys = memory.sampleable_indices()
    a, b = memory.transitions(keys), twin.transitions(keys)
    for name in a._fields:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_frames_are_stored_once_however_many_sequences_overlap():
    memory = SequenceReplay(2000, obs_shape=(1, 84, 84), frame_shape=(84, 84), obs_dtype=np.uint8,
                            sequence_length=20, burn_in=10, n_envs=1)
    frame = np.full((1, 1, 84, 84), 7, dtype=np.uint8)
    for step in range(300):
        memory.add(frame, [0], [0.0], frame + 1, [step % 50 == 49], [False])
    assert memory.bytes_per_transition < 84 * 84 + 64  # one frame per stored step, whatever the overlap
    batch = memory.sample(4)
    assert batch.obs.shape == (4, memory.window, 1, 84, 84) and batch.obs.dtype == np.uint8


def test_memory_per_stored_step_against_the_flat_replay():
    flat = ReplayMemory(100_000, (2,))
    stateless = SequenceReplay(100_000, obs_shape=(2,), sequence_length=20, burn_in=10)
    with_lstm = SequenceReplay(100_000, obs_shape=(2,), sequence_length=20, burn_in=10, state_size=128)
    ratio = stateless.bytes_per_transition / flat.bytes_per_transition
    assert ratio <= 1.2  # the same fields, plus 2 bytes of burn-in length
    cost = with_lstm.memory_cost()
    assert cost["state_bytes_per_step"] == pytest.approx(4 * 128 / 10, rel=0.01)


@pytest.mark.parametrize("options, message", [({"sequence_length": 7}, "even"),
                                              ({"burn_in": 5}, "multiple"),
                                              ({"capacity": 40}, "too small")])
def test_bad_settings_say_what_is_valid(options, message):
    settings = dict(capacity=1000, obs_shape=(2,), sequence_length=8, burn_in=4) | options
    with pytest.raises(ValueError, match=message):
        SequenceReplay(**settings)
