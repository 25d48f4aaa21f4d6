"""Activation functions by name (chapters 6-8: sigmoid, tanh, ReLU, ...; 17-18: softmax).

The book compares activations chapter after chapter (the perceptron's step, the sigmoid of
chapter 11, tanh and ReLU against vanishing gradients in chapters 34-36).  Networks take an
activation by name so an experiment can swap it with one word in its config.
"""

from __future__ import annotations

from torch import nn

from nets.registry import check_choice

ACTIVATIONS: tuple[str, ...] = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu", "identity")
# An output layer may also turn scores into a distribution (chapter 18: softmax layer).
OUTPUT_ACTIVATIONS: tuple[str, ...] = ACTIVATIONS + ("softmax", "log_softmax")

# Name of the matching nonlinearity for torch.nn.init.calculate_gain (used by kaiming and
# orthogonal initialisation); GELU has no entry there and behaves close to ReLU.
GAIN_NONLINEARITY: dict[str, str] = {
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "gelu": "relu",
    "identity": "linear",
}

LEAKY_RELU_SLOPE = 0.01


def make_activation(name: str, choices: tuple[str, ...] = ACTIVATIONS) -> nn.Module:
    """Return a fresh activation module for ``name`` (one of ``choices``)."""
    check_choice("activation", name, choices)
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "tanh":
        return nn.Tanh()
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(LEAKY_RELU_SLOPE)
    if name == "gelu":
        return nn.GELU()
    if name == "softmax":
        return nn.Softmax(dim=-1)
    if name == "log_softmax":
        return nn.LogSoftmax(dim=-1)
    return nn.Identity()
