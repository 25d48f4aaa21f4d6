"""Recurrent networks: plain RNN, LSTM and GRU with a linear head (chapters 48-53).

Chapter 48 introduces the recurrent network, whose hidden state carries information from
one time step to the next; chapter 49 trains it by backpropagation through time; chapters
50-52 replace the plain tanh cell by the gated LSTM and GRU cells, which keep gradients alive
over long sequences; chapter 53 clips gradients (done by the trainer, not here).

``gate_bias`` starts a gated cell keeping its state: the GRU's update gate z is biased by
+gate_bias (h' = (1 - z) n + z h keeps h and writes little as z -> 1), and the LSTM is given the
same pair, forget gate +gate_bias and input gate -gate_bias (Gers et al. 2000 open the forget
gate; Jozefowicz et al. 2015 use +1; Greff et al. 2017 couple input = 1 - forget as the GRU
does). A state kept at ~1 per step passes itself, and its gradient, on almost unchanged; a
memory of 1,000 steps (chapter 51) needs that before training can find it: with the forget
gate alone open, the input gate's steady writes saturate the LSTM's cell over 1,000 steps.

:class:`RecurrentNet` reads (batch, time, features) inputs - or (batch, time) token ids when
``vocab_size`` is given - and returns one output per sequence (``output="last"``) or one per
time step (``output="sequence"``).
"""

from __future__ import annotations

import torch
from torch import nn

from lab.checks import at_least, require, shown, within
from lab.i18n import tr

from nets.registry import NetError, check_choice, register

CELL_CHOICES: tuple[str, ...] = ("rnn", "lstm", "gru")
OUTPUT_CHOICES: tuple[str, ...] = ("last", "sequence")
#: The plain cell's squashing function phi in h_t = phi(W x_t + U h_{t-1} + b) (chapter 48 names
#: the logistic sigmoid or tanh; chapter 50 suggests ReLU against vanishing gradients).
NONLINEARITY_CHOICES: tuple[str, ...] = ("tanh", "relu")

# LSTM state is (h, c); RNN and GRU state is h alone.
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


@register("recurrent", "RNN / LSTM / GRU over (batch, time, features) with a linear head, "
                       "one output per sequence or per step (chapters 48-53)")
class RecurrentNet(nn.Module):
    """A stack of recurrent layers (batch first) followed by a linear head.

    ``n_outputs=None`` leaves the head out and returns hidden states (``out_features`` =
    ``hidden_size``).  With ``vocab_size`` the inputs are token ids, embedded to
    ``input_size`` features first (character-level models).
    """

    def __init__(
        self,
        *,
        input_size: int,
        cell: str = "lstm",
        hidden_size: int = 64,
        num_layers: int = 1,
        n_outputs: int | None = None,
        output: str = "last",
        vocab_size: int | None = None,
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
        gate_bias: float = 0.0,
    ) -> None:
        super().__init__()
        check_choice("cell", cell, CELL_CHOICES)
        check_choice("output", output, OUTPUT_CHOICES)
        check_choice("nonlinearity", nonlinearity, NONLINEARITY_CHOICES)
        require(nonlinearity == "tanh" or cell == "rnn",
                tr("nonlinearity {nonlinearity} applies to cell 'rnn' only; the {cell} cell's gates fix their own "
                   "functions").format(nonlinearity=repr(nonlinearity), cell=cell), NetError)
        require(not (float(gate_bias) and cell == "rnn"),
                tr("gate_bias {gate_bias} needs a gated cell ('lstm' or 'gru'); the rnn cell has no gates").format(
                    gate_bias=shown(gate_bias)), NetError)
        at_least("recurrent num_layers", int(num_layers), 1, error=NetError)
        within("dropout", float(dropout), 0, 1, high_open=True, error=NetError)
        self.cell = cell
        self.output = output
        self.input_size = int(input_size)
        self.embedding = nn.Embedding(vocab_size, input_size) if vocab_size else None
        recurrent_class = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.rnn = recurrent_class(
            input_size,
            hidden_size,
            num_layers=int(num_layers),
            batch_first=True,
            # PyTorch applies this dropout between stacked layers only.
            dropout=float(dropout) if num_layers > 1 else 0.0,
            **extra,
        )
        if float(gate_bias):
            self._open_memory_gate(float(gate_bias))
        self.head = nn.Linear(hidden_size, n_outputs) if n_outputs else None
        self.out_features = n_outputs if n_outputs else hidden_size

    @torch.no_grad()
    def _open_memory_gate(self, bias: float) -> None:
        # PyTorch stacks the gates' rows as (i, f, g, o) for the LSTM and (r, z, n) for the GRU:
        # rows hidden..2*hidden are the forget gate and the update gate (h' = (1-z) n + z h),
        # rows 0..hidden the LSTM's input gate.
        hidden = self.rnn.hidden_size
        for layer in range(self.rnn.num_layers):
            biases = getattr(self.rnn, f"bias_ih_l{layer}")
            biases[hidden:2 * hidden] += bias
            if self.cell == "lstm":
                biases[:hidden] -= bias

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None = None,
        state: State | None = None,
        return_state: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, State]:
        """Run the sequence ``x`` through the network.

        ``lengths`` (B,) picks each sequence's last real step for ``output="last"`` when
        sequences are right-padded.  ``state`` continues from a previous call (text
        generation one character at a time); with ``return_state`` the final state is
        returned too, as ``(outputs, state)``.  A (B, T) float input is read as a series of
        single features when ``input_size`` is 1.
        """
        if self.embedding is not None:
            x = self.embedding(x)
        else:
            if not x.is_floating_point():
                x = x.float()
            if x.dim() == 2 and self.input_size == 1:
                x = x.unsqueeze(-1)
        outputs, new_state = self.rnn(x, state)
        if self.output == "last":
            if lengths is None:
                outputs = outputs[:, -1]
            else:
                last_steps = (torch.as_tensor(lengths, device=outputs.device) - 1).clamp(min=0)
                outputs = outputs[torch.arange(outputs.size(0), device=outputs.device),
                                  last_steps.long()]
        if self.head is not None:
            outputs = self.head(outputs)
        return (outputs, new_state) if return_state else outputs
