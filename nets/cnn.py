"""Convolutional networks: the book's LeNet-style MNIST net (chapters 40-43) and the
DeepMind Nature DQN network (chapters 69-70).

Chapters 40-43 build a conv net from three ideas: local receptive fields (each hidden neuron
looks at a 5x5 patch), shared weights (one 5x5 kernel + one bias = 26 parameters per feature
map, however large the image) and pooling (keep a summary of each 2x2 block: its maximum, or
its L2 norm sqrt(sum of squares)).  :class:`LeNet` stacks one or two such conv+pool layers,
then a fully connected hidden layer and the output layer.  The same class builds the book's
other conv nets by options: chapter 43's worked net 28x28 -> 3x24x24 -> 3x12x12 -> 10
(``maps=[3], hidden=0``), the plan of 20 and 40 maps (``maps=[20, 40]``), and the small
colour-image classifiers of chapters 44-47 (``in_channels=3, kernel_size=3, padding=1``).
Chapter 46's size rule, output = input + 2*padding - (filter - 1), is :func:`conv_output_size`.

Chapters 69-70 play Atari Boxing with the network of Mnih et al. (2015): three ReLU conv
layers (32 8x8 stride 4, 64 4x4 stride 2, 64 3x3 stride 1) on a stack of four 84x84 grey
frames, then 512 ReLU units, then one Q-value per action: :class:`NatureCNN`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lab.checks import at_least, require, within
from lab.i18n import tr

from nets.activations import make_activation
from nets.heads import make_head
from nets.registry import NetError, check_choice, register

POOLING_CHOICES: tuple[str, ...] = ("max", "l2")


class L2Pool2d(nn.Module):
    """L2 pooling: sqrt of the sum of squares over each ``size`` x ``size`` window (ch. 42).

    A tiny epsilon inside the square root keeps the gradient finite where a whole window is
    zero (which ReLU maps produce); it changes the value by at most sqrt(eps).
    """

    def __init__(self, size: int = 2, eps: float = 1e-12) -> None:
        super().__init__()
        self.size = size
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window_sum_of_squares = F.avg_pool2d(x * x, self.size) * (self.size * self.size)
        return torch.sqrt(window_sum_of_squares + self.eps)


@register("lenet", "the book's MNIST conv net: 5x5 receptive fields, maps=[20] or [20, 40], "
                   "max or L2 2x2 pooling, fully connected hidden layer (chapters 40-43)")
class LeNet(nn.Module):
    """conv(5x5) -> activation -> 2x2 pool, once per entry of ``maps``; then hidden + output.

    Input: (B, in_channels, input_size, input_size) images, or (B, input_size**2) flat
    vectors when ``in_channels`` is 1 (the MLP chapters' MNIST format).  ``hidden=0`` drops
    the fully connected hidden layer.  Output: (B, n_outputs) logits.
    """

    def __init__(
        self,
        *,
        maps: Sequence[int] = (20,),
        kernel_size: int = 5,
        pooling: str = "max",
        hidden: int = 100,
        n_outputs: int = 10,
        activation: str = "sigmoid",
        dropout: float = 0.0,
        in_channels: int = 1,
        input_size: int = 28,
        padding: int = 0,
    ) -> None:
        super().__init__()
        check_choice("pooling", pooling, POOLING_CHOICES)
        at_least("lenet padding", int(padding), 0, error=NetError)
        maps = [int(m) for m in maps]
        require(maps and all(m >= 1 for m in maps),
                tr("lenet maps must be a non-empty list of positive integers (e.g. [20] or [20, 40]), "
                   "got {maps}").format(maps=maps), NetError)
        within("dropout", float(dropout), 0, 1, high_open=True, error=NetError)

        self.in_channels = in_channels
        self.input_size = input_size
        self.convs = nn.ModuleList()
        channels, size = in_channels, input_size
        for n_maps in maps:
            self.convs.append(nn.Conv2d(channels, n_maps, kernel_size, stride=1, padding=int(padding)))
            size = conv_output_size(size, kernel_size, int(padding)) // 2  # then 2x2 pooling halves it
            require(size >= 1, tr("lenet: {layers} conv+pool layers with kernel_size {kernel_size} shrink a "
                                  "{side}x{side} input to nothing; use fewer maps or a smaller kernel").format(
                layers=len(maps), kernel_size=kernel_size, side=input_size), NetError)
            channels = n_maps
        self.activation = make_activation(activation)
        self.pool = nn.MaxPool2d(2) if pooling == "max" else L2Pool2d(2)
        self.dropout = nn.Dropout(float(dropout))

        flat_features = channels * size * size
        self.hidden_layer = nn.Linear(flat_features, hidden) if hidden else None
        self.output_layer = nn.Linear(hidden if hidden else flat_features, n_outputs)
        self.out_features = n_outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.view(-1, self.in_channels, self.input_size, self.input_size)
        if not x.is_floating_point():
            x = x.float()
        for conv in self.convs:
            x = self.pool(self.activation(conv(x)))
        x = torch.flatten(x, start_dim=1)
        if self.hidden_layer is not None:
            x = self.activation(self.hidden_layer(self.dropout(x)))
        return self.output_layer(self.dropout(x))

    @torch.no_grad()
    def layer_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """(layer name, output shape without the batch axis) for one image run through the net,
        e.g. [("input", (1, 28, 28)), ("conv1", (20, 24, 24)), ("pool1", (20, 12, 12)), ...]:
        the sizes chapters 41-43 work out by hand, read off the modules themselves."""
        x = torch.zeros(1, self.in_channels, self.input_size, self.input_size,
                        device=self.output_layer.weight.device)
        shapes = [("input", tuple(x.shape[1:]))]
        for index, conv in enumerate(self.convs, start=1):
            x = self.activation(conv(x))
            shapes.append((f"conv{index}", tuple(x.shape[1:])))
            x = self.pool(x)
            shapes.append((f"pool{index}", tuple(x.shape[1:])))
        x = torch.flatten(x, start_dim=1)
        if self.hidden_layer is not None:
            x = self.hidden_layer(x)
            shapes.append(("hidden", tuple(x.shape[1:])))
        shapes.append(("output", tuple(self.output_layer(x).shape[1:])))
        return shapes


def conv_output_size(size: int, kernel: int, padding: int = 0, stride: int = 1) -> int:
    """Width of a convolution's output (chapter 46): (input + 2*padding - kernel) // stride + 1,
    i.e. input + 2*padding - (kernel - 1) at stride 1 (50 -> 48 for a 3x3 filter, 50 with padding 1)."""
    return (size + 2 * padding - kernel) // stride + 1


def _conv_output_size(size: int, kernel: int, stride: int) -> int:
    return conv_output_size(size, kernel, 0, stride)


@register("nature_cnn", "DQN network of Mnih et al. 2015: 3 ReLU conv layers + 512 units on "
                        "stacked 84x84 frames, q/dueling head or features only (ch. 69-70)")
class NatureCNN(nn.Module):
    """The Nature DQN network.

    Input: (B, in_channels, input_size, input_size), uint8 pixels (scaled by 1/255 here, so
    replay can store bytes) or floats already in [0, 1].  Output: (B, n_outputs) from the
    head, or the (B, 512) features when ``features_only`` (e.g. as a Stable-Baselines3
    features extractor).  ``out_features`` is the width of whatever ``forward`` returns.
    The model works in ``channels_last`` memory format (``model.to(memory_format=
    torch.channels_last)``), which is faster on CPUs.
    """

    FEATURES = 512

    def __init__(
        self,
        *,
        in_channels: int = 4,
        n_outputs: int | None = None,
        head: str | None = "q",
        features_only: bool = False,
        input_size: int = 84,
        head_options: dict | None = None,
    ) -> None:
        super().__init__()
        if features_only or head in (None, "none"):
            head = None
        elif n_outputs is None:
            raise NetError(tr("nature_cnn needs n_outputs (the number of actions) unless features_only=True or "
                              "head=None"))
        self.convs = nn.Sequential(
            nn.Conv2d(in_channels, 32, kernel_size=8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1),
            nn.ReLU(),
        )
        size = input_size
        for kernel, stride in ((8, 4), (4, 2), (3, 1)):
            size = _conv_output_size(size, kernel, stride)
        require(size >= 1, tr("nature_cnn input_size must be at least 36, got {value}").format(value=input_size),
                NetError)
        self.fc = nn.Sequential(nn.Linear(64 * size * size, self.FEATURES), nn.ReLU())
        self.head = make_head(head, self.FEATURES, n_outputs, head_options)
        self.out_features = self.head.out_features if self.head is not None else self.FEATURES

    def encode(self, observations: torch.Tensor) -> torch.Tensor:
        """The last convolution's maps, (B, 64, 7, 7) at 84x84: the encoder's output."""
        if observations.dtype == torch.uint8:
            x = observations.float().div_(255.0)  # in place: one fewer 32x4x84x84 float buffer
        else:
            x = observations.float()
        return self.convs(x)

    def features(self, observations: torch.Tensor) -> torch.Tensor:
        """The 512 ReLU features of a batch of frame stacks."""
        # flatten reshapes (copying if channels_last), so it works in either memory format.
        return self.fc(torch.flatten(self.encode(observations), start_dim=1))

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        features = self.features(observations)
        return features if self.head is None else self.head(features)
