"""Tests for nets/: parameter counts, shapes, gradients, masks, heads, init, errors."""

from __future__ import annotations

import math

import pytest
import torch

import nets
from nets.heads import DuelingHead

# --- parameter counts -----------------------------------------------------------------------


def test_book_mlp_has_23860_parameters():
    model = nets.build("mlp", sizes=[784, 30, 10])
    assert nets.count_parameters(model) == 784 * 30 + 30 + 30 * 10 + 10 == 23_860
    assert [layer.out_features for layer in model.layers] == [30, 10]


@pytest.mark.parametrize("n_maps, expected", [(1, 26), (20, 520)])
def test_lenet_first_conv_layer_parameters(n_maps, expected):
    model = nets.build("lenet", maps=[n_maps])
    assert nets.count_parameters(model.convs[0]) == expected


def test_lenet_book_network_count():
    model = nets.build("lenet", maps=[20, 40], hidden=100, n_outputs=10)
    conv1 = 20 * (25 + 1)
    conv2 = 40 * (20 * 25 + 1)
    hidden = 40 * 4 * 4 * 100 + 100  # 28 -> 24 -> 12 -> 8 -> 4
    output = 100 * 10 + 10
    assert nets.count_parameters(model) == conv1 + conv2 + hidden + output


def test_nature_cnn_parameter_count():
    n_actions = 18
    conv1 = 4 * 32 * 8 * 8 + 32
    conv2 = 32 * 64 * 4 * 4 + 64
    conv3 = 64 * 64 * 3 * 3 + 64
    fc = 64 * 7 * 7 * 512 + 512
    head = 512 * n_actions + n_actions
    model = nets.build("nature_cnn", n_outputs=n_actions)
    assert nets.count_parameters(model) == conv1 + conv2 + conv3 + fc + head == 1_693_362
    features = nets.build("nature_cnn", features_only=True)
    assert nets.count_parameters(features) == conv1 + conv2 + conv3 + fc
    assert features.out_features == 512


# --- every net: shapes and gradients --------------------------------------------------------

def _tokens(batch, length, vocab, low=1):
    return torch.randint(low, vocab, (batch, length))


