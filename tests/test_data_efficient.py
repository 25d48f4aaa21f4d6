"""The data-efficient Atari ingredients of the DQN (issue 25), each on its own: C51's projection,
random shifts, BBF's n/gamma annealing, the EMA target, shrink-and-perturb resets, the replay
ratio and AdamW."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import envs
import nets
from agents.algorithms.augment import random_shift
from agents.algorithms.c51 import distributional_loss, project_distribution
from agents.algorithms.dqn import DQNAgent, DQNConfig
from agents.algorithms.resets import fresh_network, is_head_parameter, reset_seed
from agents.bench.ingredients import INGREDIENTS, measure_ingredients
from agents.replay import Batch, ReplayMemory, future_steps
from agents.runner import resolve_config
from agents.schedules import anneal_horizon_and_discount

SUPPORT5 = torch.linspace(-2.0, 2.0, 5)  # atoms -2, -1, 0, 1, 2: spacing 1


def _project(probs, reward, discount):
    return project_distribution(torch.tensor([probs]), torch.tensor([reward]), torch.tensor([discount]),
                                SUPPORT5)[0]


# -- C51 -------------------------------------------------------------------------------------
def test_c51_projection_between_atoms_by_hand():
    # r = 0.3, gamma^n = 0.5: the atoms move to -0.7, -0.2, 0.3, 0.8, 1.3.
    # -0.7 (p .1) -> .07 on -1, .03 on 0;  -0.2 (p .2) -> .04 on -1, .16 on 0;
    # 0.3 (p .3) -> .21 on 0, .09 on 1;  0.8 (p .4) -> .08 on 0, .32 on 1
    projected = _project([0.1, 0.2, 0.3, 0.4, 0.0], 0.3, 0.5)
    assert projected.tolist() == pytest.approx([0.0, 0.11, 0.48, 0.41, 0.0])


def test_c51_projection_clamps_beyond_the_support():
    # r = 1.5, gamma^n = 1: -0.5, 0.5, 1.5 split halfway; 2.5 and 3.5 are clamped onto 2
    projected = _project([0.2] * 5, 1.5, 1.0)
    assert projected.tolist() == pytest.approx([0.0, 0.1, 0.2, 0.2, 0.5])


def test_c51_projection_terminal_puts_all_mass_at_the_reward():
    for reward, expected in ((0.5, [0, 0, 0.5, 0.5, 0]), (1.0, [0, 0, 0, 1, 0]), (-3.0, [1, 0, 0, 0, 0])):
        projected = _project([0.1, 0.2, 0.3, 0.4, 0.0], reward, 0.0)
        assert projected.tolist() == pytest.approx(expected)


def test_c51_loss_is_the_cross_entropy_to_the_projection_of_the_chosen_next_action():
    online = torch.log_softmax(torch.randn(1, 2, 5, generator=torch.Generator().manual_seed(0)), -1)
    target = torch.zeros(1, 2, 5)
    target[0, 0, 2] = 1.0  # action 0: all mass at 0 (Q 0); action 1: all at 2 (Q 2)
    target[0, 1, 4] = 1.0
    returns, discounts = torch.tensor([0.5]), torch.tensor([0.5])
    for next_online_q, moved_to in ((None, [0, 0, 0, 0.5, 0.5]),  # target picks action 1: 0.5 + 1 = 1.5
                                    (torch.tensor([[1.0, 0.0]]), [0, 0, 0.5, 0.5, 0])):  # online picks 0
        loss, q = distributional_loss(online, target, torch.tensor([1]), next_online_q, returns, discounts,
                                      SUPPORT5)
        assert float(loss[0]) == pytest.approx(float(-(torch.tensor(moved_to) * online[0, 1]).sum()))
        assert float(q[0]) == pytest.approx(float((online[0, 1].exp() * SUPPORT5).sum()))


@pytest.mark.parametrize("dueling", [False, True])
def test_distributional_head_gives_the_mean_return_as_q(dueling):
    net = nets.build("nature_cnn", head="distributional", n_outputs=3, in_channels=2,
                     head_options={"atoms": 11, "v_min": -5, "v_max": 5, "dueling": dueling})
    x = torch.randint(0, 255, (4, 2, 84, 84), dtype=torch.uint8)
    log_probs = net.head.log_probs(net.features(x))
    assert log_probs.shape == (4, 3, 11)
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(4, 3))
    assert torch.allclose(net(x), (log_probs.exp() * torch.linspace(-5, 5, 11)).sum(-1), atol=1e-6)


@pytest.mark.parametrize("double,dueling", [(False, False), (True, True)])
def test_distributional_agent_learns_a_fixed_return(double, dueling):
    net = nets.build("mlp", sizes=[2, 16], activation="relu", head="distributional", n_outputs=2,
                     head_options={"atoms": 11, "v_min": -5, "v_max": 5, "dueling": dueling})
    agent = DQNAgent(net, 2, DQNConfig(distributional=True, atoms=11, v_min=-5, v_max=5, double=double,
                                       dueling=dueling, lr=1e-2))
    batch = Batch(np.ones((8, 2), np.float32), np.zeros(8, np.int64), np.full(8, 1.0, np.float32),
                  np.ones((8, 2), np.float32), np.zeros(8, np.float32), np.ones(8, np.float32), np.arange(8))
    first = agent.learn(batch)["td_loss"]
    for _ in range(200):
        last = agent.learn(batch)
    assert last["td_loss"] < 0.05 < first  # cross-entropy to a one-atom target (reward 1, terminal)
    assert last["q_values"] == pytest.approx(1.0, abs=0.05)


def test_distributional_needs_a_distributional_head():
    with pytest.raises(ValueError, match="distributional head"):
        DQNAgent(nets.build("mlp", sizes=[2, 4], head="q", n_outputs=2), 2, DQNConfig(distributional=True))


# -- random shifts (DrQ) -----------------------------------------------------------------------
def _images(batch=16, size=12):
    image = np.arange(size * size).reshape(size, size) % 251
    return np.ascontiguousarray(np.broadcast_to(image.astype(np.uint8), (batch, 3, size, size)))


def test_random_shift_keeps_shape_and_dtype_and_pad_zero_is_identity():
    images = _images()
    shifted = random_shift(images, 4, np.random.default_rng(0))
    assert shifted.shape == images.shape and shifted.dtype == np.uint8
    assert random_shift(images, 0, np.random.default_rng(0)) is images


def test_random_shift_is_a_replicate_pad_and_crop_with_its_own_offset_per_sample():
    images, pad = _images(), 4
    shifted = random_shift(images, pad, np.random.default_rng(3))
    offsets = np.random.default_rng(3).integers(-pad, pad + 1, size=(len(images), 2))  # the same draws
    padded = F.pad(torch.as_tensor(images).float(), (pad,) * 4, mode="replicate")  # torch's replicate pad
    size = images.shape[-1]
    for i, (dy, dx) in enumerate(offsets):
        crop = padded[i, :, pad + dy:pad + dy + size, pad + dx:pad + dx + size]
        assert torch.equal(torch.as_tensor(shifted[i]).float(), crop)
    distinct = {tuple(o) for o in offsets}
    assert len(distinct) > 8  # 16 samples, 81 possible shifts: each sample draws its own
    assert len({shifted[i].tobytes() for i in range(len(images))}) == len(distinct)
    assert np.array_equal(shifted[:, 0], shifted[:, 2])  # one shift for all frames of a stack


# -- BBF's annealing of n and gamma ------------------------------------------------------------
def test_n_and_gamma_anneal_geometrically_over_the_stated_updates():
    anneal = lambda t: anneal_horizon_and_discount(t, 10_000, 10, 3, 0.97, 0.997)  # noqa: E731
    assert anneal(0) == (10, pytest.approx(0.97))
    n, gamma = anneal(5_000)  # halfway in log space: n = sqrt(10 * 3), 1 - gamma = sqrt(.03 * .003)
    assert n == round(30 ** 0.5) == 5 and gamma == pytest.approx(1 - (0.03 * 0.003) ** 0.5)
    assert anneal(10_000) == (3, pytest.approx(0.997)) == anneal(50_000)


def test_replay_horizon_sums_fewer_steps_than_it_keeps():
    memory = ReplayMemory(200, (1,), n_step=10, gamma=0.5)
    for t in range(20):
        memory.add(np.array([[t]], np.float32), [0], [1.0], np.array([[t + 1]], np.float32), [False], [False])
    memory.horizon = 3
    batch = memory.transitions(np.array([0]))
    assert batch.returns[0] == pytest.approx(1 + 0.5 + 0.25) and batch.discounts[0] == pytest.approx(0.125)
    assert batch.next_obs[0, 0] == 3


# -- the EMA target network --------------------------------------------------------------------
def test_one_update_moves_the_soft_target_by_tau_towards_the_online_network():
    torch.manual_seed(0)
    agent = DQNAgent(nets.build("mlp", sizes=[2, 8], head="q", n_outputs=2), 2,
                     DQNConfig(target_update="soft", tau=0.1, lr=0.1))
    with torch.no_grad():  # a target apart from the online network
        for parameter in agent.target.parameters():
            parameter.add_(1.0)
    before = [p.clone() for p in agent.target.parameters()]
    batch = Batch(np.ones((4, 2), np.float32), np.zeros(4, np.int64), np.ones(4, np.float32),
                  np.ones((4, 2), np.float32), np.full(4, 0.9, np.float32), np.ones(4, np.float32), np.arange(4))
    agent.learn(batch)
    for old, new, online in zip(before, agent.target.parameters(), agent.online.parameters()):
        assert torch.allclose(new, old + 0.1 * (online - old), atol=1e-6)
        assert not torch.allclose(new, old)


# -- shrink-and-perturb resets -----------------------------------------------------------------
def _cnn_agent(**options):
    def build():
        return nets.build("nature_cnn", head="dueling", n_outputs=3, in_channels=2)

    torch.manual_seed(1)
    return DQNAgent(build(), 3, DQNConfig(**options), seed=5, build_network=build), build


def test_reset_shrinks_the_encoder_towards_a_fresh_draw_and_replaces_the_head():
    agent, build = _cnn_agent(shrink=0.8, reset_every=1000)
    old = {name: p.clone() for name, p in agent.online.named_parameters()}
    agent.updates = 7
    agent.reset()
    fresh = dict(fresh_network(build, reset_seed(5, 7)).named_parameters())  # the same draw
    encoder = [name for name in old if not is_head_parameter(name)]
    assert encoder and all(name.startswith("convs.") for name in encoder)
    for name, new in agent.online.named_parameters():
        if is_head_parameter(name):
            assert torch.equal(new, fresh[name])
        else:  # moved by 1 - shrink = 0.2 of the way to the fresh weights
            assert torch.allclose(new - old[name], 0.2 * (fresh[name] - old[name]), atol=1e-6)
            assert not torch.allclose(new, old[name])
    assert all(torch.equal(t, o) for t, o in zip(agent.target.parameters(), agent.online.parameters()))


def test_reset_comes_every_reset_every_updates_and_clears_the_optimiser():
    agent, _ = _cnn_agent(reset_every=2, channels_last=False)
    batch = Batch(np.zeros((4, 2, 84, 84), np.uint8), np.zeros(4, np.int64), np.ones(4, np.float32),
                  np.zeros((4, 2, 84, 84), np.uint8), np.full(4, 0.9, np.float32), np.ones(4, np.float32),
                  np.arange(4))
    agent.learn(batch)
    assert agent.optimizer.state and agent.updates_since_reset == 1
    agent.learn(batch)
    assert not agent.optimizer.state and agent.updates_since_reset == 0


# -- replay ratio, AdamW, and settings refused -------------------------------------------------
def test_replay_ratio_and_adamw():
    assert DQNConfig(train_every=None, replay_ratio=2.0).updates_per_step == 2.0
    assert DQNConfig(train_every=4).updates_per_step == 0.25
    agent = DQNAgent(nets.build("mlp", sizes=[2, 4], head="q", n_outputs=2), 2,
                     DQNConfig(optimizer="adamw", weight_decay=0.1))
    assert isinstance(agent.optimizer, torch.optim.AdamW)
    assert agent.optimizer.param_groups[0]["weight_decay"] == 0.1


@pytest.mark.parametrize("options,message", [
    (dict(replay_ratio=2.0), "exactly one of agent.train_every"),
    (dict(weight_decay=0.1), "adamw"),
    (dict(shrink=1.5), "agent.shrink"),
    (dict(atoms=1), "agent.atoms"),
    (dict(v_min=3.0, v_max=3.0), "agent.v_min"),
    (dict(shift_pad=-1), "agent.shift_pad"),
    (dict(n_step_start=0), "agent.n_step_start"),
    (dict(gamma_start=0.97, gamma=1.0), "below 1"),
    (dict(reset_every=-1), "agent.reset_every"),
])
def test_out_of_range_settings_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        DQNConfig(**options)


# -- the Atari 100k protocol and its preset ----------------------------------------------------
def test_atari100k_protocol_is_deterministic_with_noop_starts_and_a_27k_step_cap():
    env = envs.make_vector("boxing", num_envs=1, protocol="atari100k", seed=0)
    try:
        assert env.repeat_action_probability == 0.0 and env.noop_max == 30 and env.clip_rewards
        assert env.max_episode_frames == 108_000 == 4 * 27_000
        obs, _ = env.reset()
        assert obs.shape == (1, 4, 84, 84) and obs.dtype == np.uint8
    finally:
        env.close()
    config = resolve_config("boxing-100k", [])
    a = config.agent
    assert (config.total_steps, config.final_episodes, config.evaluation.epsilon) == (100_000, 100, 0.001)
    assert (a.double, a.dueling, a.n_step, a.updates_per_step, a.augmentation, a.shift_pad, a.lr) == \
        (True, True, 10, 1.0, "shift", 4, 1e-4)


# -- SPR ----------------------------------------------------------------------------------------
def test_future_steps_mask_the_steps_after_the_episode_ends():
    memory = ReplayMemory(200, (1,), n_step=5)
    for t in range(8):  # an episode that terminates at its step 2 (0-based), then a new one
        obs = np.array([[t]], np.float32)
        memory.add(obs, [t], [0.0], obs + 1, [t == 2], [False])
    future = future_steps(memory, np.array([0, 1]), 3)
    assert future["future_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]  # from t=1: obs 2, 3 (final), then past the end
    assert future["future_obs"][0, :, 0].tolist() == [1, 2, 3] and future["future_actions"][0].tolist() == [0, 1, 2]


def test_spr_loss_trains_the_transition_model_and_takes_part_in_resets():
    def build():
        return nets.build("nature_cnn", head="q", n_outputs=3, in_channels=2)

    torch.manual_seed(2)
    agent = DQNAgent(build(), 3, DQNConfig(spr_weight=5.0, spr_steps=2, target_update="soft", lr=1e-3,
                                           augmentation="shift"), seed=1, build_network=build)
    rng = np.random.default_rng(0)
    frames = lambda *shape: rng.integers(0, 255, (*shape, 2, 84, 84), dtype=np.uint8)  # noqa: E731
    batch = Batch(frames(4), np.zeros(4, np.int64), np.ones(4, np.float32), frames(4), np.full(4, 0.9, np.float32),
                  np.ones(4, np.float32), np.arange(4), future_obs=frames(4, 2),
                  future_actions=np.ones((4, 2), np.int64), future_mask=np.ones((4, 2), np.float32))
    before = [p.clone() for p in agent.spr.parameters()]
    learned = agent.learn(batch)
    assert -2.0 <= learned["spr_loss"] <= 2.0  # minus a sum of 2 cosine similarities
    assert all(not torch.equal(b, p) for b, p in zip(before, agent.spr.parameters()))
    assert "spr" in agent.state_dict() and len(agent.optimizer.param_groups[0]["params"]) == \
        len(list(agent.online.parameters())) + len(list(agent.spr.parameters()))
    old = {name: p.clone() for name, p in agent.spr.named_parameters()}
    agent.reset()
    fresh = dict(fresh_network(agent.build_spr, reset_seed(1, agent.updates)).named_parameters())
    for name, new in agent.spr.named_parameters():
        expected = fresh[name] if name.startswith("predictor.") else 0.5 * old[name] + 0.5 * fresh[name]
        assert torch.allclose(new, expected, atol=1e-6)
    with pytest.raises(ValueError, match="convolutional encoder"):
        DQNAgent(nets.build("mlp", sizes=[2, 4], head="q", n_outputs=2), 2, DQNConfig(spr_weight=1.0))


class _AlwaysTwoNetworks(DQNAgent):
    target_is_online = False  # the update as written before: both networks over next_obs


@pytest.mark.parametrize("distributional", [False, True])
def test_a_target_equal_to_the_online_network_is_run_once_with_the_same_result(distributional):
    rng = np.random.default_rng(6)
    batches = [Batch(rng.integers(0, 255, (8, 2, 84, 84), dtype=np.uint8), rng.integers(3, size=8),
                     rng.normal(size=8).astype(np.float32), rng.integers(0, 255, (8, 2, 84, 84), dtype=np.uint8),
                     np.full(8, 0.9, np.float32), np.ones(8, np.float32), np.arange(8)) for _ in range(4)]
    runs = {}
    for kind in (DQNAgent, _AlwaysTwoNetworks):
        torch.manual_seed(7)
        network = nets.build("nature_cnn", head="distributional" if distributional else "dueling", n_outputs=3,
                             in_channels=2, head_options={"dueling": True} if distributional else None)
        agent = kind(network, 3, DQNConfig(double=True, dueling=True, distributional=distributional,
                                           target_period=2, augmentation="shift"), seed=1)
        calls = []
        agent.online.register_forward_pre_hook(lambda module, args: calls.append(agent.updates))
        losses = [agent.learn(batch)["td_loss"] for batch in batches]
        runs[kind] = losses, [p.detach().clone() for p in agent.online.parameters()], calls
    (fewer_losses, fewer_weights, fewer_calls), (losses, weights, calls) = runs[DQNAgent], runs[_AlwaysTwoNetworks]
    assert fewer_losses == losses and all(torch.equal(a, b) for a, b in zip(fewer_weights, weights))
    # the online network's calls by update: over next_obs at each (and over obs too, except for
    # C51, which calls its parts); with target_period 2 a refresh copies the online network after
    # update 2, so update 2 (numbered from 0) leaves its next_obs pass out
    both = [0, 1, 2, 3] if distributional else [0, 0, 1, 1, 2, 2, 3, 3]
    assert calls == both and fewer_calls == ([0, 1, 3] if distributional else [0, 0, 1, 1, 2, 3, 3])


@pytest.mark.parametrize("options", [dict(double=True, dueling=True), dict(distributional=True),
                                     dict(spr_weight=5.0, spr_steps=2, target_update="soft")])
def test_bfloat16_updates_compute_in_bfloat16_and_keep_float32_weights(options):
    head = "distributional" if options.get("distributional") else ("dueling" if options.get("dueling") else "q")
    rng = np.random.default_rng(3)
    frames = lambda *shape: rng.integers(0, 255, (*shape, 2, 84, 84), dtype=np.uint8)  # noqa: E731
    batch = Batch(frames(8), rng.integers(3, size=8), rng.normal(size=8).astype(np.float32), frames(8),
                  np.full(8, 0.9, np.float32), np.ones(8, np.float32), np.arange(8), future_obs=frames(8, 2),
                  future_actions=rng.integers(3, size=(8, 2)), future_mask=np.ones((8, 2), np.float32))
    learned = {}
    for precision in ("float32", "bfloat16"):
        torch.manual_seed(4)
        agent = DQNAgent(nets.build("nature_cnn", head=head, n_outputs=3, in_channels=2), 3,
                         DQNConfig(precision=precision, **options), seed=1)
        before = [p.clone() for p in agent.online.parameters()]
        learned[precision] = agent.learn(batch)
        assert all(p.dtype == torch.float32 for p in agent.online.parameters())
        assert all(not torch.equal(b, p) for b, p in zip(before, agent.online.parameters()) if p.grad is not None)
    plain, low = learned["float32"]["td_loss"], learned["bfloat16"]["td_loss"]
    assert low != plain  # the forward passes did run in bfloat16 ...
    assert low == pytest.approx(plain, rel=0.05)  # ... to about bfloat16's 3 significant digits
    assert learned["bfloat16"]["td_errors"].dtype == np.float32


def test_the_ingredients_bench_times_every_ingredient_against_the_plain_update():
    cost = measure_ingredients(rounds=1, updates_per_round=1)
    assert set(cost) == {"plain", "reset", *INGREDIENTS}
    assert all(value > 0 for value in cost.values())
