"""Replay memories (chapter 70): every sampleable transition is checked against hand-made episodes.

Frames carry a code (lane, episode, time step), so a rebuilt stack can be compared with the
exact observation the fake environment produced, including zero padding at episode starts,
wrap-around of the circular lanes, interleaved lanes, n-step returns and the
termination/truncation distinction.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from agents.replay import Batch, FrameReplayMemory, ReplayMemory, SumTree

FRAME_SHAPE = (2, 2)


def code_frame(lane: int, episode: int, t: int) -> np.ndarray:
    """A frame that names where it came from (the last pixel is never 0 in a real frame)."""
    return np.array([[lane + 1, episode + 1], [t + 1, 200]], dtype=np.uint8)


@dataclass
class Episode:
    rewards: list[float]
    terminated: bool  # otherwise truncated

    @property
    def length(self) -> int:
        return len(self.rewards)


@dataclass
class FakeVectorEnv:
    """A vector env of stacked code frames with next-step or same-step auto-reset.

    ``padding`` is what a fresh stack holds before the first frame: "zero" (AtariVectorEnv,
    FrameStackObservation(padding_type="zero")) or "repeat" (FrameStackObservation's default).
    ``stack=None`` gives plain vector observations (lane, episode, t) for ReplayMemory.
    """

    n_envs: int
    seed: int
    stack: int | None = 4
    padding: str = "zero"
    min_length: int = 1
    max_length: int = 9
    episodes: list[list[Episode]] = field(default_factory=list)
    actions_taken: dict[tuple[int, int, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.episodes = [[] for _ in range(self.n_envs)]
        self.position = [(0, 0)] * self.n_envs  # (episode, t) of each lane's current obs
        for lane in range(self.n_envs):
            self._new_episode(lane)

    def _new_episode(self, lane: int) -> None:
        length = int(self.rng.integers(self.min_length, self.max_length + 1))
        rewards = self.rng.integers(-3, 4, size=length).astype(float).tolist()
        self.episodes[lane].append(Episode(rewards, terminated=bool(self.rng.random() < 0.5)))
        self.position[lane] = (len(self.episodes[lane]) - 1, 0)

    def observation(self, lane: int, episode: int, t: int) -> np.ndarray:
        if self.stack is None:
            return np.array([lane, episode, t], dtype=np.float32)
        frames = []
        for s in range(t - self.stack + 1, t + 1):
            if s >= 0:
                frames.append(code_frame(lane, episode, s))
            elif self.padding == "zero":
                frames.append(np.zeros(FRAME_SHAPE, dtype=np.uint8))
            else:
                frames.append(code_frame(lane, episode, 0))
        return np.stack(frames)

    def current(self) -> np.ndarray:
        lanes = range(self.n_envs)
        return np.stack([self.observation(lane, *self.position[lane]) for lane in lanes])

    def step_lane(self, lane: int) -> tuple[np.ndarray, float, bool, bool]:
        """Advance one lane by a real step; return its next obs (final if it ended)."""
        episode, t = self.position[lane]
        spec = self.episodes[lane][episode]
        reward = spec.rewards[t]
        self.position[lane] = (episode, t + 1)
        next_obs = self.observation(lane, episode, t + 1)
        ended = t + 1 == spec.length
        return next_obs, reward, ended and spec.terminated, ended and not spec.terminated


def run_next_step(env: FakeVectorEnv, memory, steps: int, check_every: int = 0, n_step: int = 1,
                  gamma: float = 0.99) -> SlotOracle:
    """Drive ``memory`` like a training loop on a next-step auto-reset env."""
    obs = env.current()
    waiting_reset = [False] * env.n_envs
    slots = SlotOracle(env)
    for step in range(steps):
        actions = env.rng.integers(0, 5, size=env.n_envs)
        next_obs = np.empty_like(obs)
        rewards = np.zeros(env.n_envs)
        terminated = np.zeros(env.n_envs, dtype=bool)
        truncated = np.zeros(env.n_envs, dtype=bool)
        for lane in range(env.n_envs):
            if waiting_reset[lane]:  # the env's reset step: action ignored, new first obs
                env._new_episode(lane)
                next_obs[lane] = env.observation(lane, *env.position[lane])
                waiting_reset[lane] = False
                slots.start(lane)
                continue
            env.actions_taken[(lane, *env.position[lane])] = int(actions[lane])
            next_obs[lane], rewards[lane], terminated[lane], truncated[lane] = env.step_lane(lane)
            slots.advance(lane)
            waiting_reset[lane] = bool(terminated[lane] or truncated[lane])
        memory.add(obs, actions, rewards, next_obs, terminated, truncated)
        obs = next_obs
        if check_every and (step % check_every == 0 or step == steps - 1):
            check_memory(env, memory, slots, n_step, gamma)
    return slots


class SlotOracle:
    """Which (episode, t) frames each lane of a memory must still hold: the spec, list-based.

    A lane stores, in order, the stack-1 padding frames and first frame of every episode, then
    one frame per step; only the last ``lane_capacity`` of them are kept.
    """

    def __init__(self, env: FakeVectorEnv) -> None:
        self.env = env
        self.pads = (env.stack or 1) - 1
        self.written: list[list[tuple[int, int]]] = [[] for _ in range(env.n_envs)]
        for lane in range(env.n_envs):
            self.start(lane)

    def start(self, lane: int) -> None:
        episode, _ = self.env.position[lane]
        self.written[lane] += [(episode, t) for t in range(-self.pads, 1)]

    def advance(self, lane: int) -> None:
        self.written[lane].append(self.env.position[lane])

    def expected(self, lane_capacity: int, n_step: int) -> set[tuple[int, int, int]]:
        """(lane, episode, t) of every transition that must be sampleable now."""
        keys = set()
        for lane, written in enumerate(self.written):
            kept = set(written[-lane_capacity:])
            everything = set(written)
            for episode, spec in enumerate(self.env.episodes[lane]):
                for t in range(spec.length):
                    future = (episode, t + min(n_step, spec.length - t))
                    if (episode, t - self.pads) in kept and future in everything:
                        keys.add((lane, episode, t))
        return keys


def expected_transition(env: FakeVectorEnv, lane: int, episode: int, t: int, n_step: int,
                        gamma: float) -> tuple[np.ndarray, float, np.ndarray, float]:
    spec = env.episodes[lane][episode]
    steps = min(n_step, spec.length - t)
    ret = sum(gamma**k * spec.rewards[t + k] for k in range(steps))
    ends_here = t + steps == spec.length
    discount = 0.0 if ends_here and spec.terminated else gamma**steps
    next_obs = env.observation(lane, episode, t + steps)
    return env.observation(lane, episode, t), ret, next_obs, discount


def decode(env: FakeVectorEnv, obs: np.ndarray) -> tuple[int, int, int]:
    """(lane, episode, t) of an observation from its newest frame / its vector."""
    if env.stack is None:
        return tuple(int(v) for v in obs)
    newest = obs[-1]
    return int(newest[0, 0]) - 1, int(newest[0, 1]) - 1, int(newest[1, 0]) - 1


def check_memory(env: FakeVectorEnv, memory, slots: SlotOracle, n_step: int, gamma: float) -> None:
    indices = memory.sampleable_indices()
    assert len(memory) == indices.size
    batch = memory.transitions(indices)
    seen = []
    for i in range(indices.size):
        key = decode(env, batch.obs[i])
        seen.append(key)
        obs, ret, next_obs, discount = expected_transition(env, *key, n_step, gamma)
        np.testing.assert_array_equal(batch.obs[i], obs)
        np.testing.assert_array_equal(batch.next_obs[i], next_obs)
        assert batch.returns[i] == pytest.approx(ret, rel=1e-6, abs=1e-6)
        assert batch.discounts[i] == pytest.approx(discount, rel=1e-6)
        assert batch.actions[i] == env.actions_taken[key]
    assert len(set(seen)) == len(seen), "a transition is stored twice"
    assert set(seen) == slots.expected(memory.lane_capacity, n_step)


@pytest.mark.parametrize(
    ("n_envs", "n_step", "capacity", "padding"),
    [(1, 1, 40, "zero"), (2, 3, 2 * 37, "zero"), (3, 2, 3 * 23, "repeat"), (2, 1, 10_000, "zero")],
)
def test_frame_memory_rebuilds_every_stack_exactly(n_envs, n_step, capacity, padding):
    gamma = 0.9
    env = FakeVectorEnv(n_envs=n_envs, seed=n_envs + 10 * n_step, padding=padding)
    memory = FrameReplayMemory(capacity, frame_shape=FRAME_SHAPE, stack=4, n_envs=n_envs,
                               gamma=gamma, n_step=n_step)
    slots = run_next_step(env, memory, steps=160, check_every=5, n_step=n_step, gamma=gamma)
    # The small memories have wrapped around several times; the large one never has.
    wrapped = min(len(written) for written in slots.written) > 2 * memory.lane_capacity
    assert wrapped == (capacity < 1000)
    assert sum(e.terminated for lane in env.episodes for e in lane) > 3  # both kinds of end
    assert sum(not e.terminated for lane in env.episodes for e in lane) > 3


@pytest.mark.parametrize(("n_envs", "n_step"), [(1, 1), (2, 3)])
def test_vector_memory_same_semantics(n_envs, n_step):
    gamma = 0.8
    env = FakeVectorEnv(n_envs=n_envs, seed=7, stack=None)
    memory = ReplayMemory(n_envs * 29, obs_shape=(3,), n_envs=n_envs, gamma=gamma, n_step=n_step)
    slots = run_next_step(env, memory, steps=150, check_every=3, n_step=n_step, gamma=gamma)
    assert min(len(written) for written in slots.written) > 2 * memory.lane_capacity


def test_same_step_mode_takes_first_obs_from_next_add():
    """Manual / same-step reset: the caller passes the final obs, then the new first obs."""
    env = FakeVectorEnv(n_envs=2, seed=3)
    memory = FrameReplayMemory(2 * 31, frame_shape=FRAME_SHAPE, n_envs=2, n_step=2, gamma=0.5,
                               autoreset_mode="same_step")
    slots = SlotOracle(env)
    obs = env.current()
    for _ in range(120):
        actions = env.rng.integers(0, 5, size=2)
        next_obs = np.empty_like(obs)
        rewards, terminated, truncated = np.zeros(2), np.zeros(2, bool), np.zeros(2, bool)
        following = np.empty_like(obs)
        for lane in range(2):
            env.actions_taken[(lane, *env.position[lane])] = int(actions[lane])
            next_obs[lane], rewards[lane], terminated[lane], truncated[lane] = env.step_lane(lane)
            slots.advance(lane)
            following[lane] = next_obs[lane]
            if terminated[lane] or truncated[lane]:
                env._new_episode(lane)
                slots.start(lane)
                following[lane] = env.observation(lane, *env.position[lane])
        memory.add(obs, actions, rewards, next_obs, terminated, truncated)
        obs = following
    check_memory(env, memory, slots, n_step=2, gamma=0.5)


def hand_episode(memory, rewards, terminated: bool) -> None:
    """Feed one episode to a 1-env vector memory whose obs at step t is [t]."""
    for t, reward in enumerate(rewards):
        last = t == len(rewards) - 1
        memory.add(np.array([[t]]), [1], [reward], np.array([[t + 1]]),
                   [last and terminated], [last and not terminated])


@pytest.mark.parametrize("terminated", [True, False])
def test_n_step_returns_and_discounts_by_hand(terminated):
    memory = ReplayMemory(50, obs_shape=(1,), gamma=0.5, n_step=3)
    hand_episode(memory, [1.0, 2.0, 3.0, 4.0], terminated)
    batch = memory.transitions(memory.sampleable_indices())
    order = np.argsort(batch.obs[:, 0])
    np.testing.assert_array_equal(batch.obs[order, 0], [0, 1, 2, 3])
    # t=0: 1 + .5*2 + .25*3; t=1: 2 + .5*3 + .25*4; t=2: 3 + .5*4; t=3: 4
    np.testing.assert_allclose(batch.returns[order], [2.75, 4.5, 5.0, 4.0])
    np.testing.assert_array_equal(batch.next_obs[order, 0], [3, 4, 4, 4])
    expected = [0.125, 0.0, 0.0, 0.0] if terminated else [0.125, 0.125, 0.25, 0.5]
    np.testing.assert_allclose(batch.discounts[order], expected)


def test_incomplete_n_step_window_is_not_sampleable_yet():
    memory = ReplayMemory(50, obs_shape=(1,), n_step=3)
    memory.add(np.array([[0]]), [0], [1.0], np.array([[1]]), [False], [False])
    memory.add(np.array([[1]]), [0], [1.0], np.array([[2]]), [False], [False])
    assert len(memory) == 0
    with pytest.raises(ValueError, match="no complete transition"):
        memory.sample(4)
    memory.add(np.array([[2]]), [0], [1.0], np.array([[3]]), [False], [False])
    assert len(memory) == 1
    assert memory.sample(1).obs[0, 0] == 0


def test_wrapped_index_with_overwritten_history_is_not_sampleable():
    memory = FrameReplayMemory(20, frame_shape=FRAME_SHAPE, stack=4)
    env = FakeVectorEnv(n_envs=1, seed=0, min_length=100, max_length=100)  # one long episode
    run_next_step(env, memory, steps=30)
    # 4 start slots + 30 frames written into 20 slots: only steps whose 4-frame history is
    # among the last 20 frames survive, i.e. t = 30-20+3+1 ... 29 (t=30 has no next yet).
    keys = sorted(decode(env, o)[2] for o in memory.transitions(memory.sampleable_indices()).obs)
    written_times = list(range(-3, 31))[-20:]
    assert keys == list(range(written_times[0] + 3, 30))


def test_sum_tree_sums_and_finds():
    tree = SumTree(5)
    tree.set(np.array([0, 1, 2, 3, 4]), np.array([1.0, 0.0, 2.0, 3.0, 4.0]))
    assert tree.total == 10.0
    np.testing.assert_array_equal(tree.find(np.array([0.0, 0.99, 1.0, 2.5, 3.0, 5.9, 6.0, 9.99])),
                                  [0, 0, 2, 2, 3, 3, 4, 4])
    tree.set(np.array([4, 4]), np.array([7.0, 0.5]))  # last value wins
    assert tree.total == pytest.approx(6.5)


def filled_prioritized(alpha: float = 1.0, seed: int = 0) -> FrameReplayMemory:
    memory = FrameReplayMemory(200, frame_shape=FRAME_SHAPE, n_envs=2, prioritized=True,
                               alpha=alpha, beta=0.5, eps=0.0, seed=seed, n_step=2)
    env = FakeVectorEnv(n_envs=2, seed=seed + 1)
    run_next_step(env, memory, steps=40)
    return memory


def test_prioritized_sampling_follows_priorities():
    memory = filled_prioritized()
    indices = memory.sampleable_indices()
    assert indices.size > 20
    # New transitions start at the max priority (1.0 before any update).
    np.testing.assert_array_equal(memory.priorities(indices), 1.0)
    priorities = np.arange(1, indices.size + 1, dtype=float)
    memory.update_priorities(indices, priorities)
    counts = Counter()
    draws = 0
    for _ in range(300):
        batch = memory.sample(64)
        counts.update(batch.indices.tolist())
        draws += 64
        # IS weights: (N * P)^-beta normalised by the batch's largest weight.
        probs = memory.priorities(batch.indices) / priorities.sum()
        raw = (len(memory) * probs) ** -0.5
        np.testing.assert_allclose(batch.weights, raw / raw.max(), rtol=1e-5)
    frequencies = np.array([counts[i] for i in indices]) / draws
    expected = priorities / priorities.sum()
    # Stratified draws: the error is well below the multinomial sd of ~0.0015 per index.
    assert np.max(np.abs(frequencies - expected)) < 0.005
    assert set(counts) <= set(indices.tolist())


def test_update_priorities_changes_sampling_and_max_priority():
    memory = filled_prioritized(alpha=0.5)
    indices = memory.sampleable_indices()
    memory.update_priorities(indices, np.full(indices.size, 1e-4))
    memory.update_priorities(indices[:1], [100.0])
    batch = memory.sample(64)
    assert (batch.indices == indices[0]).mean() > 0.9
    assert memory.priorities(indices[:1])[0] == pytest.approx((100.0 + 0.0) ** 0.5)
    # The next new transition gets the largest priority seen.
    before = set(memory.sampleable_indices().tolist())
    obs = memory.transitions(indices[:2]).next_obs  # any valid-looking obs
    memory.add(obs, [0, 0], [0.0, 0.0], obs, [False, False], [False, False])
    memory.add(obs, [0, 0], [0.0, 0.0], obs, [True, True], [False, False])
    new = sorted(set(memory.sampleable_indices().tolist()) - before)
    assert new and np.all(memory.priorities(np.array(new)) == pytest.approx(10.0))


def test_uniform_memory_weights_are_one_and_update_is_noop():
    memory = FrameReplayMemory(100, frame_shape=FRAME_SHAPE)
    run_next_step(FakeVectorEnv(n_envs=1, seed=5), memory, steps=30)
    batch = memory.sample(16)
    np.testing.assert_array_equal(batch.weights, 1.0)
    before = memory.priorities(memory.sampleable_indices()).copy()
    memory.update_priorities(batch.indices, np.full(16, 9.0))
    np.testing.assert_array_equal(memory.priorities(memory.sampleable_indices()), before)


@pytest.mark.parametrize("adopt", [False, True])
def test_state_dict_round_trip_through_safetensors_gives_identical_samples(tmp_path, adopt):
    memory = filled_prioritized(seed=4)
    memory.update_priorities(memory.sampleable_indices(), np.linspace(0.1, 3.0, len(memory)))
    state = memory.state_dict()
    arrays = {k: np.ascontiguousarray(v) for k, v in state.items() if isinstance(v, np.ndarray)}
    scalars = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
    save_file(arrays, str(tmp_path / "replay.safetensors"))
    (tmp_path / "replay.json").write_text(json.dumps(scalars))
    expected = [memory.sample(32) for _ in range(3)]

    restored = FrameReplayMemory(200, frame_shape=FRAME_SHAPE, n_envs=2, prioritized=True,
                                 alpha=1.0, beta=0.5, eps=0.0, seed=999, n_step=2)
    loaded = {k: np.array(v) for k, v in load_file(str(tmp_path / "replay.safetensors")).items()}
    restored.load_state_dict({**loaded, **json.loads((tmp_path / "replay.json").read_text())}, adopt=adopt)
    # adopting keeps the loaded frames (a 1M memory is not held twice); copying does not alias
    assert np.shares_memory(restored.state_dict()["frames"], loaded["frames"]) == adopt
    assert len(restored) == len(memory)
    for want in expected:
        got = restored.sample(32)
        for name in Batch._fields:
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    # Both keep adding identically after the restore.
    obs = memory.transitions(memory.sampleable_indices()[:2]).obs
    for m in (memory, restored):
        m.add(obs, [1, 2], [1.0, -1.0], obs, [False, True], [False, False])
    np.testing.assert_array_equal(memory.sampleable_indices(), restored.sampleable_indices())

    wrong = FrameReplayMemory(100, frame_shape=FRAME_SHAPE, n_envs=2, prioritized=True, n_step=2)
    with pytest.raises(ValueError, match="capacity"):
        wrong.load_state_dict(state)


def test_frame_memory_bytes_per_transition_about_7_kb():
    memory = FrameReplayMemory(100_000)  # np.zeros: pages are only touched when written
    assert memory.capacity == 100_000
    assert 84 * 84 <= memory.bytes_per_transition <= 7_200
    assert memory.nbytes == pytest.approx(memory.bytes_per_transition * memory.capacity)


def test_single_env_accepts_unbatched_arrays():
    memory = ReplayMemory(20, obs_shape=3, n_step=1)
    memory.add(np.zeros(3), 1, 0.5, np.ones(3), False, True)
    batch = memory.sample(2)
    np.testing.assert_array_equal(batch.obs, np.zeros((2, 3)))
    np.testing.assert_array_equal(batch.next_obs, np.ones((2, 3)))
    np.testing.assert_allclose(batch.discounts, 0.99)  # truncation still bootstraps


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="capacity .* too small"):
        FrameReplayMemory(30, n_envs=2)
    with pytest.raises(ValueError, match="autoreset_mode"):
        ReplayMemory(100, obs_shape=(2,), autoreset_mode="sometimes")
    with pytest.raises(ValueError, match="gamma"):
        ReplayMemory(100, obs_shape=(2,), gamma=1.5)
    memory = ReplayMemory(100, obs_shape=(2,), n_envs=2)
    with pytest.raises(ValueError, match=r"obs must have shape \(2, 2\)"):
        memory.add(np.zeros((3, 2)), [0, 0], [0, 0], np.zeros((2, 2)), [0, 0], [0, 0])
    with pytest.raises(ValueError, match="actions must have 2 entries"):
        memory.add(np.zeros((2, 2)), [0], [0, 0], np.zeros((2, 2)), [0, 0], [0, 0])
