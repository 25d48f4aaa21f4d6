"""Shared PyTorch networks of the book, built by name (chapters 11-90).

``nets.build(kind, **options)`` makes any registered network; ``nets.available()`` lists the
kinds: ``mlp`` (chapters 11-25), ``lenet`` and ``nature_cnn`` (40-43, 69-70), ``recurrent``
(48-53), ``liquid`` (83), ``transformer`` (76-90) and ``memory_q`` (the agents with memory: torso -> LSTM, GRU
or windowed transformer -> Q head).  Heads (Q, dueling, C51 distributional, classifier) live in
:mod:`nets.heads`.
"""

from nets.registry import (
    NetError,
    available,
    build,
    check_choice,
    count_parameters,
    describe,
    options_of,
    register,
)
from nets.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS, make_activation
from nets.heads import HEAD_CHOICES, ClassifierHead, DistributionalHead, DuelingHead, QHead, make_head
from nets.mlp import INIT_CHOICES, MLP, init_linear_
from nets.cnn import L2Pool2d, LeNet, NatureCNN
from nets.recurrent import RecurrentNet
from nets.liquid import LiquidTimeConstantNet
from nets.memory_q import MemoryQNetwork
from nets.generative import VAE, Autoencoder, ConvAutoencoder, DCGANDiscriminator, DCGANGenerator, gaussian_kl
from nets.transformer import (
    DecoderBlock,
    EncoderBlock,
    MultiHeadAttention,
    TransformerDecoder,
    TransformerEncoder,
    TransformerSeq2Seq,
    TiedOutput,
    attention_maps,
    causal_mask,
    padding_mask,
    parameter_count,
    scaled_dot_product_attention,
    sinusoidal_positions,
    transformer,
)

__all__ = [
    "VAE", "Autoencoder", "ConvAutoencoder", "DCGANDiscriminator", "DCGANGenerator", "gaussian_kl",
    "ACTIVATIONS", "HEAD_CHOICES", "INIT_CHOICES", "OUTPUT_ACTIVATIONS",
    "ClassifierHead", "DecoderBlock", "DistributionalHead", "DuelingHead", "EncoderBlock", "L2Pool2d", "LeNet",
    "LiquidTimeConstantNet",
    "MLP", "MemoryQNetwork", "MultiHeadAttention", "NatureCNN", "NetError", "QHead", "RecurrentNet",
    "TiedOutput", "TransformerDecoder", "TransformerEncoder", "TransformerSeq2Seq",
    "attention_maps", "available", "build", "causal_mask", "check_choice", "count_parameters", "describe",
    "init_linear_", "make_activation", "make_head", "options_of", "padding_mask", "parameter_count", "register",
    "scaled_dot_product_attention", "sinusoidal_positions", "transformer",
]