# (kind, options, make inputs -> tuple of forward args, expected output shape)
CASES = [
    ("mlp", dict(sizes=[12, 8, 5]), lambda: (torch.randn(3, 12),), (3, 5)),
    ("mlp", dict(sizes=[12, 8], activation="relu", head="dueling", n_outputs=4),
     lambda: (torch.randn(3, 12),), (3, 4)),
    ("mlp", dict(sizes=[12, 8, 5], activation="tanh", init="scaled",
                 output_activation="log_softmax"), lambda: (torch.randn(3, 1, 3, 4),), (3, 5)),
    ("lenet", dict(maps=[3], hidden=8), lambda: (torch.rand(2, 1, 28, 28),), (2, 10)),
    ("lenet", dict(maps=[3, 4], hidden=8, pooling="l2", activation="relu"),
     lambda: (torch.rand(2, 784),), (2, 10)),
    ("nature_cnn", dict(n_outputs=6),
     lambda: (torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8),), (2, 6)),
    ("nature_cnn", dict(n_outputs=6, head="dueling", in_channels=2),
     lambda: (torch.rand(2, 2, 84, 84),), (2, 6)),
    ("nature_cnn", dict(features_only=True),
     lambda: (torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8),), (2, 512)),
    ("recurrent", dict(cell="rnn", input_size=3, hidden_size=8, n_outputs=2),
     lambda: (torch.randn(4, 6, 3),), (4, 2)),
    ("recurrent", dict(cell="lstm", input_size=3, hidden_size=8, num_layers=2, n_outputs=2,
                       output="sequence"), lambda: (torch.randn(4, 6, 3),), (4, 6, 2)),
    ("recurrent", dict(cell="gru", input_size=5, hidden_size=8, n_outputs=7, vocab_size=7,
                       output="sequence"), lambda: (_tokens(4, 6, 7, low=0),), (4, 6, 7)),
    ("transformer", dict(mode="encoder", vocab_size=13, d_model=16, n_heads=2, n_outputs=3,
                         pad_id=0), lambda: (_tokens(3, 7, 13),), (3, 3)),
    ("transformer", dict(mode="encoder", vocab_size=13, d_model=16, n_heads=2, n_outputs=3,
                         norm="pre", pool="mean", pad_id=0),
     lambda: (torch.tensor([[5, 6, 7, 0, 0], [1, 2, 3, 4, 5]]),), (2, 3)),
    ("transformer", dict(mode="encoder", input_dim=6, d_model=16, n_heads=4, n_outputs=2,
                         output="sequence"), lambda: (torch.randn(3, 5, 6),), (3, 5, 2)),
    ("transformer", dict(mode="encoder", input_dim=6, d_model=16, n_heads=4),
     lambda: (torch.randn(3, 5, 6),), (3, 16)),
    ("transformer", dict(mode="decoder", vocab_size=11, d_model=16, n_heads=2),
     lambda: (_tokens(2, 6, 11),), (2, 6, 11)),
    ("transformer", dict(mode="decoder", vocab_size=11, d_model=16, n_heads=2, norm="pre"),
     lambda: (_tokens(2, 6, 11),), (2, 6, 11)),
    ("transformer", dict(mode="encoder_decoder", vocab_size=11, d_model=16, n_heads=2,
                         pad_id=0, norm="pre"),
     lambda: (_tokens(2, 5, 11), _tokens(2, 4, 11)), (2, 4, 11)),
    ("transformer", dict(mode="encoder_decoder", input_dim=3, target_vocab_size=9,
                         d_model=16, n_heads=2),
     lambda: (torch.randn(2, 5, 3), _tokens(2, 4, 9)), (2, 4, 9)),
    ("memory_q", dict(obs_shape=(3,), n_outputs=2, memory="lstm", head="dueling", hidden_size=8, torso=[6]),
     lambda: (torch.randn(2, 5, 3),), (2, 5, 2)),
    ("memory_q", dict(obs_shape=(3,), n_outputs=2, memory="gru", hidden_size=8, torso=[]),
     lambda: (torch.randn(2, 5, 3),), (2, 5, 2)),
    ("memory_q", dict(obs_shape=(3,), n_outputs=2, memory="transformer", window=3, d_model=8, n_heads=2,
                      gating=True, torso=[6]), lambda: (torch.randn(2, 5, 3),), (2, 5, 2)),
    ("liquid", dict(input_size=3, hidden_size=4, n_outputs=2), lambda: (torch.randn(2, 5, 3),), (2, 5, 2)),
    ("liquid", dict(input_size=3, hidden_size=4, output="last", ode_unfolds=2),
     lambda: (torch.randn(2, 5, 3), torch.rand(2, 5)), (2, 4)),
    ("dcgan_generator", dict(latent_size=4, channels=[6, 3]), lambda: (torch.randn(3, 4),), (3, 1, 28, 28)),
    ("dcgan_discriminator", dict(channels=[3, 4]), lambda: (torch.rand(3, 1, 28, 28),), (3,)),
    ("autoencoder", dict(input_size=12, hidden_sizes=[8, 4]), lambda: (torch.rand(3, 12),), (3, 12)),
    ("conv_autoencoder", dict(channels=[3, 4], code_size=5), lambda: (torch.rand(2, 784),), (2, 784)),
    ("vae", dict(input_size=12, hidden_sizes=[8], latent_size=2), lambda: (torch.rand(3, 12),), (3, 12)),
]


def test_every_registered_net_has_a_case():
    assert {kind for kind, *_ in CASES} == set(nets.available())


@pytest.mark.parametrize("kind, options, make_inputs, shape", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_output_shape_and_every_parameter_gets_a_gradient(kind, options, make_inputs, shape):
    torch.manual_seed(0)
    model = nets.build(kind, **options)
    output = model(*make_inputs())
    assert output.shape == shape
    # Random weights per output, so no symmetric loss can cancel a gradient by construction.
    loss = (output * torch.randn(output.shape)).sum()
    loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_build_is_deterministic_under_a_seed():
    torch.manual_seed(3)
    first = nets.build("mlp", sizes=[4, 3, 2])
    torch.manual_seed(3)
    second = nets.build("mlp", sizes=[4, 3, 2])
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)


# --- transformer masks ----------------------------------------------------------------------

@pytest.mark.parametrize("norm", ["post", "pre"])
def test_causal_decoder_ignores_future_tokens(norm):
    torch.manual_seed(1)
    model = nets.build("transformer", mode="decoder", vocab_size=20, d_model=16, n_heads=4,
                       n_layers=2, norm=norm).eval()
    tokens = _tokens(2, 8, 20)
    changed = tokens.clone()
    t = 4
    changed[:, t + 1:] = (changed[:, t + 1:] + 7) % 20
    with torch.no_grad():
        before, after = model(tokens), model(changed)
    assert torch.allclose(before[:, : t + 1], after[:, : t + 1], atol=1e-5)
    assert not torch.allclose(before[:, t + 1:], after[:, t + 1:], atol=1e-3)


