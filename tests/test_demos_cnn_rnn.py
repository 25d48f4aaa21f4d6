"""Chapters 40-53: the conv-net sizes and counts read off the `lenet` modules, the recurrent
net's plain-cell nonlinearity, and the text corpus that ships with Python."""

from __future__ import annotations

import pytest
import torch

import nets
from lab.config import ConfigError
from nets.cnn import conv_output_size
from supervised.corpora import load_corpus, next_char_counts


def test_worked_net_of_chapter_43_has_the_book_sizes():
    model = nets.build("lenet", maps=[3], hidden=0)
    shapes = dict(model.layer_shapes())
    assert shapes["conv1"] == (3, 24, 24)  # 28 - 5 + 1
    assert shapes["pool1"] == (3, 12, 12)
    assert shapes["output"] == (10,)


def test_conv_parameters_follow_chapter_46_formula():
    # (n*m*l + 1)*k for a 3x3 filter from l = 32 to k = 64 maps: the second conv layer here.
    model = nets.build("lenet", maps=[32, 64], kernel_size=3, padding=1, in_channels=3, input_size=50,
                       hidden=0, n_outputs=2)
    assert nets.count_parameters(model.convs[1]) == (3 * 3 * 32 + 1) * 64
    shapes = dict(model.layer_shapes())
    assert shapes["conv1"] == (32, 50, 50)  # padding 1 keeps 50
    assert nets.build("lenet", maps=[4], kernel_size=3, input_size=50).layer_shapes()[1][1] == (4, 48, 48)
    assert conv_output_size(50, 3) == 48 and conv_output_size(50, 3, padding=1) == 50


def test_relu_plain_cell_differs_from_tanh_and_rejects_gated_cells():
    torch.manual_seed(0)
    relu = nets.build("recurrent", cell="rnn", nonlinearity="relu", input_size=2, hidden_size=4,
                      output="sequence")
    out = relu(torch.randn(3, 5, 2))
    assert (out >= 0).all() and (out == 0).any()  # a ReLU state is never negative
    with pytest.raises(ValueError, match="nonlinearity"):
        nets.build("recurrent", cell="lstm", nonlinearity="relu", input_size=2)


def test_python_docs_corpus_mostly_follows_q_with_u():
    text = load_corpus("python-docs")
    counts = next_char_counts(text, "q")
    assert len(text) > 100_000
    assert counts.most_common(1)[0][0] == "u" and counts["u"] / sum(counts.values()) > 0.8
    assert "Beautiful is better than ugly." in load_corpus("zen")
    with pytest.raises(ConfigError, match="python-docs"):
        load_corpus("shakespeare")
