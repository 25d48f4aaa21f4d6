"""Q-networks with memory: torso -> memory -> (dueling) head (beyond the book: chapters 48-53's
LSTM and GRU and chapters 76-90's attention under chapter 70's Q-learning; R2D2, Kapturowski et
al. 2019; DRQN, Hausknecht & Stone 2015; GTrXL, Parisotto et al. 2020).

``nets.build("memory_q", memory=..., ...)`` makes one network whose ``memory`` is swapped by one
word, nothing else changing:

* ``lstm`` / ``gru`` -- the recurrent net of chapters 50-52 (``nets.build("recurrent",
  cell=...)``); its state is the hidden (and cell) vectors;
* ``transformer`` -- causal self-attention over the last ``window`` steps (the blocks of
  :mod:`nets.transformer`, pre-LayerNorm; ``gating=True`` replaces each residual connection by
  GTrXL's GRU-type gate, initialised close to the identity); its state is the previous
  ``window - 1`` torso features with a flag saying which of them exist yet.

Every memory reads ``(batch, time, ...)`` and carries a *flat* state ``(batch, state_size)``
whose zeros mean "a new episode", so one act/learn/replay code serves all three:
``forward(obs, state, return_state=True) -> (q (batch, time, n_actions), new_state)``. The torso is an MLP for
vectors (``torso=[64]``: ReLU layers; ``[]``: none; ``input_scale`` multiplies the inputs) or
the Nature CNN for frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lab.checks import at_least
from lab.i18n import tr

from nets.cnn import NatureCNN
from nets.heads import make_head
from nets.mlp import MLP
from nets.registry import NetError, build, check_choice, register
from nets.transformer import FeedForward, MultiHeadAttention, causal_mask, check_divisible

MEMORY_CHOICES: tuple[str, ...] = ("lstm", "gru", "transformer")


class RecurrentMemory(nn.Module):
    """LSTM or GRU layers with their state flattened to (batch, state_size)."""

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int) -> None:
        super().__init__()
        self.rnn = build("recurrent", cell=cell, input_size=input_size, hidden_size=hidden_size,
                         num_layers=num_layers, output="sequence")
        self.parts = 2 if cell == "lstm" else 1
        self.layers, self.hidden_size, self.out_features = num_layers, hidden_size, hidden_size
        self.state_size = self.parts * num_layers * hidden_size

    def _unflatten(self, state: torch.Tensor):
        parts = state.view(state.size(0), self.parts, self.layers, self.hidden_size).permute(1, 2, 0, 3)
        parts = [p.contiguous() for p in parts]
        return (parts[0], parts[1]) if self.parts == 2 else parts[0]

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, new = self.rnn(x, state=self._unflatten(state), return_state=True)
        stacked = torch.stack(new) if self.parts == 2 else new.unsqueeze(0)  # (parts, layers, B, H)
        return out, stacked.permute(2, 0, 1, 3).reshape(x.size(0), self.state_size)


class GatedBlock(nn.Module):
    """Pre-LayerNorm attention and feed-forward, each joined to the stream by a residual or,
    with ``gating``, by GTrXL's GRU-type gate (bias 2 on the update gate: starts near identity)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, gating: bool) -> None:
        super().__init__()
        self.attention = MultiHeadAttention(d_model, n_heads)
        self.feed_forward = FeedForward(d_model, d_ff, "relu")
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.gates = nn.ModuleList(GRUGate(d_model) for _ in range(2)) if gating else None

    def _join(self, index: int, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x + y if self.gates is None else self.gates[index](x, torch.relu(y))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self._join(0, x, self.attention(self.norm1(x), mask=mask))
        return self._join(1, x, self.feed_forward(self.norm2(x)))


class GRUGate(nn.Module):
    """g(x, y) = (1 - z) x + z h, z = sigmoid(W_z y + U_z x - b), h = tanh(W_g y + U_g (r x))."""

    def __init__(self, d_model: int, bias: float = 2.0) -> None:
        super().__init__()
        self.from_y = nn.Linear(d_model, 3 * d_model, bias=False)
        self.from_x = nn.Linear(d_model, 2 * d_model, bias=False)
        self.candidate_x = nn.Linear(d_model, d_model, bias=False)
        self.bias = bias

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        y_r, y_z, y_h = self.from_y(y).chunk(3, dim=-1)
        x_r, x_z = self.from_x(x).chunk(2, dim=-1)
        reset, update = torch.sigmoid(y_r + x_r), torch.sigmoid(y_z + x_z - self.bias)
        candidate = torch.tanh(y_h + self.candidate_x(reset * x))
        return (1 - update) * x + update * candidate


class WindowTransformer(nn.Module):
    """Causal self-attention over the last ``window`` steps; each step is one query over its own
    window (learned positions 0..window-1, so acting and learning see the same layout)."""

    def __init__(self, input_size: int, window: int, d_model: int, n_heads: int, n_layers: int,
                 gating: bool) -> None:
        super().__init__()
        at_least("transformer memory window", window, 1, error=NetError)
        at_least("transformer memory n_layers", n_layers, 1, error=NetError)
        check_divisible(d_model, n_heads)
        self.window, self.input_size = window, input_size
        self.embed = nn.Linear(input_size, d_model)
        self.positions = nn.Parameter(torch.zeros(window, d_model))
        self.blocks = nn.ModuleList(GatedBlock(d_model, n_heads, 4 * d_model, gating) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)
        self.state_size = (window - 1) * (input_size + 1)
        self.out_features = d_model

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, steps, _ = x.shape
        past = state.view(batch, self.window - 1, self.input_size + 1)
        features = torch.cat([past[..., :-1], x], dim=1)  # (B, window - 1 + T, F)
        exists = torch.cat([past[..., -1] > 0.5, x.new_ones(batch, steps, dtype=torch.bool)], dim=1)
        # one window per step: (B * T, window, F), the step itself last
        windows = features.unfold(1, self.window, 1).permute(0, 1, 3, 2).reshape(-1, self.window, self.input_size)
        allowed = exists.unfold(1, self.window, 1).reshape(-1, self.window)
        mask = causal_mask(self.window, x.device) & allowed[:, None, None, :]
        hidden = self.embed(windows) + self.positions
        for block in self.blocks:
            hidden = block(hidden, mask)
        out = self.norm(hidden[:, -1]).view(batch, steps, -1)
        kept = torch.cat([features, exists.unsqueeze(-1).to(features.dtype)], dim=-1)
        kept = kept[:, kept.size(1) - (self.window - 1):]
        return out, kept.reshape(batch, self.state_size)

    def attention(self) -> torch.Tensor | None:
        """The last block's attention of the newest step over its window: (B*T, heads, window)."""
        weights = self.blocks[-1].attention.attention_weights
        return None if weights is None else weights[:, :, -1]


@register("memory_q", "Q-network with memory: MLP/CNN torso -> LSTM, GRU or causal transformer over "
                      "the last K steps (GTrXL gating optional) -> Q or dueling head (R2D2)")
class MemoryQNetwork(nn.Module):
    """torso -> memory -> head over (batch, time, *obs_shape); see the module docstring."""

    def __init__(self, *, obs_shape: Sequence[int], n_outputs: int, memory: str = "lstm",
                 head: str = "q", torso: Sequence[int] = (64,), hidden_size: int = 64, num_layers: int = 1,
                 window: int = 8, d_model: int = 64, n_heads: int = 4, n_layers: int = 1,
                 gating: bool = False, input_scale: Sequence[float] | None = None) -> None:
        super().__init__()
        check_choice("memory", memory, MEMORY_CHOICES)
        check_choice("head", head, ("q", "dueling"))
        self.obs_shape = tuple(int(d) for d in obs_shape)
        if len(self.obs_shape) == 3:  # stacked frames: the Nature CNN's features
            self.torso: nn.Module = NatureCNN(in_channels=self.obs_shape[0], head=None,
                                              input_size=self.obs_shape[-1])
            features = NatureCNN.FEATURES
        elif list(torso):
            sizes = [int(torch.Size(self.obs_shape).numel()), *[int(s) for s in torso]]
            self.torso = MLP(sizes=sizes, activation="relu", output_activation="relu")
            features = sizes[-1]
        else:
            self.torso, features = nn.Flatten(), int(torch.Size(self.obs_shape).numel())
        self.kind = memory
        # Vector observations times input_scale (e.g. 1 / the observation space's bound): small
        # inputs such as CartPole's angle (0.2 rad at the limit) otherwise barely move a ReLU torso.
        scale = torch.ones(self.obs_shape) if input_scale is None else torch.as_tensor(input_scale, dtype=torch.float32)
        if scale.numel() != torch.Size(self.obs_shape).numel():
            raise NetError(tr("input_scale needs {expected} numbers, got {count}").format(
                expected=torch.Size(self.obs_shape).numel(), count=scale.numel()))
        self.register_buffer("input_scale", scale.reshape(self.obs_shape), persistent=False)
        if memory == "transformer":
            self.memory: nn.Module = WindowTransformer(features, int(window), int(d_model), int(n_heads),
                                                       int(n_layers), bool(gating))
        else:
            self.memory = RecurrentMemory(memory, features, int(hidden_size), int(num_layers))
        self.head = make_head(head, self.memory.out_features, n_outputs)
        self.state_size = self.memory.state_size
        #: whether a replay should store this state (a transformer's window is rebuilt by burn-in)
        self.stores_state = memory != "transformer"

    def initial_state(self, batch: int, device: torch.device | str | None = None) -> torch.Tensor:
        """The state of a new episode: zeros."""
        return torch.zeros(batch, self.state_size, device=device)

    def features(self, obs: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(memory output (B, T, F), new state) for observations (B, T, *obs_shape)."""
        batch, steps = obs.shape[:2]
        obs = obs.reshape(batch * steps, *self.obs_shape)
        if obs.is_floating_point():
            obs = obs * self.input_scale
        flat = self.torso(obs)
        return self.memory(flat.reshape(batch, steps, -1).float(), state)

    def forward(self, obs: torch.Tensor, state: torch.Tensor | None = None, return_state: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Q-values (B, T, n_actions) from ``state`` (None: a new episode); with
        ``return_state`` also the state after the last step, as ``(q, state)``."""
        if state is None:
            state = self.initial_state(obs.size(0), obs.device)
        out, new_state = self.features(obs, state)
        q = self.head(out)
        return (q, new_state) if return_state else q