def test_causal_mask_is_lower_triangular():
    mask = nets.causal_mask(3)
    assert mask.tolist() == [[True, False, False], [True, True, False], [True, True, True]]


@pytest.mark.parametrize("norm", ["post", "pre"])
@pytest.mark.parametrize("pool", ["first", "mean"])
def test_padding_tokens_do_not_change_real_positions(norm, pool):
    torch.manual_seed(2)
    options = dict(mode="encoder", vocab_size=30, d_model=16, n_heads=2, norm=norm, pad_id=0)
    sequence_model = nets.build("transformer", output="sequence", **options).eval()
    pooled_model = nets.build("transformer", pool=pool, n_outputs=3, **options).eval()
    tokens = torch.tensor([[4, 5, 6, 0, 0, 0], [7, 8, 9, 10, 11, 0]])
    is_padding = tokens == 0
    # Same padding flags, different garbage in the padded slots.
    garbage = tokens.masked_fill(is_padding, 23)
    with torch.no_grad():
        hidden = sequence_model(tokens)
        hidden_garbage = sequence_model(garbage, is_padding)
        pooled = pooled_model(tokens)
        pooled_garbage = pooled_model(garbage, is_padding)
    real = ~is_padding
    assert torch.allclose(hidden[real], hidden_garbage[real], atol=1e-5)
    assert torch.allclose(pooled, pooled_garbage, atol=1e-5)
    # Without the mask the garbage does leak in: the test can tell the difference.
    with torch.no_grad():
        unmasked = sequence_model(garbage, torch.zeros_like(is_padding))
    assert not torch.allclose(hidden[real], unmasked[real], atol=1e-3)


def test_attention_weights_rows_sum_to_one_and_skip_masked_keys():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 1, 4, 8), torch.randn(2, 1, 5, 8), torch.randn(2, 1, 5, 8)
    mask = nets.padding_mask(torch.tensor([[False] * 5, [False, False, False, True, True]]))
    output, weights = nets.scaled_dot_product_attention(q, k, v, mask)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 1, 4))
    assert torch.all(weights[1, :, :, 3:] < 1e-12)
    expected = torch.softmax(q[0] @ k[0].transpose(-2, -1) / math.sqrt(8), dim=-1) @ v[0]
    assert torch.allclose(output[0], expected, atol=1e-6)


