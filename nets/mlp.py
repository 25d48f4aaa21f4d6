"""Fully connected feed-forward network (chapters 11-13, 19-25; used by the RL agents too).

The book's first network reads a 28x28 MNIST digit as 784 inputs, has one hidden layer of
30 sigmoid neurons and 10 outputs: ``sizes=[784, 30, 10]``, 23,860 weights and biases.  The
later chapters change one thing at a time, and each is an option here:

* ``activation`` - sigmoid as in the book, or tanh / ReLU (chapters 34-36);
* ``dropout`` - randomly silence hidden neurons while training (chapter 23);
* ``init`` - ``normal``: every weight and bias drawn from N(0, 1), the book's first choice;
  ``scaled``: weights from N(0, 1/sqrt(n_in)) so a neuron's input does not saturate the
  sigmoid, biases still N(0, 1) (chapter 25); ``kaiming`` and ``orthogonal`` (biases 0);
  ``default`` keeps PyTorch's own initialisation.
* ``head`` - put a Q / dueling / classifier head after the last size (chapters 71-75).

``.layers`` holds every ``nn.Linear`` in order, so a demo can read each layer's bias
gradient (chapters 34-36 plot ``layers[i].bias.grad.norm()`` to show gradients vanishing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from lab.checks import require, within
from lab.i18n import tr

from nets.activations import (
    ACTIVATIONS,
    GAIN_NONLINEARITY,
    LEAKY_RELU_SLOPE,
    OUTPUT_ACTIVATIONS,
    make_activation,
)
from nets.heads import make_head
from nets.registry import NetError, check_choice, positive_ints, register

INIT_CHOICES: tuple[str, ...] = ("default", "normal", "scaled", "kaiming", "orthogonal")


def init_linear_(layer: nn.Linear, scheme: str, activation: str = "sigmoid") -> None:
    """Re-initialise ``layer`` in place with ``scheme`` (one of :data:`INIT_CHOICES`).

    ``activation`` is the nonlinearity that follows the layer; kaiming and orthogonal use it
    to pick their gain.
    """
    check_choice("init", scheme, INIT_CHOICES)
    if scheme == "default":
        return
    with torch.no_grad():
        n_in = layer.in_features
        if scheme == "normal":
            layer.weight.normal_(0.0, 1.0)
            layer.bias.normal_(0.0, 1.0)
        elif scheme == "scaled":
            layer.weight.normal_(0.0, 1.0 / math.sqrt(n_in))
            layer.bias.normal_(0.0, 1.0)
        elif scheme == "kaiming":
            nonlinearity = GAIN_NONLINEARITY[activation]
            nn.init.kaiming_normal_(layer.weight, a=LEAKY_RELU_SLOPE, nonlinearity=nonlinearity)
            layer.bias.zero_()
        else:  # orthogonal
            nonlinearity = GAIN_NONLINEARITY[activation]
            param = LEAKY_RELU_SLOPE if nonlinearity == "leaky_relu" else None
            nn.init.orthogonal_(layer.weight, gain=nn.init.calculate_gain(nonlinearity, param))
            layer.bias.zero_()


@register("mlp", "fully connected network: sizes=[784, 30, 10], activation, dropout, init, "
                 "optional q/dueling/classifier head (chapters 11-25)")
class MLP(nn.Module):
    """Stack of ``nn.Linear`` layers with ``sizes[i] -> sizes[i+1]``.

    Without a head the last layer is the output layer (no hidden activation after it, only
    ``output_activation``).  With a ``head`` every layer in ``sizes`` is hidden and the head
    maps ``sizes[-1]`` to ``n_outputs``.  Inputs with more than two dimensions are flattened
    after the batch dimension, so (B, 1, 28, 28) images work as (B, 784).
    """

    def __init__(
        self,
        *,
        sizes: Sequence[int],
        activation: str = "sigmoid",
        output_activation: str = "identity",
        dropout: float = 0.0,
        init: str = "default",
        head: str | None = None,
        n_outputs: int | None = None,
        head_options: dict | None = None,
    ) -> None:
        super().__init__()
        sizes = positive_ints("mlp sizes", sizes, minimum=1 if head not in (None, "none") else 2)
        check_choice("init", init, INIT_CHOICES)
        within("dropout", float(dropout), 0, 1, high_open=True, error=NetError)
        require(head not in (None, "none") or n_outputs is None,
                tr("mlp option n_outputs only goes with a head; without one the last entry of sizes is the output "
                   "size (sizes={sizes})").format(sizes=sizes), NetError)

        self.sizes = sizes
        self.layers = nn.ModuleList(
            nn.Linear(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:])
        )
        self.activation = make_activation(activation, ACTIVATIONS)
        self.dropout = nn.Dropout(float(dropout))
        self.head = make_head(head, sizes[-1], n_outputs, head_options)
        self.output_activation = make_activation(output_activation, OUTPUT_ACTIVATIONS)
        # Layers followed by the hidden activation: all of them when a head follows.
        self.n_hidden_layers = len(self.layers) if self.head is not None else len(self.layers) - 1
        self.out_features = self.head.out_features if self.head is not None else sizes[-1]

        for module in self.modules():
            if isinstance(module, nn.Linear):
                init_linear_(module, init, activation)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """What the head sees (the output layer's values when there is no head)."""
        if x.dim() > 2:
            x = x.flatten(start_dim=1)
        if not x.is_floating_point():
            x = x.float()
        for index, layer in enumerate(self.layers):
            x = layer(x)
            if index < self.n_hidden_layers:
                x = self.dropout(self.activation(x))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        if self.head is not None:
            x = self.head(x)
        return self.output_activation(x)

