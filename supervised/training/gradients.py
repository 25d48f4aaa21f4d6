"""Where a mini-batch's gradients come from: autograd, or chapter 16's backpropagation by hand.

Both give the same numbers. The hand-written pass skips autograd's graph, which halves the cost
of a [784, 30, 10] step on a CPU, where a mini-batch of 10 is all Python overhead. It is used
when the caller asks (`backprop="manual"`) or, with "auto", when the model offers it: the model
exposes its `layers` (nn.Linear with biases, its only parameters) and its hidden `activation`,
and its forward pass computes exactly z_l = a_{l-1} W_l^T + b_l, a_l = f(z_l) through them (checked
once on a probe batch). No class name is consulted: any module that behaves so qualifies.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from supervised.training.costs import cost_function

BACKPROPS = ("auto", "autograd", "manual")

#: f'(z) written through the activation a = f(z), for the activations the hand pass knows.
DERIVATIVES: dict[type, Callable[[torch.Tensor], torch.Tensor]] = {
    nn.Sigmoid: lambda a: a * (1 - a),
    nn.Tanh: lambda a: 1 - a * a,
    nn.ReLU: lambda a: (a > 0).to(a.dtype),
}

Gradients = tuple[torch.Tensor | None, list[torch.Tensor]]


class Autograd:
    """Gradients by autograd: any model, any cost."""

    def __init__(self, model: nn.Module, cost: str, params: list[torch.Tensor]) -> None:
        self.model, self.cost, self.params = model, cost, params

    def __call__(self, x: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor | None,
                 need_cost: bool) -> Gradients:
        """(cost, [dC/dp for p in params]) of one mini-batch."""
        with torch.enable_grad():
            loss = cost_function(self.cost, self.model(x), labels, targets)
            grads = torch.autograd.grad(loss, self.params)
        return loss.detach(), list(grads)


class ManualBackprop:
    """Backpropagation written out for the book's plain MLP (chapters 15-16), no autograd graph.

    For a mini-batch of m examples: forward z_l = a_{l-1} W_l^T + b_l, a_l = f(z_l); the
    output error delta_L = dC/dz_L (quadratic: (a - y) sigma'(z) / m; cross-entropy:
    (sigma(z) - y) / m; log-likelihood: (softmax(z) - y) / m); then dC/dW_l = delta_l^T a_{l-1},
    dC/db_l = sum of delta_l, delta_{l-1} = (delta_l W_l) * f'(z_{l-1}). Gradients come back in
    the order W_1, b_1, W_2, b_2, ... (the model's parameter order).
    """

    def __init__(self, layers: list[nn.Linear], activation: nn.Module, cost: str) -> None:
        self.layers, self.activation, self.cost = layers, activation, cost
        self.derivative = DERIVATIVES[type(activation)]

    @classmethod
    def offered_by(cls, model: nn.Module, cost: str) -> "ManualBackprop | None":
        """The hand pass for `model`, or None when the model does not offer one it computes exactly."""
        layers = list(getattr(model, "layers", None) or [])
        activation = getattr(model, "activation", None)
        if not layers or type(activation) not in DERIVATIVES \
                or not all(isinstance(layer, nn.Linear) and layer.bias is not None for layer in layers):
            return None
        own = [p for layer in layers for p in (layer.weight, layer.bias)]
        parameters = list(model.parameters())
        if len(own) != len(parameters) or any(a is not b or not a.requires_grad for a, b in zip(own, parameters)):
            return None  # other parameters (a head, a norm) that the hand pass would not update
        manual = cls(layers, activation, cost)
        return manual if manual.computes_forward_of(model) else None

    def computes_forward_of(self, model: nn.Module) -> bool:
        """Whether `model(x)` in training mode equals the layer chain on a probe batch (so no
        dropout, no output activation, nothing hidden in its forward)."""
        probe = torch.randn(4, self.layers[0].in_features, generator=torch.Generator().manual_seed(0))
        probe = probe.to(self.layers[0].weight.device)
        was_training = model.training
        with torch.no_grad(), torch.random.fork_rng(devices=[]):  # a dropout mask must not move the seed
            model.train()
            expected = model(probe)
            model.train(was_training)
            chain = self.forward(probe)[-1]
        return expected.shape == chain.shape and torch.allclose(expected, chain, rtol=1e-5, atol=1e-6)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[x, a_1, ..., a_{L-1}, z_L]: the activations, and the output layer's weighted input."""
        activations = [x]
        last = len(self.layers) - 1
        for index, layer in enumerate(self.layers):
            z = torch.addmm(layer.bias, activations[-1], layer.weight.t())
            activations.append(self.activation(z) if index < last else z)
        return activations

    def __call__(self, x: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor,
                 need_cost: bool) -> Gradients:
        """(cost if asked, [dC/dW_1, dC/db_1, dC/dW_2, ...]) of one mini-batch; targets one-hot.
        Call under torch.no_grad() (the hand pass needs no graph)."""
        activations = self.forward(x)
        z_out, m = activations.pop(), len(x)
        loss = None
        if self.cost == "log_likelihood":
            if need_cost:
                loss = F.cross_entropy(z_out, labels)
            delta = torch.softmax(z_out, dim=1).sub_(targets).div_(m)
        else:
            output = torch.sigmoid(z_out)
            if self.cost == "quadratic":
                if need_cost:
                    loss = 0.5 * (output - targets).square().sum() / m
                delta = (output - targets).mul_(output * (1 - output)).div_(m)  # sigma'(z) = a(1-a)
            else:
                if need_cost:
                    loss = F.binary_cross_entropy_with_logits(z_out, targets, reduction="sum") / m
                delta = output.sub_(targets).div_(m)
        grads: list[torch.Tensor] = [None] * (2 * len(self.layers))  # type: ignore[list-item]
        for index in range(len(self.layers) - 1, -1, -1):
            layer, inputs = self.layers[index], activations[index]
            grads[2 * index] = delta.t() @ inputs
            grads[2 * index + 1] = delta.sum(dim=0)
            if index > 0:
                delta = (delta @ layer.weight).mul_(self.derivative(inputs))
        return loss, grads
