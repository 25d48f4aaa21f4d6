"""The book's networks as SB3 features extractors (docs/design.md: rooms; chapters 11-25, 40-43,
69-70, 76-90).

Stable-Baselines3 builds every policy as *features extractor -> small heads*.  This module
puts the networks of :mod:`nets` in the first slot, chosen by name as in a preset's ``net``
section, so an SB3 algorithm (DQN, PPO, A2C) learns with exactly the bodies this project's
own agents use:

* ``mlp`` - the fully connected network of chapters 11-25: ``hidden`` sizes (default
  [64, 64]), ``activation`` (default relu) after every layer, plus ``init`` and ``dropout``;
* ``nature_cnn`` - the DQN network of Mnih et al. (chapters 69-70): its 512 ReLU features;
* ``lenet`` - the book's MNIST conv net (chapters 40-43): ``n_outputs`` features (default
  64) after its output layer and its ``activation``;
* ``transformer`` - the encoder of chapters 76-90 over a sequence: the first axis of the
  observation is the sequence (a stack of frames, or rows of features), the rest of each
  item is flattened into one feature vector; a flat vector observation is a sequence of its
  scalar features.  Its pooled ``d_model`` outputs are the features.

Usage::

    policy_kwargs = nets.sb3.policy_kwargs("nature_cnn", {})
    stable_baselines3.DQN("CnnPolicy", env, policy_kwargs=policy_kwargs)

Stable-Baselines3 is imported here only: ``import nets`` does not need it installed.
SB3 preprocesses observations before the extractor sees them: uint8 images are scaled to
[0, 1] floats and discrete observations become one-hot vectors, so the extractor works on the
*preprocessed* shape.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from lab.checks import one_of
from lab.i18n import tr
from nets.activations import make_activation
from nets.registry import NetError, build

EXTRACTOR_KINDS: tuple[str, ...] = ("mlp", "nature_cnn", "lenet", "transformer")


def preprocessed_shape(observation_space: spaces.Space) -> tuple[int, ...]:
    """Shape of one observation after SB3's preprocessing (one-hot for discrete spaces)."""
    if isinstance(observation_space, spaces.Box):
        return tuple(int(n) for n in observation_space.shape)
    if isinstance(observation_space, (spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)):
        return (int(spaces.utils.flatdim(observation_space)),)
    raise NetError(tr("SB3 features extractors take Box, Discrete, MultiDiscrete or MultiBinary observations, got "
                      "{space} (a Tuple space such as raw Blackjack needs an encoding, e.g. observation: "
                      "onehot)").format(space=type(observation_space).__name__))


def _image_shape(shape: tuple[int, ...], kind: str) -> tuple[int, int, int]:
    """(channels, side, side) for conv nets: (C, H, W), (H, W) as one channel, or a flat
    vector whose length is a square (784 -> 1 x 28 x 28)."""
    if len(shape) == 1 and math.isqrt(shape[0]) ** 2 == shape[0]:
        shape = (1, math.isqrt(shape[0]), math.isqrt(shape[0]))
    elif len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise NetError(tr("net {kind} needs square images (C, N, N), (N, N) or N*N flat observations; got shape "
                          "{shape}").format(kind=repr(kind), shape=shape))
    return shape


def _check_reserved(kind: str, options: dict, reserved: tuple[str, ...]) -> None:
    for name in reserved:
        if name in options:
            raise NetError(tr("option {name} of net {kind} is set from the observation space as an SB3 features "
                              "extractor; remove it").format(name=repr(name), kind=repr(kind)))


def build_extractor_body(observation_space: spaces.Space, kind: str, options: dict | None = None
                         ) -> tuple[nn.Module, tuple[int, ...], int]:
    """(network, input shape it expects, number of output features) for ``kind``."""
    options = dict(options or {})
    one_of(tr("features extractor"), kind, EXTRACTOR_KINDS, error=NetError)
    shape = preprocessed_shape(observation_space)

    if kind == "mlp":
        _check_reserved(kind, options, ("sizes", "head", "n_outputs", "output_activation"))
        hidden = [int(n) for n in options.pop("hidden", [64, 64])]
        activation = options.pop("activation", "relu")
        flat = int(np.prod(shape))
        if not hidden:  # no hidden layer: the features are the observation itself
            return nn.Flatten(), shape, flat
        # every layer, the last one included, is followed by the activation: heads come next
        body = build("mlp", sizes=[flat, *hidden], activation=activation,
                     output_activation=activation, **options)
        return body, shape, hidden[-1]

    if kind == "nature_cnn":
        _check_reserved(kind, options, ("in_channels", "input_size", "features_only", "head", "n_outputs"))
        channels, side, _ = _image_shape(shape, kind)
        body = build("nature_cnn", in_channels=channels, input_size=side, features_only=True, **options)
        return body, (channels, side, side), body.out_features

    if kind == "lenet":
        _check_reserved(kind, options, ("in_channels", "input_size"))
        channels, side, _ = _image_shape(shape, kind)
        options.setdefault("n_outputs", 64)
        lenet = build("lenet", in_channels=channels, input_size=side, **options)
        activation = make_activation(options.get("activation", "sigmoid"))
        return nn.Sequential(lenet, activation), (channels, side, side), lenet.out_features

    _check_reserved(kind, options, ("mode", "vocab_size", "input_dim", "n_outputs", "output",
                                    "max_len", "target_vocab_size", "pad_id"))
    sequence = shape if len(shape) > 1 else (shape[0], 1)
    length, features = sequence[0], int(np.prod(sequence[1:]))
    body = build("transformer", mode="encoder", input_dim=features, max_len=length,
                 output="pooled", **options)
    return body, (length, features), body.out_features


class NetsExtractor(BaseFeaturesExtractor):
    """A :mod:`nets` network as an SB3 features extractor: ``kind`` is one of
    :data:`EXTRACTOR_KINDS` and ``options`` are that network's options (as in a preset's
    ``net.options``)."""

    def __init__(self, observation_space: spaces.Space, kind: str = "mlp", options: dict | None = None) -> None:
        body, input_shape, features_dim = build_extractor_body(observation_space, kind, options)
        super().__init__(observation_space, features_dim)
        self.kind = kind
        self.input_shape = input_shape
        self.body = body

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        batch = observations.shape[0]
        return self.body(observations.reshape(batch, *self.input_shape))


def policy_kwargs(kind: str, options: dict | None = None, **extra: Any) -> dict:
    """``policy_kwargs`` for an SB3 algorithm whose features extractor is net ``kind``.

    ``extra`` is added as is (``net_arch``, ``share_features_extractor``, ...).
    """
    one_of(tr("features extractor"), kind, EXTRACTOR_KINDS, error=NetError)
    return {"features_extractor_class": NetsExtractor,
            "features_extractor_kwargs": {"kind": kind, "options": dict(options or {})}, **extra}
