"""Liquid time-constant (LTC) networks (chapter 83; the cell of Hasani et al. 2021).

Chapter 83 narrates MIT's "liquid" networks - neurons whose equations keep changing with the
input, built from differential equations - without giving them. The equations here are the
paper's (Hasani, Lechner, Amini, Rus and Grosu, "Liquid Time-constant Networks", AAAI 2021):

    dx/dt = -[1/tau + f(x, I)] x + f(x, I) A                                   (eq. 1)

with f a positive, bounded network of the state x and the input I (here
f = w sigmoid(W x + U I + b), w > 0 per neuron), tau > 0 a time constant per neuron and A a
bias vector. The neuron's effective time constant 1 / (1/tau + f) depends on the input and
stays between tau / (1 + tau w) and tau (the paper's Theorem 1): that is what is "liquid". Between two inputs the ODE is integrated by the paper's fused solver (eq. 3), an
implicit step for the decay and an explicit one for the drive, taken L times over the
elapsed time dt:

    x(t + dt/L) = (x(t) + dt/L f A) / (1 + dt/L (1/tau + f))

Each step is a weighted mean of x(t), A and 0, so the state stays between min(0, A) and
max(0, A) whatever dt is (the paper's Theorem 2), and irregular sampling is handled by
passing the real elapsed times.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lab.checks import at_least, positive
from lab.i18n import tr

from nets.recurrent import OUTPUT_CHOICES
from nets.registry import NetError, check_choice, register


@register("liquid", "liquid time-constant network (Hasani et al. 2021): ODE neurons with an "
                    "input-dependent time constant, fused solver over the elapsed time between "
                    "inputs, linear read-out (chapter 83)")
class LiquidTimeConstantNet(nn.Module):
    """One layer of LTC neurons over (batch, time, features) inputs, then a linear head.

    ``forward(x, elapsed=None)``: ``elapsed`` (B, T) is the time over which the ODE runs at
    each step with that step's input (1 everywhere when not given: regular sampling).
    ``n_outputs=None`` returns the neurons' states (``out_features`` = ``hidden_size``).
    """

    def __init__(self, *, input_size: int, hidden_size: int = 32, n_outputs: int | None = None,
                 output: str = "sequence", ode_unfolds: int = 6, tau: float = 1.0, gate_scale: float = 1.0) -> None:
        super().__init__()
        check_choice("output", output, OUTPUT_CHOICES)
        at_least("liquid input_size", int(input_size), 1, error=NetError)
        at_least("liquid hidden_size", int(hidden_size), 1, error=NetError)
        at_least("liquid ode_unfolds", int(ode_unfolds), 1, error=NetError)  # solver steps per input
        positive("liquid tau", float(tau), error=NetError)  # initial values
        positive("liquid gate_scale", float(gate_scale), error=NetError)
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.ode_unfolds = int(ode_unfolds)
        self.output = output
        self.recurrent = nn.Linear(self.hidden_size, self.hidden_size, bias=False)  # W x
        self.sensory = nn.Linear(self.input_size, self.hidden_size)  # U I + b
        self.bias_vector = nn.Parameter(torch.randn(self.hidden_size))  # A
        self.log_tau = nn.Parameter(torch.full((self.hidden_size,), math.log(tau)))  # tau = exp(.) > 0
        self.log_gate_scale = nn.Parameter(torch.full((self.hidden_size,), math.log(gate_scale)))  # w = exp(.) > 0
        self.head = nn.Linear(self.hidden_size, n_outputs) if n_outputs else None
        self.out_features = n_outputs if n_outputs else self.hidden_size

    @property
    def tau(self) -> torch.Tensor:
        return self.log_tau.exp()

    def _integrate(self, x: torch.Tensor, elapsed: torch.Tensor | None, state: torch.Tensor | None
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """States (B, T, H) after each step, the final state, and f at each step's last unfold."""
        if not x.is_floating_point():
            x = x.float()
        if x.dim() != 3 or x.size(-1) != self.input_size:
            raise NetError(tr("liquid expects (batch, time, {size}) inputs, got {shape}").format(
                size=self.input_size, shape=tuple(x.shape)))
        batch, steps = x.shape[:2]
        if elapsed is None:
            elapsed = x.new_ones(batch, steps)
        elif elapsed.shape != (batch, steps):
            raise NetError(tr("elapsed must be (batch, time) = {expected}, got {shape}").format(
                expected=(batch, steps), shape=tuple(elapsed.shape)))
        elif bool((elapsed < 0).any()):
            raise NetError(tr("elapsed times must be >= 0 (time runs forward)"))
        drive = self.sensory(x)  # the input's part of f, for every step at once
        h = x.new_zeros(batch, self.hidden_size) if state is None else state
        inverse_tau, gate_scale = torch.exp(-self.log_tau), torch.exp(self.log_gate_scale)
        weights = self.recurrent.weight.T
        states, gates = [], []
        for t in range(steps):
            dt = (elapsed[:, t] / self.ode_unfolds).unsqueeze(-1)
            # With s = sigmoid(W x + U I + b) and f = w s the fused step is
            # (x + dt w A s) / (1 + dt / tau + dt w s); the factors without s are fixed over the interval.
            drive_scale, decay = dt * gate_scale * self.bias_vector, 1 + dt * inverse_tau
            gate_step, drive_now = dt * gate_scale, drive[:, t]
            for _ in range(self.ode_unfolds):
                s = torch.sigmoid(torch.addmm(drive_now, h, weights))
                h = torch.addcmul(h, drive_scale, s) / torch.addcmul(decay, gate_step, s)
            states.append(h)
            gates.append(s)
        return torch.stack(states, dim=1), h, gate_scale * torch.stack(gates, dim=1)

    def forward(self, x: torch.Tensor, elapsed: torch.Tensor | None = None, state: torch.Tensor | None = None,
                return_state: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        states, last, _ = self._integrate(x, elapsed, state)
        outputs = states if self.output == "sequence" else last
        if self.head is not None:
            outputs = self.head(outputs)
        return (outputs, last) if return_state else outputs

    def time_constants(self, x: torch.Tensor, elapsed: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, H): each neuron's effective time constant 1 / (1/tau + f) at each step - the
        quantity that changes with the input."""
        _, _, gates = self._integrate(x, elapsed, None)
        return 1.0 / (torch.exp(-self.log_tau) + gates)