def test_sinusoidal_positions_follow_the_formula():
    table = nets.sinusoidal_positions(10, 6)
    position, i = 7, 1
    angle = position / 10000 ** (2 * i / 6)
    assert table[position, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
    assert table[position, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


# --- heads, CNN input scaling, recurrent lengths --------------------------------------------

def test_dueling_head_centres_advantages():
    torch.manual_seed(0)
    head = DuelingHead(8, 5)
    features = torch.randn(6, 8)
    q_values = head(features)
    value, _ = head.streams(features)
    assert torch.allclose((q_values - value).mean(dim=-1), torch.zeros(6), atol=1e-6)
    # Q is not V alone: the advantages still order the actions.
    assert (q_values - value).abs().max() > 1e-3


def test_nature_cnn_scales_uint8_frames():
    torch.manual_seed(0)
    model = nets.build("nature_cnn", n_outputs=4)
    frames = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    with torch.no_grad():
        from_bytes = model(frames)
        from_floats = model(frames.float() / 255.0)
        unscaled = model(frames.float())
        channels_last = model.to(memory_format=torch.channels_last)(
            frames.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(from_bytes, from_floats, atol=1e-6)
    assert not torch.allclose(from_bytes, unscaled, atol=1e-3)
    assert torch.allclose(from_bytes, channels_last, atol=1e-4)


def test_l2_pooling_is_root_of_sum_of_squares():
    x = torch.tensor([[[[1.0, 2.0], [2.0, 4.0]]]])
    assert nets.L2Pool2d(2)(x).item() == pytest.approx(5.0, abs=1e-5)


def test_recurrent_last_output_respects_lengths():
    torch.manual_seed(0)
    model = nets.build("recurrent", cell="gru", input_size=2, hidden_size=5, n_outputs=3)
    sequences = torch.randn(2, 6, 2)
    lengths = torch.tensor([4, 6])
    outputs = model(sequences, lengths=lengths)
    assert torch.allclose(outputs[0], model(sequences[:1, :4])[0], atol=1e-6)
    assert torch.allclose(outputs[1], model(sequences[1:])[0], atol=1e-6)


def test_recurrent_state_continues_a_sequence():
    torch.manual_seed(0)
    model = nets.build("recurrent", cell="lstm", input_size=2, hidden_size=5, n_outputs=3)
    sequence = torch.randn(1, 6, 2)
    _, state = model(sequence[:, :3], return_state=True)
    assert torch.allclose(model(sequence[:, 3:], state=state), model(sequence), atol=1e-6)


# --- initialisation -------------------------------------------------------------------------

def test_normal_init_has_unit_std():
    torch.manual_seed(0)
    model = nets.build("mlp", sizes=[784, 100, 10], init="normal")
    weights, biases = model.layers[0].weight, model.layers[0].bias
    assert weights.std().item() == pytest.approx(1.0, rel=0.02)
    assert weights.mean().item() == pytest.approx(0.0, abs=0.02)
    assert biases.std().item() == pytest.approx(1.0, rel=0.3)


def test_scaled_init_has_std_one_over_sqrt_fan_in():
    torch.manual_seed(0)
    model = nets.build("mlp", sizes=[784, 100, 10], init="scaled")
    for layer in model.layers:
        expected = 1.0 / math.sqrt(layer.in_features)
        assert layer.weight.std().item() == pytest.approx(expected, rel=0.1)
    assert model.layers[0].weight.std().item() == pytest.approx(1 / 28, rel=0.02)
    assert model.layers[0].bias.std().item() == pytest.approx(1.0, rel=0.3)


@pytest.mark.parametrize("init", ["kaiming", "orthogonal"])
def test_other_inits_zero_the_biases(init):
    model = nets.build("mlp", sizes=[50, 40, 3], activation="relu", init=init)
    assert all(torch.all(layer.bias == 0) for layer in model.layers)
    if init == "orthogonal":
        weight = model.layers[0].weight  # 40 x 50: orthonormal rows times the ReLU gain
        gram = weight @ weight.T / 2.0
        assert torch.allclose(gram, torch.eye(40), atol=1e-4)


# --- errors ---------------------------------------------------------------------------------

def test_unknown_kind_lists_available_nets():
    with pytest.raises(ValueError, match=r"unknown net 'x'; available: (.*, )?lenet, (liquid, )?(memory_q, )?mlp, nature_cnn"):
        nets.build("x")


def test_unknown_option_is_named_with_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown option 'hiden'.*'mlp'.*allowed: sizes"):
        nets.build("mlp", sizes=[2, 2], hiden=3)


def test_missing_required_option_is_named():
    with pytest.raises(ValueError, match=r"needs option 'sizes'"):
        nets.build("mlp")


@pytest.mark.parametrize("kind, options, bad", [
    ("mlp", dict(sizes=[2, 2], activation="swish"), "activation 'swish'"),
    ("mlp", dict(sizes=[2, 2], init="xavier"), "init 'xavier'"),
    ("mlp", dict(sizes=[2], head="triple", n_outputs=2), "head 'triple'"),
    ("lenet", dict(pooling="avg"), "pooling 'avg'"),
    ("recurrent", dict(input_size=2, cell="lstn"), "cell 'lstn'"),
    ("transformer", dict(vocab_size=5, norm="mid"), "norm 'mid'"),
    ("transformer", dict(vocab_size=5, mode="bert"), "mode 'bert'"),
])
def test_bad_choice_names_value_and_choices(kind, options, bad):
    with pytest.raises(ValueError, match=rf"unknown {bad}; choose one of: ") as error:
        nets.build(kind, **options)
    assert "," in str(error.value).split("choose one of:")[1]


def test_bad_activation_lists_valid_activations():
    with pytest.raises(ValueError) as error:
        nets.build("mlp", sizes=[2, 2], activation="swish")
    for name in ("sigmoid", "tanh", "relu", "leaky_relu", "identity"):
        assert name in str(error.value)


def test_inconsistent_options_are_reported():
    with pytest.raises(ValueError, match="exactly one of vocab_size"):
        nets.build("transformer", mode="encoder")
    with pytest.raises(ValueError, match="divisible"):
        nets.build("transformer", vocab_size=5, d_model=10, n_heads=3)
    with pytest.raises(ValueError, match="n_outputs"):
        nets.build("nature_cnn")
    with pytest.raises(ValueError, match="sizes"):
        nets.build("mlp", sizes=[784])
