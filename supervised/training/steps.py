"""Step rules: how a mini-batch's gradients move the weights.

* SGD (chapter 13): w -> w - eta grad C;
* momentum (chapter 30): v -> mu v - eta grad C, w -> w + v;
* Adam (torch's), for the later chapters that use it.

The penalties enter as their gradients on the weights only, never the biases (chapters 20-22):
L2 adds (lambda/n) w, L1 adds (lambda/n) sgn(w). SGD and momentum update every tensor with one
fused call (`torch._foreach_*`), which is what keeps a mini-batch of 10 cheap on a CPU.
"""

from __future__ import annotations

import torch

from supervised.training.errors import check_choice

OPTIMIZERS = ("sgd", "momentum", "adam")


class StepRule:
    """Turns one mini-batch's gradients into an update of `params`, with the penalties' gradients.

    `weight_index` lists which entries of `params` are weights (penalised); `n_train` is the n of
    lambda/n.
    """

    def __init__(self, params: list[torch.Tensor], weight_index: list[int], n_train: int,
                 l2: float = 0.0, l1: float = 0.0) -> None:
        self.params, self.weight_index, self.n_train, self.l2, self.l1 = params, weight_index, n_train, l2, l1

    def __call__(self, grads: list[torch.Tensor], lr: float) -> None:
        """Move the parameters by one step of size `lr`; call under torch.no_grad()."""
        if self.l2 or self.l1:
            for i in self.weight_index:
                if self.l2:
                    grads[i].add_(self.params[i], alpha=self.l2 / self.n_train)  # grads are fresh tensors
                if self.l1:
                    grads[i].add_(torch.sign(self.params[i]), alpha=self.l1 / self.n_train)
        self.update(grads, lr)

    def update(self, grads: list[torch.Tensor], lr: float) -> None:
        raise NotImplementedError


class SGD(StepRule):
    def update(self, grads: list[torch.Tensor], lr: float) -> None:
        torch._foreach_add_(self.params, grads, alpha=-lr)  # w -> w - eta grad C, all tensors in one call


class Momentum(StepRule):
    def __init__(self, *args, momentum: float = 0.9, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.momentum = momentum
        self.velocities = [torch.zeros_like(p) for p in self.params]

    def update(self, grads: list[torch.Tensor], lr: float) -> None:
        torch._foreach_mul_(self.velocities, self.momentum)  # v -> mu v - eta grad C
        torch._foreach_add_(self.velocities, grads, alpha=-lr)
        torch._foreach_add_(self.params, self.velocities)  # w -> w + v


class Adam(StepRule):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.optimizer = torch.optim.Adam(self.params)

    def update(self, grads: list[torch.Tensor], lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        for p, g in zip(self.params, grads):
            p.grad = g
        self.optimizer.step()


def make_step_rule(optimizer: str, params: list[torch.Tensor], weight_index: list[int], n_train: int,
                   l2: float = 0.0, l1: float = 0.0, momentum: float = 0.9) -> StepRule:
    """The step rule named `optimizer` ("sgd", "momentum" with coefficient `momentum`, "adam")."""
    check_choice("optimizer", optimizer, OPTIMIZERS)
    if optimizer == "momentum":
        return Momentum(params, weight_index, n_train, l2, l1, momentum=momentum)
    return (SGD if optimizer == "sgd" else Adam)(params, weight_index, n_train, l2, l1)
